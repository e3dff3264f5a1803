"""Errors raised by ``scanner_gateway``.

::

    GatewayError
    └── GatewayStateError (RuntimeError)   misuse: the gateway was not started

Peer input (bytes from scanners) never raises: it becomes a rejection with a reason.
The session's own misuse error is :class:`scanner_gateway.session.SessionStateError`;
the framer's is :class:`scanner_gateway.framing.FramerClosedError`.
"""

from __future__ import annotations

__all__ = ["GatewayError", "GatewayStateError"]


class GatewayError(Exception):
    """Root of the gateway's own errors."""


class GatewayStateError(GatewayError, RuntimeError):
    """The gateway was used in a state that does not allow it."""
