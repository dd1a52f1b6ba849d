"""The alerts API: the alerts standing now, an acknowledgement of one, and the webhook sender
started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from coordinator.errors import NotFound
from coordinator.http.access import LEADERSHIP_AND_ADMIN, authorise
from coordinator.http.answers import Answer, answer
from coordinator.http.app_keys import OPERATIONS, POOL, PRIVACY, SETTINGS, STORE
from coordinator.http.bodies import parse_body, read_json
from coordinator.http.openapi import RouteDoc
from coordinator.http.operations import context_of
from coordinator.service.alert_webhook import (
    SECRET_FILE,
    AlertWebhook,
    WebhookPolicy,
    webhook_secret,
)
from coordinator.service.alerts import Clock, acknowledge, find_alert, read_alerts, thresholds_of
from coordinator.settings import signing_key_folder
from projections.read_models.alert_reads import alert_row

ALERT_CLOCK = web.AppKey("alert_clock", Clock)
"""The clock alerts are judged by (tests hand in their own before the app starts)."""


class AlertRow(Answer):
    """One alert: its kind, the operation (and survivor) it concerns, since when, and whether
    anyone acknowledged it. No personal data."""

    alert_id: str
    kind: str
    operation_id: str
    survivor_id: str | None = None
    since: str
    acknowledged: bool


class AlertsAnswer(Answer):
    """Every alert standing now, oldest first."""

    alerts: list[AlertRow]


class AcknowledgementRequest(BaseModel):
    """`POST /v1/alerts/{alert_id}/acknowledgement`: an optional note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = Field(default=None, min_length=1, max_length=2000)


class AcknowledgementAnswer(Answer):
    """The acknowledgement, recorded as an `AlertAcknowledged` on the alert's operation."""

    alert_id: str
    operation_id: str
    event_id: str
    version: int


async def get_alerts(request: web.Request) -> web.Response:
    """Every alert standing now."""
    await authorise(request, LEADERSHIP_AND_ADMIN)
    now = request.app[ALERT_CLOCK].now()
    limits = thresholds_of(request.app[SETTINGS])
    alerts = await read_alerts(request.app[POOL], now, limits)
    return answer(AlertsAnswer, {"alerts": [alert_row(standing) for standing in alerts]})


async def post_acknowledgement(request: web.Request) -> web.Response:
    """Record that the caller saw a standing alert."""
    actor = await authorise(request, LEADERSHIP_AND_ADMIN)
    try:
        alert_id = uuid.UUID(request.match_info["alert_id"])
    except ValueError as error:
        raise NotFound("no alert has that id (alert ids are UUIDs)") from error
    body = parse_body(AcknowledgementRequest, await read_json(request))
    now = request.app[ALERT_CLOCK].now()
    limits = thresholds_of(request.app[SETTINGS])
    standing = find_alert(await read_alerts(request.app[POOL], now, limits), alert_id)
    appended = await acknowledge(
        request.app[STORE],
        request.app[PRIVACY],
        context_of(request, actor),
        standing,
        body.note,
        cache=request.app[OPERATIONS],
    )
    recorded = appended.events[-1]
    content = {
        "alert_id": str(alert_id),
        "operation_id": str(appended.stream_id),
        "event_id": str(recorded.event_id),
        "version": recorded.version,
    }
    return answer(AcknowledgementAnswer, content, status=201)


def setup_alert_routes(app: web.Application) -> None:
    """The alerts API's routes, and the clock alerts are judged by."""
    app[ALERT_CLOCK] = Clock()
    app.router.add_get("/v1/alerts", get_alerts)
    app.router.add_post("/v1/alerts/{alert_id}/acknowledgement", post_acknowledgement)


async def run_alert_webhook(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: deliver new alerts to the configured webhook while the app runs."""
    settings = app[SETTINGS]
    url = settings.alert_webhook_url
    if url is None:
        yield
        return
    secret_file = settings.alert_webhook_secret_file or signing_key_folder(settings) / SECRET_FILE
    policy = WebhookPolicy(
        url=url,
        secret=webhook_secret(secret_file),
        attempts=settings.alert_webhook_attempts,
        backoff_seconds=settings.alert_webhook_backoff_seconds,
        timeout_seconds=settings.alert_webhook_timeout_seconds,
        interval_seconds=settings.alert_webhook_interval_seconds,
    )
    webhook = AlertWebhook(app[POOL], policy, thresholds_of(settings), app[ALERT_CLOCK])
    task = asyncio.create_task(webhook.run(), name="alert-webhook")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


ALERT_ROUTE_DOCS = (
    RouteDoc(
        "GET",
        "/v1/alerts",
        "Alerts standing now, judged on the events' occurred_at times with the organisation's "
        "thresholds: no_update, survivor_abroad_30_days, in_transit_72_hours, review_overdue, "
        "aftercare_gap_90_days, consent_needed. No personal data.",
        LEADERSHIP_AND_ADMIN,
        response_model=AlertsAnswer,
        tag="board",
    ),
    RouteDoc(
        "POST",
        "/v1/alerts/{alert_id}/acknowledgement",
        "Record that you saw a standing alert (an AlertAcknowledged on its operation: who, "
        "when); a new episode of the same situation is a new alert.",
        LEADERSHIP_AND_ADMIN,
        request_model=AcknowledgementRequest,
        response_model=AcknowledgementAnswer,
        statuses=(404, 409),
        success=201,
        tag="board",
        request_example={"note": "called the shelter"},
    ),
)
"""The alerts API as the OpenAPI document describes it."""
