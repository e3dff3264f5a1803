"""Errors as ``application/problem+json`` (RFC 9457), rendered by one middleware.

Every problem has a stable ``type``: a relative URI ``/problems/<name>`` that this
server also answers with a short description. Handlers raise; they never build error
responses themselves. No stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from aiohttp import web
from pydantic import ValidationError

from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import PoolExhaustedError
from stock_core.errors import StockRejection

__all__ = [
    "PROBLEMS",
    "ProblemError",
    "found",
    "problem_middleware",
    "problem_response",
    "problem_type",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

PROBLEMS: dict[str, tuple[int, str]] = {
    "bad-request": (400, "The request could not be read"),
    "unauthorized": (401, "A valid bearer token is required"),
    "forbidden": (403, "This token's role may not do that"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed on this resource"),
    "conflict": (409, "The request conflicts with the current state"),
    "request-timeout": (408, "The request body did not arrive in time"),
    "payload-too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "Send application/json"),
    "validation-error": (422, "The request is not valid"),
    "insufficient-stock": (409, "Not enough stock"),
    "unknown-product": (404, "Unknown product"),
    "unknown-location": (404, "Unknown location"),
    "invalid-movement": (422, "The movement is not valid"),
    "nothing-to-undo": (409, "Nothing to undo"),
    "count-below-reserved": (409, "Counted less than is reserved"),
    "capacity-exceeded": (409, "The location has no room for it"),
    "count-task-state": (409, "The count task is not in a state that allows this"),
    "invalid-count-task": (422, "The count task cannot be opened"),
    "backorder-not-allowed": (409, "The product does not accept backorders"),
    "unknown-operator": (422, "Unknown operator"),
    "unknown-reason": (422, "The reason is not on the configured list"),
    "quarantined-stock": (409, "Stock in a quarantine location is not available"),
    "not-quarantine": (409, "Returns go to a quarantine location"),
    "unknown-warehouse": (404, "Unknown warehouse"),
    "wrong-warehouse": (409, "The location is in another warehouse"),
    "unknown-transfer": (404, "Unknown transfer"),
    "not-in-transit": (409, "Not that much is in transit on the transfer"),
    "idempotency-conflict": (409, "Idempotency-Key reused with a different request"),
    "rejected": (422, "Rejected"),
    "database-unavailable": (503, "The database is unavailable; try again"),
    "busy": (503, "The server is busy; try again shortly"),
    "internal-error": (500, "Internal error"),
}


def problem_type(name: str) -> str:
    return f"/problems/{name}"


class ProblemError(Exception):
    """Raise from a handler to answer with a problem document."""

    def __init__(self, name: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or name)
        self.name = name
        self.status = PROBLEMS[name][0]
        self.detail = detail
        self.extra = extra


_T = TypeVar("_T")


def found(value: _T | None, what: str) -> _T:
    """``value``, or a ``not-found`` problem naming ``what`` (e.g. "alert 7") for ``None``."""
    if value is None:
        raise ProblemError("not-found", f"no {what}")
    return value


RETRY_AFTER = "1"
"""Seconds a client is asked to wait after a ``busy`` answer."""


def problem_response(
    name: str,
    detail: str | None = None,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    code, title = PROBLEMS.get(name, (status or 500, name))
    body: dict[str, Any] = {"type": problem_type(name), "title": title, "status": status or code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(
        status=status or code,
        text=json.dumps(body, default=str),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


_HTTP_NAMES = {
    400: "bad-request",
    401: "unauthorized",
    408: "request-timeout",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


_KEPT_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProblemError as exc:
        headers = {"Retry-After": RETRY_AFTER} if exc.status == 503 else None
        return problem_response(exc.name, exc.detail, headers=headers, **exc.extra)
    except StockRejection as exc:
        details: dict[str, Any] = {
            k: v for k, v in exc.to_dict().items() if k not in ("problem_type", "reason")
        }
        return problem_response(exc.problem_type, exc.reason, status=exc.http_status, **details)
    except ValidationError as exc:
        errors = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        return problem_response(
            "validation-error", "the request body or query is not valid", errors=errors
        )
    except PoolExhaustedError as exc:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return problem_response("busy", str(exc), headers={"Retry-After": RETRY_AFTER})
    except DatabaseUnavailableError as exc:
        log.warning("database unavailable: %s", exc)
        return problem_response("database-unavailable", headers={"Retry-After": RETRY_AFTER})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        name = _HTTP_NAMES.get(exc.status)
        if name is None:
            raise
        # keep what the exception says about the resource: Allow on a 405 (RFC 9110)
        kept = {k: v for k, v in exc.headers.items() if k.lower() in _KEPT_HEADERS}
        return problem_response(name, exc.reason, headers=kept or None)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response("internal-error")
