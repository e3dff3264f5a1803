"""The first message of a WebSocket (``/feed``, ``/scan/ws``) and closing with a reason.

Both sockets start with a JSON ``hello`` of their own shape and close with a code and a
reason from their own table; the waiting, the parsing and the closing are written here once.
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

__all__ = ["close_with", "receive_hello"]

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
