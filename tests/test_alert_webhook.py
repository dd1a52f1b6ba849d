"""The alert webhook against a local receiver: signed bodies without personal data, retried with
backoff until accepted, given up (and logged) after its tries, and sent once across replicas."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import stat
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.alert_webhook import SIGNATURE_HEADER, AlertWebhook, WebhookPolicy
from coordinator.service.alerts import Clock
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from projections.read_models.alert_rules import Thresholds
from tests.api import Caller, a_case_report
from tests.test_http_projections import eventually

SECRET = b"a shared secret for the test receiver"
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Receiver:
    """A local webhook receiver: what it was sent, and how many times each path fails first."""

    server: TestServer
    failures: dict[str, int] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The receiver's URL for `path`."""
        return str(self.server.make_url(path))

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """The bodies POSTed to `path`, parsed."""
        return [json.loads(body) for seen, _headers, body in self.received if seen == path]


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver that fails as told per path (`/always-fails` always), then accepts."""
    app = web.Application()
    server = TestServer(app)
    found = Receiver(server)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        found.received.append((request.path, dict(request.headers), body))
        if request.path == "/always-fails":
            return web.Response(status=503)
        left = found.failures.get(request.path, 0)
        if left:
            found.failures[request.path] = left - 1
            return web.Response(status=500)
        return web.Response(status=204)

    app.router.add_post("/{path:.*}", receive)
    await server.start_server()
    yield found
    await server.close()


def signed(headers: dict[str, str], body: bytes, secret: bytes) -> bool:
    """Whether the signature header is the HMAC-SHA256 of the raw body."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers[SIGNATURE_HEADER], expected)


async def silent_operation(pool: asyncpg.Pool) -> uuid.UUID:
    """An open operation whose facts say it has had no update since long ago."""
    operation = uuid.uuid4()
    await pool.execute(
        "INSERT INTO alert_operations (operation_id, open, stage, last_update) "
        "VALUES ($1, true, 'investigating', $2)",
        operation,
        LONG_AGO,
    )
    return operation


def policy(url: str, attempts: int = 3) -> WebhookPolicy:
    """Fast tries for tests."""
    return WebhookPolicy(url, SECRET, attempts=attempts, backoff_seconds=0.01, timeout_seconds=5)


async def test_a_delivery_that_always_fails_gives_up_after_its_tries_and_says_so(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    """Three tries with backoff, then `alert_webhook_gave_up` in the log, without the URL, the
    secret or the body; the alert is not sent again."""
    operation = await silent_operation(pool)
    webhook = AlertWebhook(pool, policy(receiver.url("/always-fails")), Thresholds(), Clock())
    async with aiohttp.ClientSession() as session:
        with capture_logs() as logs:
            assert await webhook.deliver_new(session) == 1
        assert await webhook.deliver_new(session) == 0
    sent = [b for b in receiver.bodies("/always-fails") if b["operation_id"] == str(operation)]
    assert len(sent) == 3
    gave_up = [line for line in logs if line["event"] == "alert_webhook_gave_up"]
    assert len(gave_up) == 1
    assert gave_up[0]["attempts"] == 3
    assert len([line for line in logs if line["event"] == "alert_webhook_failed"]) == 3
    text = json.dumps(logs, default=str)
    assert "always-fails" not in text
    assert SECRET.decode() not in text
    row = await pool.fetchrow(
        "SELECT attempts, last_status, delivered_at, gave_up_at FROM alert_deliveries "
        "WHERE alert_id = $1",
        uuid.UUID(sent[0]["alert_id"]),
    )
    assert row is not None
    assert (row["attempts"], row["last_status"], row["delivered_at"]) == (3, "503", None)
    assert row["gave_up_at"] is not None


async def test_replicas_send_each_alert_once(pool: asyncpg.Pool, receiver: Receiver) -> None:
    """Two senders judging the same alerts at once deliver each exactly once."""
    operation = await silent_operation(pool)
    url = receiver.url("/replicas")
    senders = [AlertWebhook(pool, policy(url), Thresholds(), Clock()) for _ in range(2)]
    async with aiohttp.ClientSession() as session:
        claimed = await asyncio.gather(*(sender.deliver_new(session) for sender in senders))
    assert sum(claimed) == 1
    sent = [b for b in receiver.bodies("/replicas") if b["operation_id"] == str(operation)]
    assert len(sent) == 1
    assert sent[0]["kind"] == "no_update"


async def test_the_service_delivers_a_new_alert_signed_retrying_until_accepted(
    pool: asyncpg.Pool,
    receiver: Receiver,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The running service sends a silent operation's alert to a receiver that fails twice: the
    third try is accepted; every body is signed with the secret it made (0600) and carries
    kind, ids, times and a link, never personal data; nothing is sent again."""
    secret_file = tmp_path_factory.mktemp("webhook") / "alert_webhook.key"
    receiver.failures["/service"] = 2
    settings = Settings(
        database_url=database_url,
        alert_webhook_url=receiver.url("/service"),
        alert_webhook_secret_file=secret_file,
        alert_webhook_backoff_seconds=0.05,
        alert_webhook_interval_seconds=0.1,
    )
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        field = Caller(
            client, await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
        )
        body = {"data": a_case_report(), "occurred_at": LONG_AGO.isoformat()}
        response = await field.post("/v1/operations", body)
        assert response.status == 201, await response.text()
        operation = (await response.json())["operation_id"]

        def ours() -> list[tuple[dict[str, str], bytes]]:
            return [
                (headers, raw)
                for path, headers, raw in receiver.received
                if path == "/service" and json.loads(raw)["operation_id"] == operation
            ]

        async def accepted() -> bool:
            return len(ours()) >= 3

        await eventually(accepted)
        await asyncio.sleep(0.5)  # several more rounds: nothing is sent again
        deliveries = ours()
    assert len(deliveries) == 3
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip().encode()
    for headers, raw in deliveries:
        assert signed(headers, raw, secret)
        assert not signed(headers, raw + b" ", secret)
        assert "Name" not in raw.decode()
        sent = json.loads(raw)
        assert set(sent) == {"alert_id", "kind", "operation_id", "since", "link", "sent_at"}
        assert sent["kind"] == "no_update"
        assert sent["since"] == LONG_AGO.isoformat()
        assert sent["link"] == f"/v1/operations/{operation}"
    row = await pool.fetchrow(
        "SELECT attempts, delivered_at FROM alert_deliveries WHERE alert_id = $1",
        uuid.UUID(json.loads(deliveries[0][1])["alert_id"]),
    )
    assert row is not None
    assert row["attempts"] == 3
    assert row["delivered_at"] is not None
