"""The alert rules: pure functions of the facts the `alerts` projection keeps, a clock and the
organisation's thresholds (settings `alert_*`).

Time-based alerts are judged when they are read, from the `occurred_at` times the facts keep, so
an alert appears the moment its threshold passes without any event. An alert's `alert_id` is
derived from its kind, ids and `since`: the same episode keeps its id (an acknowledgement sticks
to it), and a new episode (an update, then silence again) is a new alert.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID


class AlertKind(StrEnum):
    """What an alert is about."""

    NO_UPDATE = "no_update"
    SURVIVOR_ABROAD_30_DAYS = "survivor_abroad_30_days"
    IN_TRANSIT_72_HOURS = "in_transit_72_hours"
    REVIEW_OVERDUE = "review_overdue"
    AFTERCARE_GAP_90_DAYS = "aftercare_gap_90_days"
    CONSENT_NEEDED = "consent_needed"


ABROAD = "abroad"
IN_TRANSIT = "in_transit"
IN_AFTERCARE = "in_aftercare"
RETURNED = frozenset({"home", "in_shelter", "reunited", IN_AFTERCARE})
"""Her journey's statuses after her return (coordinator/domain/state.py `SurvivorStatus`)."""
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How long each situation may last before it is an alert; the kinds' names keep the
    defaults (30 days, 72 hours, 90 days) but the organisation tunes the durations."""

    no_update: timedelta = timedelta(days=7)
    no_update_by_stage: Mapping[str, timedelta] = field(default_factory=dict)
    abroad: timedelta = timedelta(days=30)
    in_transit: timedelta = timedelta(hours=72)
    review: timedelta = timedelta(hours=24)
    aftercare_gap: timedelta = timedelta(days=90)

    def silence_allowed(self, stage: str) -> timedelta:
        """How long an operation in `stage` may go without an update."""
        return self.no_update_by_stage.get(stage, self.no_update)


@dataclass(frozen=True, slots=True)
class Alert:
    """One episode of one alert."""

    kind: AlertKind
    operation_id: UUID
    survivor_id: UUID | None
    since: datetime

    @property
    def alert_id(self) -> UUID:
        """Stable for the kind, the ids and the episode's start."""
        survivor = "" if self.survivor_id is None else str(self.survivor_id)
        since = self.since.astimezone(UTC).isoformat()
        text = f"{self.kind.value}|{self.operation_id}|{survivor}|{since}"
        digest = hashlib.sha256(text.encode()).digest()
        return uuid.UUID(bytes=digest[:16], version=5)


@dataclass(frozen=True, slots=True)
class OperationFacts:
    """An operation as the rules need it: open, its stage, its last update (acknowledgements
    aside), and since when an emergency rescue awaits review."""

    operation_id: UUID
    open: bool
    stage: str
    last_update: datetime
    awaiting_review_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class JourneyFacts:
    """A survivor's journey on one operation that registered her."""

    operation_id: UUID
    survivor_id: UUID
    status: str
    status_since: datetime
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What her case holds: her last service, and a hold that stops services being expected
    (lost contact, declined support, independent, re-trafficked)."""

    survivor_id: UUID
    last_service_at: datetime | None = None
    hold: str | None = None


@dataclass(frozen=True, slots=True)
class ProsecutionFacts:
    """A survivor a prosecution names, and whether a consent for the prosecution stands."""

    prosecution_id: UUID
    survivor_id: UUID
    operation_ids: tuple[UUID, ...]
    opened_at: datetime
    open: bool
    consent_standing: bool = False
    consent_withdrawn_at: datetime | None = None


def operation_alerts(operation: OperationFacts, now: datetime, limits: Thresholds) -> list[Alert]:
    """`no_update` for an open operation silent longer than its stage allows; `review_overdue`
    for an emergency rescue awaiting review too long."""
    alerts = []
    if (
        operation.open
        and operation.stage != CLOSED
        and now - operation.last_update > limits.silence_allowed(operation.stage)
    ):
        alerts.append(
            Alert(AlertKind.NO_UPDATE, operation.operation_id, None, operation.last_update)
        )
    review_since = operation.awaiting_review_since
    if review_since is not None and now - review_since > limits.review:
        alerts.append(Alert(AlertKind.REVIEW_OVERDUE, operation.operation_id, None, review_since))
    return alerts


def journey_alerts(
    journey: JourneyFacts,
    case: CaseFacts | None,
    now: datetime,
    limits: Thresholds,
    *,
    operation_open: bool,
) -> list[Alert]:
    """Her latest journey's alerts: abroad or in transit too long (while its operation is open),
    or in aftercare without a service too long; none while her case holds her elsewhere."""
    if case is not None and case.hold is not None:
        return []
    status, since = journey.status, journey.status_since
    ids = (journey.operation_id, journey.survivor_id)
    if operation_open and status == ABROAD and now - since > limits.abroad:
        return [Alert(AlertKind.SURVIVOR_ABROAD_30_DAYS, *ids, since)]
    if operation_open and status == IN_TRANSIT and now - since > limits.in_transit:
        return [Alert(AlertKind.IN_TRANSIT_72_HOURS, *ids, since)]
    last_service = None if case is None else case.last_service_at
    in_aftercare = status == IN_AFTERCARE or (
        status in RETURNED and last_service is not None and last_service >= since
    )
    if in_aftercare:
        served = last_service or since
        if now - served > limits.aftercare_gap:
            return [Alert(AlertKind.AFTERCARE_GAP_90_DAYS, *ids, served)]
    return []


def latest_journeys(journeys: Iterable[JourneyFacts]) -> dict[UUID, JourneyFacts]:
    """Each survivor's journey since her latest registration."""
    latest: dict[UUID, JourneyFacts] = {}
    for journey in journeys:
        held = latest.get(journey.survivor_id)
        if held is None or (journey.registered_at, str(journey.operation_id)) > (
            held.registered_at,
            str(held.operation_id),
        ):
            latest[journey.survivor_id] = journey
    return latest


def consent_alert(
    named: ProsecutionFacts, registered_by: Iterable[UUID], latest_operation: UUID | None
) -> Alert | None:
    """`consent_needed` while an open prosecution names her and no consent of hers for the
    prosecution stands; on the prosecution's operation that registered her, else her latest."""
    if not named.open or named.consent_standing:
        return None
    registered = set(registered_by)
    operation = next((o for o in named.operation_ids if o in registered), latest_operation)
    if operation is None and named.operation_ids:
        operation = named.operation_ids[0]
    if operation is None:
        return None  # an alert is acknowledged on an operation; she has none yet
    since = named.opened_at
    if named.consent_withdrawn_at is not None and named.consent_withdrawn_at > since:
        since = named.consent_withdrawn_at
    return Alert(AlertKind.CONSENT_NEEDED, operation, named.survivor_id, since)


def judge_alerts(  # noqa: PLR0917  the four kinds of facts, the clock and the thresholds
    operations: Iterable[OperationFacts],
    journeys: Iterable[JourneyFacts],
    cases: Mapping[UUID, CaseFacts],
    prosecutions: Iterable[ProsecutionFacts],
    now: datetime,
    limits: Thresholds,
) -> list[Alert]:
    """Every alert standing at `now`, oldest first."""
    by_id = {operation.operation_id: operation for operation in operations}
    alerts = [
        alert for operation in by_id.values() for alert in operation_alerts(operation, now, limits)
    ]
    every = list(journeys)
    registered: dict[UUID, list[UUID]] = {}
    for journey in every:
        registered.setdefault(journey.survivor_id, []).append(journey.operation_id)
    latest = latest_journeys(every)
    for survivor_id, journey in latest.items():
        operation = by_id.get(journey.operation_id)
        is_open = operation is not None and operation.open
        alerts.extend(
            journey_alerts(journey, cases.get(survivor_id), now, limits, operation_open=is_open)
        )
    for named in prosecutions:
        hers = latest.get(named.survivor_id)
        alert = consent_alert(
            named,
            registered.get(named.survivor_id, ()),
            None if hers is None else hers.operation_id,
        )
        if alert is not None:
            alerts.append(alert)
    unique = {alert.alert_id: alert for alert in alerts}
    return sorted(
        unique.values(),
        key=lambda a: (a.since, a.kind.value, str(a.operation_id), str(a.survivor_id)),
    )
