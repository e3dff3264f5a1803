"""``/api/v1/webhooks``: subscriptions, their delivery log and redelivery (manager role).

A subscription names a URL, the event types it wants and a signing secret (``whsec_…``,
made when none is given). Deliveries are signed the Standard Webhooks way and sent by
:mod:`web_ui.delivery`; see ``docs/how-to/webhooks.md``.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field
from pydantic import ValidationInfo
from pydantic import field_validator

from stock_core.domain.token import Role
from stock_core.domain.webhook import EVENT_TYPES
from stock_core.domain.webhook import MAX_PATTERNS
from stock_core.domain.webhook import parse_patterns
from stock_core.domain.webhook import secret_key
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
from web_ui.api.types import Id

__all__ = ["ROUTES"]

_webhooks = Family("webhooks", Role.MANAGER)

DeliveryStatus = Literal["pending", "delivered", "failed"]
UrlText = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[^\s/?#@]+(/[^\s]*)?$",
        description="Where deliveries are POSTed: an http or https URL.",
    ),
]
EventPattern = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^(\*|[a-z_]+\.(\*|[a-z_]+))$",
        description="An event type (" + ", ".join(EVENT_TYPES) + "), a family such as "
        "alert.* or *: every type but stock.changed, which must be named (it is coalesced).",
    ),
]
SecretText = Annotated[
    str,
    Field(
        min_length=38,
        max_length=100,
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
        description="whsec_ and 24 to 64 bytes in base64; made for you when omitted.",
    ),
]


class WebhookIn(BodyModel):
    url: UrlText
    events: list[EventPattern] = Field(min_length=1, max_length=MAX_PATTERNS)
    secret: SecretText | None = None
    description: Annotated[str, Field(max_length=200, pattern=PRINTABLE)] | None = None

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        return list(parse_patterns(events))

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        if secret is not None:
            secret_key(secret)
        return secret


class WebhookOut(OutModel):
    id: int
    url: str
    events: list[str]
    secret: str = Field(description="Verify deliveries' webhook-signature with it.")
    description: str
    created_at: datetime
    created_by: str
    pending: int = Field(description="Deliveries waiting to be sent (or retried).")
    failed: int = Field(description="Deliveries given up after a day of retries.")


class DeliveryOut(OutModel):
    id: int
    webhook_id: int
    msg_id: str = Field(description="The webhook-id header: the same on every retry.")
    seq: int = Field(description="The feed event's seq.")
    type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="While pending: the next attempt.")
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="The HTTP status of the last attempt.")
    last_error: str | None
    finished_at: datetime | None

    @field_validator("next_attempt_at")
    @classmethod
    def _only_while_pending(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return value if info.data.get("status") == "pending" else None


class DeliveryPath(BaseModel):
    id: Id
    delivery_id: Id


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


@_webhooks.post("/webhooks", body=WebhookIn, response=WebhookOut, status=201)
async def create_webhook(call: Call) -> web.StreamResponse:
    """Subscribe a URL to events (Standard Webhooks deliveries).

    Events sequenced from now on are delivered, in feed order, signed with the secret (whsec_…; one
    is made when none is given).
    """
    body: WebhookIn = call.body
    view = await call.service.create_webhook(
        body.url, body.events, body.secret, description=body.description or "", by=call.actor
    )
    return json_response(WebhookOut.model_validate(view), status=201)


@_webhooks.get("/webhooks", query=PageQuery, response=Page[WebhookOut])
async def list_webhooks(call: Call) -> web.StreamResponse:
    """List webhook subscriptions."""
    query: PageQuery = call.query
    return json_response(await id_page(WebhookOut, query, "webhook", call.service.list_webhooks))


@_webhooks.get("/webhooks/{id}", path_params=IdPath, response=WebhookOut)
async def get_webhook(call: Call) -> web.StreamResponse:
    """One webhook subscription."""
    path: IdPath = call.path
    return json_response(WebhookOut.model_validate(await call.service.get_webhook(path.id)))


@_webhooks.delete("/webhooks/{id}", path_params=IdPath, response=WebhookOut)
async def delete_webhook(call: Call) -> web.StreamResponse:
    """Remove a webhook subscription and its delivery log.

    Answers the subscription as it was; nothing more is sent to it.
    """
    path: IdPath = call.path
    return json_response(WebhookOut.model_validate(await call.service.delete_webhook(path.id)))


@_webhooks.get(
    "/webhooks/{id}/deliveries", path_params=IdPath, query=DeliveryQuery, response=Page[DeliveryOut]
)
async def list_deliveries(call: Call) -> web.StreamResponse:
    """A webhook's delivery log, oldest first."""
    path: IdPath = call.path
    query: DeliveryQuery = call.query
    fetch = functools.partial(call.service.list_deliveries, path.id, status=query.status)
    return json_response(await id_page(DeliveryOut, query, "delivery", fetch))


@_webhooks.post(
    "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    path_params=DeliveryPath,
    response=DeliveryOut,
    status=202,
)
async def redeliver(call: Call) -> web.StreamResponse:
    """Send a delivery again (same webhook-id), before the endpoint's later events.

    The delivery is pending again and retried for a day from now.
    """
    path: DeliveryPath = call.path
    view = await call.service.redeliver(path.id, path.delivery_id)
    return json_response(DeliveryOut.model_validate(view), status=202)


ROUTES = _webhooks.routes
