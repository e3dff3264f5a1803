"""Errors raised by the simulated scanners.

::

    HardwareMockError
    ├── ScriptError (also ValueError)            a scan script does not parse; names the line
    ├── NotConnectedError (also RuntimeError)    sending on an unplugged scanner, or on a
    │                                            device server no gateway is connected to
    └── WriteTimeoutError (also TimeoutError)    nobody drains the port and its buffer is full
"""

from __future__ import annotations

__all__ = [
    "HardwareMockError",
    "NotConnectedError",
    "ScriptError",
    "WriteTimeoutError",
]


class HardwareMockError(Exception):
    """Root of every error raised by :mod:`hardware_mocks`."""


class ScriptError(HardwareMockError, ValueError):
    """A scan script line that does not parse. ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class NotConnectedError(HardwareMockError, RuntimeError):
    """The scanner is unplugged, or no gateway is connected to the device server."""


class WriteTimeoutError(HardwareMockError, TimeoutError):
    """The port's buffer stayed full for the whole write timeout: nobody reads it."""
