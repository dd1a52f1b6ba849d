"""Fuzz the running API from its own OpenAPI document: no 5xx, only documented statuses and shapes.

The app listens on a real port on this test's event loop; schemathesis sends its generated
requests from a worker thread, so the loop stays free to answer them. Generation is derandomized
and bounded, so a run is reproducible and takes well under a minute and a half.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import requests
import schemathesis
from aiohttp import ClientSession, web
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.http.openapi import OPENAPI
from coordinator.service.tokens import create_token
from coordinator.settings import Settings

Operation = schemathesis.APIOperation[Any, Any, Any, Any]

MAX_EXAMPLES = 30
CHECKS: list[schemathesis.CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

EXCLUDED: dict[str, list[schemathesis.CheckFunction]] = {"GET /ready": [not_a_server_error]}
"""A service that is not ready says so with a 503 by design; its body is still checked."""


@pytest.fixture(scope="module")
async def served(database_url: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The real app listening on a free local port, with the document it serves."""
    app = create_app(Settings(database_url=database_url, max_body_bytes=64 * 1024), database_url)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", app[OPENAPI].document()
    finally:
        await runner.cleanup()


def _fuzz_operation(
    operation: Operation,
    session: requests.Session,
    base_url: str,
    headers: dict[str, str],
    mode: GenerationMode,
    path_parameters: dict[str, str] | None = None,
) -> str | None:
    """Send one operation's generated cases; the first failure's report, if any."""
    first: list[str] = []

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def check(case: schemathesis.Case[Operation]) -> None:
        try:
            case.call_and_validate(
                base_url=base_url,
                session=session,
                headers=headers,
                checks=CHECKS,
                excluded_checks=EXCLUDED.get(operation.label, []),
            )
        except FailureGroup as group:
            if not first:
                where = f" on operation {path_parameters}" if path_parameters else ""
                first.append(f"{operation.label}{where}: {group}")

    check()
    return first[0] if first else None


def _loaded(result: Ok[Operation] | Err[InvalidSchema]) -> Operation:
    """An operation of the document, or the reason schemathesis cannot read it."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def _fuzz(
    document: dict[str, Any], base_url: str, token: str, mode: GenerationMode, operation_id: str
) -> list[str]:
    """Fuzz every operation of the document; the failure reports, one per failing operation.

    Routes under an operation are fuzzed twice: with generated ids (which name no operation) and
    with `operation_id`, an operation that exists, so that appends and reads get past the lookup.
    """
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {token}"}
    # A server-sent event stream never ends; it is tested by tests/test_http_projections.py.
    operations = [
        op
        for op in (_loaded(result) for result in schema.get_all_operations())
        if not op.path.endswith("/stream")
    ]
    if mode is GenerationMode.NEGATIVE:  # only a body or a path parameter can be made invalid
        operations = [op for op in operations if op.body or op.path_parameters]
    existing = {"operation_id": operation_id}
    with requests.Session() as session:
        reports = [
            _fuzz_operation(operation, session, base_url, headers, mode, parameters)
            for operation in operations
            for parameters in ([None, existing] if "{operation_id}" in operation.path else [None])
        ]
    return [report for report in reports if report is not None]


async def _open_operation(base_url: str, document: dict[str, Any], token: str) -> str:
    """Open an operation with the document's own example report; its id."""
    opening = document["paths"]["/v1/operations"]["post"]
    example = opening["requestBody"]["content"]["application/json"]["example"]
    async with ClientSession() as client:
        response = await client.post(
            f"{base_url}/v1/operations",
            json=example,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status == 201, await response.text()
        return str((await response.json())["operation_id"])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.FIELD])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_generated_requests_get_documented_answers_and_no_server_errors(
    served: tuple[str, dict[str, Any]], pool: asyncpg.Pool, role: Role, mode: GenerationMode
) -> None:
    """Generated requests, valid or not, never get a 5xx or an undocumented answer."""
    base_url, document = served
    token = await create_token(pool, f"fuzz-{role.value}-{uuid.uuid4().hex[:6]}", role)
    operation_id = await _open_operation(base_url, document, token)
    failures = await asyncio.to_thread(_fuzz, document, base_url, token, mode, operation_id)
    assert failures == [], "\n\n".join(failures)
