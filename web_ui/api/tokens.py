"""``/api/v1/tokens``: API tokens (admin only). A new token's text is shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from stock_core.domain.token import Role
from stock_core.store.tokens import TokenInfo
from web_ui.api.route import (
    API,
    Call,
    Page,
    PageQuery,
    Route,
    decode_int_cursor,
    json_response,
    page_of,
)
from web_ui.api.types import PRINTABLE, Id
from web_ui.keys import TOKEN_CACHE
from web_ui.problem import ProblemError

__all__ = ["ROUTES", "TokenCreate", "TokenCreated", "TokenOut"]


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="The public part of the token, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(
            id=info.id,
            name=info.name,
            role=info.role,
            prefix=info.prefix,
            created_at=info.created_at,
            revoked_at=info.revoked_at,
            last_used_at=info.last_used_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only a hash is kept.")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
    role: Role


class IdPath(BaseModel):
    id: Id


async def list_tokens(call: Call) -> web.StreamResponse:
    query: PageQuery = call.query
    rows = await call.service.list_tokens(
        after=decode_int_cursor("token", query.cursor) or 0, limit=query.limit + 1
    )
    return json_response(
        page_of(Page[TokenOut], rows, query.limit, "token", lambda r: r.id, TokenOut.of)
    )


async def create_token(call: Call) -> web.StreamResponse:
    body: TokenCreate = call.body
    secret, info = await call.service.create_token(body.name, body.role)
    created = TokenCreated(**TokenOut.of(info).model_dump(), token=secret)
    return json_response(created, status=201)


async def revoke_token(call: Call) -> web.StreamResponse:
    path: IdPath = call.path
    info = await call.service.revoke_token(path.id)
    if info is None:
        raise ProblemError("not-found", f"no token {path.id}")
    call.request.app[TOKEN_CACHE].forget()  # takes effect now, not in a few seconds
    return json_response(TokenOut.of(info))


ROUTES = (
    Route(
        "GET",
        f"{API}/tokens",
        list_tokens,
        "List API tokens",
        "tokens",
        Role.ADMIN,
        query=PageQuery,
        response=Page[TokenOut],
    ),
    Route(
        "POST",
        f"{API}/tokens",
        create_token,
        "Create an API token",
        "tokens",
        Role.ADMIN,
        body=TokenCreate,
        response=TokenCreated,
        status=201,
    ),
    Route(
        "DELETE",
        f"{API}/tokens/{{id}}",
        revoke_token,
        "Revoke an API token",
        "tokens",
        Role.ADMIN,
        path_params=IdPath,
        response=TokenOut,
        description="Idempotent: revoking a revoked token answers it unchanged.",
    ),
)
