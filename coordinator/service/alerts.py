"""Alerts as the service reads and acknowledges them: thresholds from settings, a clock, and the
acknowledgement recorded as an `AlertAcknowledged` on the alert's operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

import asyncpg

from coordinator.errors import NotFound
from coordinator.service.commands import EventRequest, RecordEventsRequest
from coordinator.service.recording import RequestContext, record_events
from events.catalogue import EventType
from projections.read_models.alert_reads import StandingAlert, standing_alerts
from projections.read_models.alert_rules import Thresholds

if TYPE_CHECKING:
    from coordinator.service.operation_cache import OperationCache
    from coordinator.service.privacy.service import Privacy
    from coordinator.settings import Settings
    from events.store.envelope import Appended
    from events.store.event_store import EventStore


class Clock:
    """The time alerts are judged at: now (tests hand the app a clock of their own)."""

    def now(self) -> datetime:
        """The current time, in UTC."""
        return datetime.now(UTC)


def thresholds_of(settings: Settings) -> Thresholds:
    """The organisation's alert thresholds, from its settings."""
    return Thresholds(
        no_update=timedelta(days=settings.alert_no_update_days),
        no_update_by_stage={
            stage: timedelta(days=days)
            for stage, days in settings.alert_no_update_days_by_stage.items()
        },
        abroad=timedelta(days=settings.alert_abroad_days),
        in_transit=timedelta(hours=settings.alert_in_transit_hours),
        review=timedelta(hours=settings.alert_review_overdue_hours),
        aftercare_gap=timedelta(days=settings.alert_aftercare_gap_days),
    )


async def read_alerts(pool: asyncpg.Pool, now: datetime, limits: Thresholds) -> list[StandingAlert]:
    """Every alert standing at `now`, read in one snapshot of the alert tables."""
    async with (
        pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        return await standing_alerts(connection, now, limits)


async def acknowledge(
    store: EventStore,
    privacy: Privacy,
    context: RequestContext,
    alert: StandingAlert,
    note: str | None,
    *,
    cache: OperationCache,
) -> Appended:
    """Record on the alert's operation that the caller saw it (the rules judge who may).

    Each person acknowledges an alert once: the event's id is derived from the alert and the
    token's name, so acknowledging again answers as the first time and records nothing (with
    another note, it is a 409 `event_id_conflict`); another person's acknowledgement is theirs.
    """
    data: dict[str, object] = {"alert_id": str(alert.alert.alert_id)}
    if note is not None:
        data["note"] = note
    event_id = uuid5(ACKNOWLEDGEMENTS, f"{alert.alert.alert_id}|{context.actor.name}")
    request = RecordEventsRequest(
        events=[EventRequest(event_id=event_id, type=EventType.ALERT_ACKNOWLEDGED, data=data)]
    )
    return await record_events(
        store, privacy, context, alert.alert.operation_id, request, cache=cache
    )


ACKNOWLEDGEMENTS = UUID("6f0b7a0e-3c1d-5e2f-9a4b-8c7d6e5f4a3b")
"""The namespace of acknowledgements' event ids (uuid5 of alert id and token name)."""


def find_alert(alerts: list[StandingAlert], alert_id: UUID) -> StandingAlert:
    """The standing alert `alert_id`, or NotFound (an episode that ended is gone)."""
    for standing in alerts:
        if standing.alert.alert_id == alert_id:
            return standing
    raise NotFound(f"no alert {alert_id} stands now (GET /v1/alerts lists those that do)")
