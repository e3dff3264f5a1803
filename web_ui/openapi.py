"""The OpenAPI 3.1 document, generated from the route table and its pydantic models.

Nothing here is written by hand per route: paths, parameters (path, query, header),
request bodies, responses and every status come from :class:`web_ui.api.route.Route`
entries and the models' ``model_json_schema``. Errors are problem documents
(``application/problem+json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from datetime import timedelta
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic.json_schema import GenerateJsonSchema
from pydantic.json_schema import JsonSchemaMode
from pydantic.json_schema import JsonSchemaValue
from pydantic.json_schema import models_json_schema
from pydantic_core import core_schema

from web_ui.api.route import Route
from web_ui.api.route import openapi_path
from web_ui.problem import PROBLEMS

__all__ = ["Problem", "ValidationIssue", "build_document", "year_pattern"]

REF = "#/components/schemas/{model}"

_Refs = dict[Any, dict[str, Any]]
"""(model, mode) → ``{"$ref": ...}``."""
PROBLEM_JSON = "application/problem+json"

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    304: "Not modified: the If-None-Match ETag is current",
    400: "Bad request: unreadable JSON or a missing or malformed header",
    401: "No token, or the token is unknown or revoked",
    403: "The token's role may not do this",
    404: "No such resource",
    408: "The body did not arrive within the body timeout",
    409: "Conflict with the current state",
    413: "The body is larger than the server accepts (1 MiB by default)",
    415: "The body is not application/json",
    422: "The query or body is not valid",
    503: "PostgreSQL is unavailable, or the server is busy: retry after Retry-After seconds",
}


class ValidationIssue(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details; ``type`` is stable (``/problems/<name>``)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["/problems/insufficient-stock"])
    title: str
    status: int
    detail: str | None = None
    errors: list[ValidationIssue] | None = Field(
        None, description="For validation-error: what is wrong, where."
    )


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, plus what it leaves out that the server enforces.

    A date with bounds (``Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))``) gets a
    ``pattern`` for its years (JSON Schema has no minimum for a date) and says its range.
    """

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        found = super().date_schema(schema)
        low, high = schema.get("ge"), schema.get("le")
        if "gt" in schema:
            low = schema["gt"] + timedelta(days=1)
        if "lt" in schema:
            high = schema["lt"] - timedelta(days=1)
        if low is None and high is None:
            return found
        first = 1 if low is None else low.year + (low != date(low.year, 1, 1))
        last = 9999 if high is None else high.year - (high != date(high.year, 12, 31))
        found["pattern"] = f"^{year_pattern(first, last)}-[0-9]{{2}}-[0-9]{{2}}$"
        span = f"from {low or date.min} to {high or date.max}"
        found["description"] = f"{found.get('description', '')} A date {span}.".strip()
        return found


def year_pattern(first: int, last: int) -> str:
    """A regular expression for the four-digit years ``first`` to ``last``."""
    if not 1 <= first <= last <= 9999:
        raise ValueError(f"no years from {first} to {last}")
    parts = []
    start = first
    for stop in _stops(first, last):
        low, high = f"{start:04d}", f"{stop:04d}"
        parts.append("".join(a if a == b else f"[{a}-{b}]" for a, b in zip(low, high, strict=True)))
        start = stop + 1
    return parts[0] if len(parts) == 1 else f"({'|'.join(parts)})"


def _stops(low: int, high: int) -> list[int]:
    """Where to cut ``low..high`` so that each piece is a prefix plus digit ranges."""
    stops = {high}
    for nines in range(1, 5):
        stop = int(f"{low:04d}"[: 4 - nines] + "9" * nines)
        if low <= stop < high:
            stops.add(stop)
    for zeros in range(1, 5):
        stop = (high + 1) - (high + 1) % 10**zeros - 1
        if low < stop <= high:
            stops.add(stop)
    return sorted(stops)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is absent rather than null: drop ``null`` from an ``anyOf``."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o.get("type") != "null"]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(kept) == 1:
        return {**rest, **kept[0]}
    return {**rest, "anyOf": kept}


def _admits_null(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf") or schema.get("oneOf") or []
    kind = schema.get("type")
    return (
        "$ref" in schema
        or (kind is None and not options)
        or kind == "null"
        or (isinstance(kind, list) and "null" in kind)
        or any(_admits_null(o) for o in options)
    )


def _drop_null_defaults(schemas: dict[str, Any]) -> None:
    """A property that may be left out but not be null (``X | SkipJsonSchema[None] = None``)
    has no default: ``"default": null`` would break its own schema."""
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if "default" in prop and prop["default"] is None and not _admits_null(prop):
                del prop["default"]


def _parameters(
    model: type[BaseModel] | None, where: Literal["path", "query"], schemas: dict[str, Any]
) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF, mode="validation", schema_generator=_Schemas)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        prop.pop("title", None)
        if "default" in prop and prop["default"] is None:
            del prop["default"]  # absent means absent: null is not a value of its schema
        param: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": prop,
        }
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _operation(route: Route, refs: _Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters = _parameters(route.path_params, "path", schemas)
    parameters += _parameters(route.query, "query", schemas)
    for header in route.headers:
        parameters.append(
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "description": header.description,
                "schema": {
                    "type": "string",
                    "pattern": header.pattern,
                    "maxLength": header.max_length,
                },
            }
        )
    role = "none (open)" if route.role is None else route.role.value
    description = f"Role: **{role}**." + (f" {route.description}" if route.description else "")
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": description,
        "tags": [route.tag],
        "security": [] if route.role is None else [{"bearer": []}],
        "x-role": None if route.role is None else route.role.value,
    }
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    responses: dict[str, Any] = {}
    for status in route.statuses():
        if status == 304:
            responses["304"] = {
                "description": _STATUS_TEXT[304],
                "headers": {"ETag": {"schema": {"type": "string"}}},
            }
        elif status < 400:
            responses[str(status)] = _success(route, refs, status)
        else:
            responses[str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {PROBLEM_JSON: {"schema": refs[(Problem, "serialization")]}},
            }
    operation["responses"] = responses
    return operation


def _success(route: Route, refs: _Refs, status: int) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if route.response is not None:
        content[route.media_type] = {"schema": refs[(route.response, "serialization")]}
    else:
        content[route.media_type] = {"schema": {"type": "string"}}
    if route.also_csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    answer: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "OK"), "content": content}
    if route.etag:
        answer["headers"] = {
            "ETag": {
                "description": "Send it back as If-None-Match to get 304 while unchanged.",
                "schema": {"type": "string"},
            }
        }
    return answer


def build_document(routes: Sequence[Route], *, version: str = "1") -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for route in routes:
        if route.body is not None:
            wanted.append((route.body, "validation"))
        if route.response is not None:
            wanted.append((route.response, "serialization"))
    found, defs = models_json_schema(
        list(dict.fromkeys(wanted)), ref_template=REF, schema_generator=_Schemas
    )
    refs: _Refs = dict(found)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = paths.setdefault(openapi_path(route.path), {})
        path[route.method.lower()] = _operation(route, refs, schemas)
    _drop_null_defaults(schemas)
    tags = list(dict.fromkeys(route.tag for route in routes))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stockd API",
            "version": version,
            "description": "Warehouse stock over HTTP. Send `Authorization: Bearer <token>`; "
            "each operation names the least role it needs (admin > manager > worker > "
            "display). Errors are RFC 9457 problem documents whose `type` is stable; "
            "lists answer `{items, next_cursor}`: pass `cursor=` for the next page. "
            "Two WebSockets are not HTTP operations and so not among the paths: the live "
            "feed at `/feed` (docs/reference/feed.md) and the handheld scanning socket at "
            "`/scan/ws` (docs/reference/handheld.md), whose scanners are listed by "
            "`GET /api/v1/scanners` like serial ones.",
        },
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "stk_…"}
            },
        },
        "x-problem-types": {
            name: {"status": status, "title": title} for name, (status, title) in PROBLEMS.items()
        },
    }
