"""Delivers each new alert to the organisation's webhook, so it can route alerts to email or a
messaging app.

Every interval the standing alerts are judged; each one not acknowledged and never sent is
claimed by inserting its row in `alert_deliveries` (so across replicas each alert is sent once; a
claim whose process died is taken over after its lease), then POSTed as JSON without personal
data (kind, pseudonymous ids, since, a link path) with `X-Homeward-Signature: sha256=<hex HMAC of
the raw body>`. A failure or a non-2xx answer is retried with exponential backoff; after the last
try the delivery gives up and says so in the log (without the URL, the secret or the body).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import structlog

from coordinator.service.alerts import Clock, read_alerts
from projections.read_models.alert_rules import Alert, Thresholds

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Homeward-Signature"
SECRET_FILE = "alert_webhook.key"  # noqa: S105  a file name, not a secret

# Claim the alert unless another process claimed it and is still within its lease, or it was
# delivered or given up on already.
_CLAIM = """
INSERT INTO alert_deliveries (alert_id, kind, claimed_at) VALUES ($1, $2, now())
ON CONFLICT (alert_id) DO UPDATE SET claimed_at = now()
 WHERE alert_deliveries.delivered_at IS NULL AND alert_deliveries.gave_up_at IS NULL
   AND alert_deliveries.claimed_at < now() - make_interval(secs => $3)
RETURNING alert_id
"""
_TRIED = "UPDATE alert_deliveries SET attempts = attempts + 1, last_status = $2 WHERE alert_id = $1"
_DELIVERED = "UPDATE alert_deliveries SET delivered_at = now() WHERE alert_id = $1"
_GAVE_UP = "UPDATE alert_deliveries SET gave_up_at = now() WHERE alert_id = $1"


def webhook_secret(path: Path) -> bytes:
    """The HMAC secret in `path`, made (32 random bytes as hex, mode 0600) if it is missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
    secret = path.read_text().strip().encode()
    if not secret:
        raise ValueError(f"the alert webhook's secret file {path} is empty")
    return secret


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value for `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def alert_body(alert: Alert, sent_at: datetime) -> bytes:
    """What the webhook receives: the alert's kind, ids and times, and where to look; no
    personal data."""
    content: dict[str, Any] = {
        "alert_id": str(alert.alert_id),
        "kind": alert.kind.value,
        "operation_id": str(alert.operation_id),
        "since": alert.since.isoformat(),
        "link": f"/v1/operations/{alert.operation_id}",
        "sent_at": sent_at.isoformat(),
    }
    if alert.survivor_id is not None:
        content["survivor_id"] = str(alert.survivor_id)
    return json.dumps(content, sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Where and how to deliver: URL, secret, tries, first wait, request time limit, interval."""

    url: str
    secret: bytes
    attempts: int = 6
    backoff_seconds: float = 2.0
    timeout_seconds: float = 10.0
    interval_seconds: float = 60.0

    @property
    def lease_seconds(self) -> float:
        """How long a claim is left to its process: every try and every wait, and a minute."""
        waits = self.backoff_seconds * float(2 ** max(self.attempts - 1, 0) - 1)
        return waits + self.attempts * self.timeout_seconds + 60.0


class AlertWebhook:
    """Judges the alerts every interval and delivers each new one once."""

    def __init__(
        self, pool: asyncpg.Pool, policy: WebhookPolicy, limits: Thresholds, clock: Clock
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._limits = limits
        self._clock = clock

    async def run(self) -> None:
        """Deliver forever; a failed round is logged and the next one tries again."""
        timeout = aiohttp.ClientTimeout(total=self._policy.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    await self.deliver_new(session)
                except (OSError, asyncpg.PostgresError) as error:
                    log.warning("alert_webhook_round_failed", error=type(error).__name__)
                await asyncio.sleep(self._policy.interval_seconds)

    async def deliver_new(self, session: aiohttp.ClientSession) -> int:
        """Claim and deliver every unacknowledged alert never sent; how many were claimed."""
        alerts = await read_alerts(self._pool, self._clock.now(), self._limits)
        claimed = []
        for standing in alerts:
            if standing.acknowledged:
                continue
            alert = standing.alert
            won = await self._pool.fetchval(
                _CLAIM, alert.alert_id, alert.kind.value, self._policy.lease_seconds
            )
            if won is not None:
                claimed.append(alert)
        await asyncio.gather(*(self._deliver(session, alert) for alert in claimed))
        return len(claimed)

    async def _deliver(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        """POST one alert, retrying with backoff; record how it went."""
        wait = self._policy.backoff_seconds
        for attempt in range(1, self._policy.attempts + 1):
            body = alert_body(alert, datetime.now(UTC))
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(self._policy.secret, body),
            }
            outcome = "error"
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.post(self._policy.url, data=body, headers=headers) as response:
                    outcome = str(response.status)
            await self._pool.execute(_TRIED, alert.alert_id, outcome)
            if outcome.startswith("2"):
                await self._pool.execute(_DELIVERED, alert.alert_id)
                log.info("alert_webhook_delivered", alert_id=str(alert.alert_id), attempt=attempt)
                return
            log.warning(
                "alert_webhook_failed",
                alert_id=str(alert.alert_id),
                kind=alert.kind.value,
                attempt=attempt,
                outcome=outcome,
            )
            if attempt < self._policy.attempts:
                await asyncio.sleep(wait)
                wait *= 2
        await self._pool.execute(_GAVE_UP, alert.alert_id)
        log.error(
            "alert_webhook_gave_up",
            alert_id=str(alert.alert_id),
            kind=alert.kind.value,
            attempts=self._policy.attempts,
        )
