"""The first message of a WebSocket (``/feed``, ``/scan/ws``) and closing with a reason.

Both sockets start with a JSON ``hello`` of their own shape and close with a code and a
reason from their own table; the waiting, the parsing, the token's check and the closing
are written here once.
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import WSMsgType
from aiohttp import web
from pydantic import BaseModel
from pydantic import ValidationError

from stock_core.domain.token import Role
from stock_core.errors import DatabaseUnavailableError
from stock_core.model import Token
from web_ui.auth import authenticate

__all__ = ["authorised", "close_with", "receive_hello"]

M = TypeVar("M", bound=BaseModel)


async def receive_hello(ws: web.WebSocketResponse, patience: float, model: type[M]) -> M | str:
    """The hello message as ``model``, or the close-table key to close with:
    ``hello_timeout`` (nothing within ``patience`` seconds) or ``malformed``."""
    try:
        msg = await ws.receive(timeout=patience)
    except TimeoutError:
        return "hello_timeout"
    if msg.type != WSMsgType.TEXT:
        return "malformed"
    try:
        return model.model_validate_json(msg.data)
    except ValidationError:
        return "malformed"


async def close_with(
    ws: web.WebSocketResponse, table: dict[str, tuple[int, str]], why: str
) -> None:
    """Close ``ws`` with the code and reason ``table`` gives for ``why``."""
    code, message = table[why]
    await ws.close(code=code, message=message.encode())


async def authorised(
    app: web.Application,
    ws: web.WebSocketResponse,
    table: dict[str, tuple[int, str]],
    token: str,
    role: Role,
) -> Token | None:
    """The hello's token when it may open this socket (``role`` or above); otherwise ``ws``
    is closed from ``table`` (``unavailable``, ``unauthorized`` or ``forbidden``) and
    ``None`` returned."""
    try:
        found = await authenticate(app, token)
    except DatabaseUnavailableError:
        await close_with(ws, table, "unavailable")
        return None
    if found is None:
        await close_with(ws, table, "unauthorized")
        return None
    if not found.role.allows(role):
        await close_with(ws, table, "forbidden")
        return None
    return found
