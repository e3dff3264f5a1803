"""What integrators' tools say about stockd: ``openapi-spec-validator`` on the OpenAPI
document and Prometheus' ``promtool check metrics`` on ``/metrics``."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement


async def test_the_openapi_document_passes_openapi_spec_validator(client: Client) -> None:
    response = await client.get("/api/v1/openapi.json")
    document: dict[str, Any] = await response.json()
    errors = [e.message for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool missing (Debian: prometheus)"
)
async def test_metrics_pass_promtool_check_metrics(client: Client, tokens: dict[Role, str]) -> None:
    body = {"kind": "receive", "sku": "WIDGET", "location": "A-01", "quantity": 1}
    assert (await post_movement(client, tokens[Role.WORKER], "m-1", body))[0] == 201
    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["*"]}
    response = await client.post(
        "/api/v1/webhooks", json=hook, headers=bearer(tokens[Role.MANAGER])
    )
    assert response.status == 201
    assert (await client.get("/api/v1/stock/WIDGET", headers=bearer(tokens[Role.DISPLAY]))).ok
    response = await client.get("/metrics")
    text = await response.read()
    assert b"stockd_http_requests_total" in text
    assert b'stockd_webhook_deliveries{status="pending",webhook="1"} 0.0' in text
    promtool = await asyncio.create_subprocess_exec(
        "promtool",
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    said, _ = await promtool.communicate(text)
    assert (promtool.returncode, said.decode()) == (0, "")
