"""The route table: every API route declared once, then registered and documented from it.

A :class:`Route` names its method, path, role, pydantic models (path, query, body,
response) and the statuses it answers; a :class:`Family` declares its routes on their
handlers, documented by their docstrings. :func:`add_routes` registers a generic endpoint
for each route that does the shell's fixed part, in this order: authorise (401/403),
parse the path (404), the query (422) and the body (415/413/400/422), then call the
route's handler with a :class:`Call`. The OpenAPI document (``web_ui.openapi``) reads
the same table, so what is served and what is documented cannot drift apart.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import typing
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from types import EllipsisType
from typing import Any
from typing import Generic
from typing import Protocol
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

from stock_core.domain.token import Role
from stock_core.model import Token
from stock_core.service import StockService
from web_ui.api.conformance import Issue
from web_ui.api.conformance import ParameterCheck
from web_ui.api.conformance import check_query_text
from web_ui.api.conformance import check_value
from web_ui.api.types import MAX_ID
from web_ui.api.types import MAX_INT
from web_ui.auth import require_role
from web_ui.keys import CONFIG
from web_ui.keys import SERVICE
from web_ui.problem import ProblemError

__all__ = [
    "API",
    "CURSOR",
    "MAX_LIMIT",
    "Call",
    "Family",
    "Handler",
    "Header",
    "Page",
    "PageQuery",
    "Route",
    "add_routes",
    "checked",
    "code_page",
    "decode_cursor",
    "decode_int_cursor",
    "encode_cursor",
    "idempotency_key",
    "json_response",
    "openapi_path",
    "page_of",
    "saved_response",
]

API = "/api/v1"
MAX_LIMIT = 1000
JSON = "application/json"

T = TypeVar("T")
R = TypeVar("R")
OutT = TypeVar("OutT", bound=BaseModel)

Handler = Callable[["Call"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Header:
    """A request header parameter, documented and checked (400 when required and absent)."""

    name: str
    description: str
    required: bool = False
    pattern: str = r"^[\x21-\x7e]{1,128}$"
    max_length: int = 128


def idempotency_key(replay: str, *, required: bool = True) -> Header:
    """The ``Idempotency-Key`` header of a write that happens at most once; what a replay
    with the same key does is ``replay`` ("answers the first response")."""
    description = f"Makes the request happen at most once: a replay {replay}."
    return Header("Idempotency-Key", description, required=required)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    role: Role | None = None
    """``None``: open (no token)."""
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    """Statuses the handler itself may answer, besides those implied by the above."""
    media_type: str = JSON
    also_csv: bool = False
    """The response may also be ``text/csv`` (``?format=csv``)."""
    headers: tuple[Header, ...] = ()
    database: bool = True
    """Needs PostgreSQL, so may answer 503."""
    description: str = ""
    etag: bool = False
    """Answers carry an ``ETag``; ``If-None-Match`` with it answers 304 without a body."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__.strip("_")

    def statuses(self) -> list[int]:
        """Every status this route can answer, success first."""
        found = set(self.errors)
        if self.etag:
            found.add(304)
        if self.role is not None:
            found |= {401, 403}
        if self.path_params is not None:
            found.add(404)
        if self.query is not None:
            found.add(422)
        if self.body is not None:
            found |= {400, 408, 413, 415, 422}
        if any(h.required for h in self.headers) or self.headers:
            found.add(400)
        if self.database:
            found.add(503)
        return [self.status, *sorted(found)]


class Family:
    """A route family: the routes of one OpenAPI tag, declared on their handlers.

    As with aiohttp's ``RouteTableDef``, ``@family.get("/things/{id}", path_params=...,
    response=...)`` above a handler adds a :class:`Route` for ``prefix + path`` with the
    family's tag and role (``role=`` gives one route another). The handler's docstring
    documents the route: its first paragraph, without the full stop, is the summary; the
    rest, on one line, the description (unless ``description=`` gives it).
    :attr:`routes` lists the routes in the order declared.
    """

    def __init__(self, tag: str, role: Role | None, *, prefix: str = API) -> None:
        self.tag = tag
        self.role = role
        self.prefix = prefix
        self._routes: list[Route] = []

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def route(
        self, method: str, path: str, *, role: Role | EllipsisType | None = ..., **options: Any
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            summary, description = _documentation(handler)
            options.setdefault("description", description)
            given = self.role if isinstance(role, EllipsisType) else role
            route = Route(method, self.prefix + path, handler, summary, self.tag, given, **options)
            self._routes.append(route)
            return handler

        return declare

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def patch(
        self, path: str, body: type[BaseModel], response: type[BaseModel], **options: Any
    ) -> Callable[[Handler], Handler]:
        """A change to the resource at ``path``: it takes ``body``, answers ``response``."""
        return self.route("PATCH", path, body=body, response=response, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)


def _documentation(handler: Handler) -> tuple[str, str]:
    """The summary and the description that ``handler``'s docstring gives its route."""
    if not handler.__doc__:
        raise TypeError(f"{handler.__name__} documents its route in a docstring")
    doc = inspect.cleandoc(handler.__doc__)
    first, *rest = (" ".join(paragraph.split()) for paragraph in doc.split("\n\n"))
    return first.removesuffix("."), " ".join(rest)


@dataclass
class Call:
    """One request as a handler sees it: already authorised and parsed."""

    request: web.Request
    token: Token | None
    path: Any = None
    query: Any = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def service(self) -> StockService:
        return self.request.app[SERVICE]

    @property
    def actor(self) -> str:
        return "api" if self.token is None else f"api:{self.token.name}"


class Page(BaseModel, Generic[T]):
    """Every list answers this (SPEC, Pinned shapes)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null on the last page."
    )


CURSOR = r"^[0-9]{1,18}$"
"""A list's cursor: the key of the last item of the page before (its id, for most)."""


class PageQuery(BaseModel):
    """Cursor pagination, shared by every list.

    A cursor is the position after which the next page starts, as ``next_cursor`` gave
    it. Every string of the documented shape is a position, so none is refused for a
    reason the document does not state.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    cursor: str | None = Field(
        None,
        pattern=CURSOR,
        description="The next_cursor of the page before; the first page without it.",
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Items per page.")


def encode_cursor(kind: str, value: object) -> str:
    """The cursor after ``value``, the key of a page's last item (``kind`` names the list;
    it is not part of the cursor)."""
    return str(value)


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The key inside a cursor made by :func:`encode_cursor` (its shape is checked, as
    documented, by the list's query model)."""
    return cursor


_INTEGER_KEYS = frozenset({"product", "location", "stock", "replenishment"})
"""Lists keyed by a PostgreSQL ``integer`` (the others by a ``bigint``)."""


def decode_int_cursor(kind: str, cursor: str | None) -> int | None:
    """The key in the cursor. A position past the largest key the list's column can hold
    is that key: the page after it is empty, as after any key beyond the last."""
    value = decode_cursor(kind, cursor)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ProblemError(
            "validation-error",
            "cursor is not valid here: pass next_cursor from this list unchanged",
            errors=[{"loc": ["query", "cursor"], "msg": "not a cursor", "type": "value_error"}],
        )
    return min(int(value), MAX_INT if kind in _INTEGER_KEYS else MAX_ID)


def page_of(
    page: type[Page[OutT]],
    rows: Sequence[R],
    limit: int,
    kind: str,
    key: Callable[[R], object],
    convert: Callable[[R], OutT],
) -> Page[OutT]:
    """The first ``limit`` rows (the store was asked for one more, to see if there is more)."""
    shown = rows[:limit]
    more = len(rows) > limit and len(shown) > 0
    cursor = encode_cursor(kind, key(shown[-1])) if more else None
    return page(items=[convert(r) for r in shown], next_cursor=cursor)


class _Fetch(Protocol):
    def __call__(self, *, after: int, limit: int) -> Awaitable[Sequence[Any]]: ...


class _CodeFetch(Protocol):
    def __call__(self, *, after: str, limit: int) -> Awaitable[Sequence[Any]]: ...


async def id_page(
    out: type[OutT],
    query: PageQuery,
    kind: str,
    fetch: _Fetch,
    convert: Callable[[Any], OutT] | None = None,
) -> Page[OutT]:
    """A page of a list keyed by an integer id: ``fetch(after=, limit=)`` reads the rows
    (one more than the page, to see if there is more); each becomes an ``out``
    (``from_attributes``, or ``convert``) and the last one shown names the next page."""
    rows = await fetch(after=decode_int_cursor(kind, query.cursor) or 0, limit=query.limit + 1)
    page: type[Page[OutT]] = Page[out]  # type: ignore[valid-type]
    return page_of(page, rows, query.limit, kind, lambda r: r.id, convert or out.model_validate)


async def code_page(
    out: type[OutT],
    query: PageQuery,
    kind: str,
    fetch: _CodeFetch,
) -> Page[OutT]:
    """A page of a list keyed by a text code (operators, warehouses): as ``id_page``, the
    cursor naming the last code shown."""
    rows = await fetch(after=decode_cursor(kind, query.cursor) or "", limit=query.limit + 1)
    page: type[Page[OutT]] = Page[out]  # type: ignore[valid-type]
    return page_of(page, rows, query.limit, kind, lambda r: r.code, out.model_validate)


def json_response(model: BaseModel, status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        text=model.model_dump_json(),
        content_type=JSON,
        headers=headers or None,
    )


def saved_response(model: BaseModel, created: bool) -> web.Response:
    """The answer to a create-or-keep request: 201 when it created the resource, 200 when
    the resource was there already (the same one, or renamed)."""
    return json_response(model, status=201 if created else 200)


def checked(check: Callable[..., T], *args: Any) -> T:
    """``check(*args)``: a domain check whose ``ValueError`` answers 422 validation-error
    with its message."""
    try:
        return check(*args)
    except ValueError as exc:
        raise ProblemError("validation-error", str(exc)) from exc


def _errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    return [
        {"loc": [where, *(str(p) for p in e["loc"])], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False)
    ]


def _parse_path(route: Route, request: web.Request) -> BaseModel | None:
    if route.path_params is None:
        return None
    try:
        return route.path_params.model_validate(dict(request.match_info))
    except ValidationError as exc:
        raise ProblemError("not-found", f"no such resource: {request.path}") from exc


@dataclass(frozen=True)
class _Documented:
    """What the OpenAPI document states about a route's query and body."""

    parameters: tuple[ParameterCheck, ...] = ()
    body: Mapping[str, Any] | None = None
    components: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, route: Route, document: Mapping[str, Any] | None) -> _Documented:
        if document is None:
            return cls()
        operation = document["paths"][openapi_path(route.path)][route.method.lower()]
        parameters = tuple(
            ParameterCheck(p["name"], p["schema"])
            for p in operation.get("parameters", ())
            if p["in"] == "query"
        )
        body = None
        if "requestBody" in operation:
            body = operation["requestBody"]["content"][JSON]["schema"]
        return cls(parameters, body, document["components"]["schemas"])


def openapi_path(path: str) -> str:
    """aiohttp's ``{name:regex}`` placeholders as plain ``{name}``."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


def _invalid(detail: str, issues: list[Issue]) -> ProblemError:
    return ProblemError("validation-error", detail, errors=[i.as_dict() for i in issues])


def _parse_query(route: Route, request: web.Request, documented: _Documented) -> BaseModel | None:
    if route.query is None:
        return None
    given = {name: request.query.getall(name) for name in request.query}
    issues = check_query_text(documented.parameters, given, documented.components)
    if issues:
        raise _invalid("the query is not valid", issues)
    lists = {
        name
        for name, spec in route.query.model_fields.items()
        if typing.get_origin(spec.annotation) is list
    }
    data = {name: values if name in lists else values[0] for name, values in given.items()}
    try:
        return route.query.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(
            "validation-error", "the query is not valid", errors=_errors(exc, "query")
        ) from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(parse_constant=_no_constant)
"""What ``json.loads(raw, parse_constant=...)`` does, without a new decoder per request
(with bytes, ``json.loads`` decodes them as here first)."""


async def _read_body(request: web.Request) -> bytes:
    """The whole body; over ``client_max_size`` 413 (rendered as a problem), and 408 when
    it does not arrive within ``body_timeout``. A body already received whole (a small
    one comes with its headers) is taken without arming the timer."""
    if request.content.is_eof():
        return await request.read()
    patience = request.app[CONFIG].body_timeout
    try:
        async with asyncio.timeout(patience):
            return await request.read()
    except TimeoutError as exc:
        raise ProblemError(
            "request-timeout", f"the body did not arrive within {patience:g} s"
        ) from exc


def _parse_headers(route: Route, request: web.Request) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in route.headers:
        value = request.headers.get(header.name)
        if value is None:
            if header.required:
                raise ProblemError("bad-request", f"the {header.name} header is required")
            continue
        if len(value) > header.max_length or not re.fullmatch(header.pattern, value):
            raise ProblemError(
                "bad-request", f"the {header.name} header must match {header.pattern}"
            )
        found[header.name] = value
    return found


async def _parse_body(
    route: Route, request: web.Request, documented: _Documented
) -> BaseModel | None:
    if route.body is None:
        return None
    ctype = request.content_type
    if ctype != JSON and not (ctype.startswith("application/") and ctype.endswith("+json")):
        raise ProblemError("unsupported-media-type", f"send {JSON}, not {ctype or 'nothing'}")
    raw = await _read_body(request)
    if documented.body is not None:
        try:
            value = _JSON.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ProblemError("bad-request", "the body is not valid JSON") from exc
        issues = check_value(value, documented.body, documented.components, ("body",))
        if issues:
            raise _invalid("the request body is not valid", issues)
    try:
        return route.body.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise ProblemError("bad-request", "the body is not valid JSON") from exc
        raise ProblemError(
            "validation-error", "the request body is not valid", errors=_errors(exc, "body")
        ) from exc


def _endpoint(
    route: Route, documented: _Documented
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        token = None if route.role is None else await require_role(request, route.role)
        call = Call(
            request=request,
            token=token,
            path=_parse_path(route, request),
            query=_parse_query(route, request, documented),
            headers=_parse_headers(route, request),
        )
        call.body = await _parse_body(route, request, documented)
        return await route.handler(call)

    endpoint.__name__ = route.operation_id
    endpoint.__doc__ = route.summary
    return endpoint


def add_routes(
    app: web.Application, routes: Iterable[Route], document: Mapping[str, Any] | None = None
) -> None:
    """Register ``routes``; with ``document`` (their OpenAPI document) each request's query
    and body are first checked against what it states (:mod:`web_ui.api.conformance`)."""
    for route in routes:
        endpoint = _endpoint(route, _Documented.of(route, document))
        app.router.add_route(route.method, route.path, endpoint, name=route.operation_id)
