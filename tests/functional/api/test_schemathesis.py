"""Property-based conformance: every operation of the document, against the live app.

schemathesis generates requests from ``/api/v1/openapi.json`` (positive and negative
data) and sends them with a manager token to the app on a real socket. Every answer
must be a documented status with a documented content type and a body that matches
its schema, and never a 5xx.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client, bearer

EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 30, schemathesis.GenerationMode.NEGATIVE: 15}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _property_test(
    operation: Any,
    mode: schemathesis.GenerationMode,
    base_url: str,
    token: str,
    calls: list[int],
) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def conforms(case: schemathesis.Case[Any]) -> None:
        response = case.call_and_validate(base_url=base_url, headers=bearer(token), checks=CHECKS)
        calls.append(response.status_code)

    return conforms


def _exercise(
    document: dict[str, Any], base_url: str, token: str, calls: list[int]
) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"unusable operation: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        for mode in EXAMPLES:
            try:
                _property_test(operation, mode, base_url, token, calls)()
            except Unsatisfiable:
                # nothing to make invalid: no parameters and no body (e.g. GET /healthz)
                if mode is not schemathesis.GenerationMode.NEGATIVE:
                    raise
            except Exception as exc:  # collect every operation's failure, then report
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return operations, failures


async def test_every_operation_conforms_to_the_document(
    client: Client, tokens: dict[Role, str]
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    base_url = str(client.make_url("")).rstrip("/")
    calls: list[int] = []
    operations, failures = await asyncio.to_thread(
        _exercise, document, base_url, tokens[Role.MANAGER], calls
    )
    documented = sum(len(methods) for methods in document["paths"].values())
    assert operations == documented
    assert not failures, "\n\n".join(failures)
    assert len(calls) > 10 * operations
    statuses = Counter(calls)
    assert {200, 201, 404, 409, 422} <= set(statuses), statuses  # reached every kind
