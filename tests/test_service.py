"""The service's skeleton over HTTP: health, readiness, errors and request ids."""

from __future__ import annotations

from tests.api import Client


async def test_health_answers_ok(client: Client) -> None:
    """/health says the process is alive."""
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_ready_checks_database_and_migrations(client: Client) -> None:
    """/ready reports the database reachable and no migration pending."""
    response = await client.get("/ready")
    body = await response.json()
    assert response.status == 200
    assert body["checks"]["database"] == "reachable"
    assert body["checks"]["pending_migrations"] == []


async def test_unknown_path_is_a_json_404_with_a_request_id(
    client: Client,
) -> None:
    """Errors use the contract's body and every answer carries a request id."""
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
    assert response.headers["X-Request-Id"]


async def test_a_plain_client_request_id_is_kept(client: Client) -> None:
    """A client's own short request id is echoed back, so it can match its logs to ours."""
    response = await client.get("/health", headers={"X-Request-Id": "field-phone-42"})
    assert response.headers["X-Request-Id"] == "field-phone-42"
