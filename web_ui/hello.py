"""The first message of a WebSocket (``/feed``, ``/scan/ws``) and closing with a reason.

Both sockets start with a JSON ``hello`` of their own shape and close with a code and a
reason from their own table; the waiting, the parsing, the token's check and the closing
are written here once.
"""

from __future__ import annotations

from typing import Literal
from typing import NamedTuple
from typing import Protocol
from typing import TypeVar

from aiohttp import WSMsgType
from aiohttp import web
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

from stock_core.domain.token import Role
from stock_core.errors import DatabaseUnavailableError
from stock_core.model import Token
from web_ui.auth import authenticate

__all__ = [
    "HELLO_CLOSE",
    "Close",
    "Greeting",
    "authorised",
    "close_with",
    "greet",
    "receive_hello",
]

M = TypeVar("M", bound=BaseModel)


class Close(NamedTuple):
    """An entry of a socket's close table: the close code (RFC 6455; 4xxx are stockd's)
    and the reason sent with it."""

    code: int
    reason: str


HELLO_CLOSE = {
    "hello_timeout": Close(4408, "no hello received in time"),
    "going_away": Close(1001, "server shutting down"),
}
"""The closes every socket's table has, the same on each."""


class Greeting(BaseModel):
    """What every socket's hello holds; each socket's model adds its own fields."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["hello"]
    token: str = Field(min_length=1, max_length=200)


G = TypeVar("G", bound=Greeting)


class Waiting(Protocol):
    """A socket family's count of the sockets that have not said hello yet."""

    awaiting_hello: int


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


async def greet(
    request: web.Request,
    ws: web.WebSocketResponse,
    sockets: Waiting,
    patience: float,
    model: type[G],
    table: dict[str, tuple[int, str]],
    role: Role,
) -> tuple[G, Token] | None:
    """Open ``ws`` and take its hello: prepare it, wait for the hello (counted in
    ``sockets.awaiting_hello`` meanwhile) and check its token for ``role``. The hello and
    the token; ``None`` once ``ws`` is closed from ``table`` instead (no hello in time, a
    malformed one, or a token that may not open this socket)."""
    sockets.awaiting_hello += 1
    try:
        await ws.prepare(request)
        hello = await receive_hello(ws, patience, model)
    finally:
        sockets.awaiting_hello -= 1
    if isinstance(hello, str):
        await close_with(ws, table, hello)
        return None
    token = await authorised(request.app, ws, table, hello.token, role)
    return None if token is None else (hello, token)
