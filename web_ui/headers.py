"""Security headers on every HTTP response this node sends.

Set from ``on_response_prepare``, not a middleware: a handler that streams (the CSV
export) or a WebSocket upgrade sends its headers before a middleware could add any,
and static files and rendered problems must carry them too.

The Content-Security-Policy fits the pages under ``web_ui/static``: scripts, styles,
images and fonts from this server only, no inline code and no ``eval`` (WebAssembly
may be compiled: the handheld page's camera decoder is zxing-cpp as WebAssembly),
fetches and the feed's WebSocket to this server only, and never inside a frame.
"""

from __future__ import annotations

import functools
import re

from aiohttp import web

__all__ = ["SECURITY_HEADERS", "content_security_policy", "setup"]

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")

_POLICY = (
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


@functools.lru_cache(maxsize=256)
def content_security_policy(host: str | None) -> str:
    """The policy for a request to ``host`` (its Host header).

    ``connect-src 'self'`` covers ``ws:``/``wss:`` to the same host in current
    browsers; the host's own ``ws://`` and ``wss://`` are named too for the others.
    A Host header that is not a plain host[:port] is not copied into the policy.
    Answered from a small cache: a node is reached under a few names.
    """
    connect = "connect-src 'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*_POLICY, connect))


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", content_security_policy(request.host))


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(_add_headers)
