"""Security headers on every kind of response: pages, static files, JSON, problems,
streamed CSV, metrics and the feed's upgrade."""

from __future__ import annotations

import pytest

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from web_ui.headers import content_security_policy


@pytest.mark.parametrize(
    ("path", "role", "status"),
    [
        ("/", None, 200),
        ("/static/floor/floor.js", None, 200),
        ("/static/feed.js", None, 200),
        ("/static/vendor/uplot/uPlot.esm.js", None, 200),
        ("/api/v1/docs", None, 200),
        ("/api/v1/openapi.json", None, 200),
        ("/metrics", None, 200),
        ("/healthz", None, 200),
        ("/api/v1/stock/WIDGET", Role.DISPLAY, 200),
        ("/api/v1/stock/WIDGET", None, 401),
        ("/api/v1/nothing-here", None, 404),
        ("/api/v1/movements.csv", Role.MANAGER, 200),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: Client, tokens: dict[Role, str], path: str, role: Role | None, status: int
) -> None:
    headers = {} if role is None else bearer(tokens[role])
    response = await client.get(path, headers=headers)
    assert response.status == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    # no inline script, no eval; WebAssembly may compile (the camera decoder)
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["style-src"] == "'self'"
    host = str(client.make_url("/")).split("//", 1)[1].rstrip("/")
    assert directives["connect-src"] == f"'self' ws://{host} wss://{host}"


async def test_the_feed_upgrade_carries_them_too(client: Client) -> None:
    async with client.ws_connect("/feed") as ws:
        assert ws._response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in ws._response.headers["Content-Security-Policy"]


def test_a_strange_host_header_is_not_copied_into_the_policy() -> None:
    assert content_security_policy("floor.example:8443").endswith(
        "connect-src 'self' ws://floor.example:8443 wss://floor.example:8443"
    )
    assert content_security_policy("[::1]:8080").endswith("wss://[::1]:8080")
    for bad in ("x; script-src *", "a b", "", None):
        assert content_security_policy(bad).endswith("connect-src 'self'")
