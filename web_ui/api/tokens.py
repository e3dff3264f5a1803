"""``/api/v1/tokens``: API tokens (admin only). A new token's text is shown once.

A token may expire (``expires_at``, or ``expires_in`` such as ``"30d"``); past it, it
is refused like a revoked one. Revoking takes effect at once on every web node (the
database notifies them) and closes the token's live feed sockets.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import AwareDatetime
from pydantic import Field
from pydantic import model_validator

from stock_core.domain.token import MAX_LIFETIME
from stock_core.domain.token import Role
from stock_core.domain.token import parse_duration
from stock_core.model import TokenStatus
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import json_response
from web_ui.api.shape import BodyModel
from web_ui.api.shape import IdPath
from web_ui.api.shape import OutModel
from web_ui.api.types import PRINTABLE
from web_ui.feed import token_revoked
from web_ui.problem import found

__all__ = ["ROUTES", "TokenCreate", "TokenCreated", "TokenOut"]

_tokens = Family("tokens", Role.ADMIN)


class TokenOut(OutModel):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="The public part of the token, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Recorded a few seconds late, at most once a minute."
    )
    expires_at: datetime | None = Field(description="null: never expires.")
    status: TokenStatus


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only a hash is kept.")


class TokenCreate(BodyModel):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
    role: Role
    expires_at: AwareDatetime | None = Field(
        None, description="When the token stops working (in the future); omit for never."
    )
    expires_in: str | None = Field(
        None,
        pattern=r"^\d{1,6}[smhdwSMHDW]$",
        description="Instead of expires_at: a lifetime such as 90m, 12h, 30d or 8w "
        "(one minute to ten years).",
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenCreate:
        if self.expires_at is not None and self.expires_in is not None:
            raise ValueError("give expires_at or expires_in, not both")
        if self.expires_in is not None and parse_duration(self.expires_in) is None:
            raise ValueError("expires_in must be between one minute and ten years")
        if self.expires_at is not None:
            left = self.expires_at - datetime.now(UTC)
            if left.total_seconds() <= 0:
                raise ValueError("expires_at must be in the future")
            if left > MAX_LIFETIME:
                raise ValueError("expires_at must be within ten years")
        return self

    def expiry(self) -> datetime | None:
        if self.expires_in is not None:
            lifetime = parse_duration(self.expires_in)
            assert lifetime is not None  # checked above
            return datetime.now(UTC) + lifetime
        return self.expires_at


@_tokens.get("/tokens", query=PageQuery, response=Page[TokenOut])
async def list_tokens(call: Call) -> web.StreamResponse:
    """List API tokens."""
    query: PageQuery = call.query
    return json_response(await id_page(TokenOut, query, "token", call.service.list_tokens))


@_tokens.post("/tokens", body=TokenCreate, response=TokenCreated, status=201)
async def create_token(call: Call) -> web.StreamResponse:
    """Create an API token."""
    body: TokenCreate = call.body
    secret, info = await call.service.create_token(body.name, body.role, expires_at=body.expiry())
    created = TokenCreated(**TokenOut.model_validate(info).model_dump(), token=secret)
    return json_response(created, status=201)


@_tokens.delete("/tokens/{id}", path_params=IdPath, response=TokenOut)
async def revoke_token(call: Call) -> web.StreamResponse:
    """Revoke an API token.

    Idempotent: revoking a revoked token answers it unchanged. Every web node refuses the token
    within a second or so and closes its live feed sockets (close code 4401, reason 'token
    revoked').
    """
    path: IdPath = call.path
    info = found(await call.service.revoke_token(path.id), f"token {path.id}")
    # At once on this node; the other nodes hear it from the database (NOTIFY).
    token_revoked(call.request.app, info.id)
    return json_response(TokenOut.model_validate(info))


ROUTES = _tokens.routes
