"""Alerts: the facts their rules judge (projections/read_models/alert_rules.py), kept in log order.

No personal data: pseudonymous ids, statuses and `occurred_at` times. Per operation: open, its
stage, its last update (an `AlertAcknowledged` is not one) and since when an emergency rescue
awaits review, folded with the operation's own rules (the `Folder` the service hands in). Per
survivor and operation that registered her: her journey's status and since when. Per survivor,
from her case's and the operations' events as stored: her last service and what holds her out
of the journey (lost contact, declined support, independent, re-trafficked, in the precedence of
coordinator/domain/case.py); her consents for the prosecution; the prosecutions naming her.
Corrections of a case's or a prosecution's events are not followed here (an operation's are).

Every `AlertAcknowledged` is kept: who saw which alert, and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from events.catalogue import EventType
from events.store import unnest
from events.store.connection import Connection
from events.store.envelope import Recorded
from events.store.event_store import EventStore
from projections.read_models.alert_tables import (
    INSERT_ACKNOWLEDGEMENTS,
    TABLES,
    UPSERT_CASES,
    UPSERT_CONSENTS,
    UPSERT_JOURNEYS,
    UPSERT_OPERATIONS,
    UPSERT_PROSECUTIONS,
)
from projections.read_models.operation_summary import Folded, Folder, FoldingCache

# Events after which her journey on the operation may have moved (or been registered).
_JOURNEY_TYPES = frozenset(
    {
        EventType.RESCUE_EXECUTED,
        EventType.SURVIVOR_RECOVERED,
        EventType.CUSTODY_TRANSFERRED,
        EventType.SURVIVOR_RETURNED,
        EventType.FAMILY_REUNITED,
        EventType.SUPPORT_PROVIDED,
        EventType.EVENT_CORRECTED,
    }
)
_REGISTERING = frozenset({EventType.RESCUE_EXECUTED, EventType.SURVIVOR_RECOVERED})
_PROSECUTION = "prosecution"

# Her case's holds by rank: a higher one stands over a lower one (coordinator/domain/case.py).
_DECLINED, _LOST, _INDEPENDENT, _RETRAFFICKED = (
    "declined_support",
    "lost_contact",
    "independent",
    "re_trafficked",
)
_RANK = {None: 0, _DECLINED: 1, _LOST: 2, _INDEPENDENT: 3, _RETRAFFICKED: 3}


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _uuids(values: Any) -> list[UUID]:
    found = [_uuid(value) for value in values] if isinstance(values, list) else []
    return [value for value in found if value is not None]


@dataclass
class _Case:
    """Her case's facts as the batch leaves them."""

    last_service_at: datetime | None = None
    hold: str | None = None


@dataclass
class _Batch:
    """What a batch of events changes, gathered in log order and written at its end."""

    operations: dict[UUID, Folded] = field(default_factory=dict)
    updated: dict[UUID, datetime] = field(default_factory=dict)
    journeys: dict[tuple[UUID, UUID], tuple[str, datetime, datetime]] = field(default_factory=dict)
    case_events: list[Recorded] = field(default_factory=list)
    consents: dict[tuple[UUID, str], tuple[bool, datetime]] = field(default_factory=dict)
    prosecutions: dict[tuple[UUID, UUID], tuple[str, datetime, bool]] = field(default_factory=dict)
    closed_prosecutions: list[UUID] = field(default_factory=list)
    acknowledgements: list[tuple[Any, ...]] = field(default_factory=list)


class AlertsProjection:
    """Keeps the alert tables current."""

    name = "alerts"

    def __init__(self, folder: Folder, store: EventStore, *, cache_size: int = 5_000) -> None:
        self._cache = FoldingCache(folder, store, capacity=cache_size)

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Gather each event's facts in log order; write them once for the batch."""
        batch = _Batch()
        for event in events:
            await self._operation_event(event, batch)
            self._other_event(event, batch)
        await self._write(connection, batch)

    async def _operation_event(self, event: Recorded, batch: _Batch) -> None:
        latest = await self._cache.latest([event])
        found = latest.get(event.stream_id)
        if found is None:
            return
        folded = found[0]
        operation_id = event.stream_id
        batch.operations[operation_id] = folded
        if event.type == EventType.ALERT_ACKNOWLEDGED:
            alert_id = _uuid(event.data.get("alert_id"))
            if alert_id is not None:
                who = str(event.metadata.get("recorded_by", ""))
                batch.acknowledgements.append(
                    (event.event_id, alert_id, operation_id, who, event.occurred_at)
                )
        else:
            seen = batch.updated.get(operation_id)
            batch.updated[operation_id] = (
                event.occurred_at if seen is None else max(seen, event.occurred_at)
            )
        if event.type in _JOURNEY_TYPES:
            for survivor in self._cache.summary(folded).survivors:
                survivor_id = UUID(str(survivor["survivor_id"]))
                status = str(survivor["status"])
                key = (operation_id, survivor_id)
                held = batch.journeys.get(key)
                if held is None:
                    batch.journeys[key] = (status, event.occurred_at, event.occurred_at)
                elif held[0] != status:
                    batch.journeys[key] = (status, event.occurred_at, held[2])

    def _other_event(self, event: Recorded, batch: _Batch) -> None:
        data = event.data
        if event.type in _REGISTERING or event.type in {
            EventType.SUPPORT_PROVIDED,
            EventType.CONTACT_LOST,
            EventType.CONTACT_RESTORED,
            EventType.SUPPORT_DECLINED,
            EventType.SURVIVOR_INDEPENDENT,
            EventType.SURVIVOR_RETRAFFICKED,
        }:
            batch.case_events.append(event)
        elif event.type in {EventType.CONSENT_RECORDED, EventType.CONSENT_WITHDRAWN}:
            if data.get("purpose") == _PROSECUTION:
                standing = event.type == EventType.CONSENT_RECORDED
                batch.consents[event.stream_id, str(data.get("recipient"))] = (
                    standing,
                    event.occurred_at,
                )
        elif event.type == EventType.PROSECUTION_OPENED:
            operations = "{" + ",".join(map(str, _uuids(data.get("operation_ids")))) + "}"
            for survivor_id in _uuids(data.get("survivor_ids")):
                batch.prosecutions[event.stream_id, survivor_id] = (
                    operations,
                    event.occurred_at,
                    True,
                )
        elif event.type == EventType.PROSECUTION_CLOSED:
            batch.closed_prosecutions.append(event.stream_id)
            for named, (operations, opened_at, _open) in list(batch.prosecutions.items()):
                if named[0] == event.stream_id:
                    batch.prosecutions[named] = (operations, opened_at, False)

    async def _write(self, connection: Connection, batch: _Batch) -> None:
        if batch.operations:
            rows = []
            for operation_id, folded in batch.operations.items():
                summary = self._cache.summary(folded)
                rows.append(
                    (
                        operation_id,
                        summary.is_open,
                        folded.stage,
                        batch.updated.get(operation_id),
                        summary.awaiting_review_since,
                    )
                )
            await connection.execute(UPSERT_OPERATIONS, *unnest.columns(rows))
        if batch.journeys:
            journeys = [
                (operation_id, survivor_id, status, since, registered_at)
                for (operation_id, survivor_id), (status, since, registered_at) in (
                    batch.journeys.items()
                )
            ]
            await connection.execute(UPSERT_JOURNEYS, *unnest.columns(journeys))
        if batch.case_events:
            await self._write_cases(connection, batch.case_events)
        if batch.consents:
            consents = [(s, r, standing, at) for (s, r), (standing, at) in batch.consents.items()]
            await connection.execute(UPSERT_CONSENTS, *unnest.columns(consents))
        if batch.prosecutions:
            named = [(p, s, *facts) for (p, s), facts in batch.prosecutions.items()]
            await connection.execute(UPSERT_PROSECUTIONS, *unnest.columns(named))
        if batch.closed_prosecutions:
            await connection.execute(
                "UPDATE alert_prosecutions SET open = false WHERE prosecution_id = ANY($1::uuid[])",
                batch.closed_prosecutions,
            )
        if batch.acknowledgements:
            await connection.execute(
                INSERT_ACKNOWLEDGEMENTS, *unnest.columns(batch.acknowledgements)
            )

    async def _write_cases(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Her case's facts after the batch's events, from the stored ones before it."""
        concerned = {survivor for event in events for survivor in _concerns(event)}
        stored = await connection.fetch(
            "SELECT survivor_id, last_service_at, hold FROM alert_cases "
            "WHERE survivor_id = ANY($1::uuid[])",
            list(concerned),
        )
        cases = {row["survivor_id"]: _Case(row["last_service_at"], row["hold"]) for row in stored}
        for event in events:
            for survivor_id in _concerns(event):
                _case_after(cases.setdefault(survivor_id, _Case()), event)
        rows = [(s, case.last_service_at, case.hold) for s, case in cases.items()]
        await connection.execute(UPSERT_CASES, *unnest.columns(rows))

    async def reset(self, connection: Connection) -> None:
        """Empty the tables for a rebuild."""
        for table in TABLES:
            await connection.execute(f"DELETE FROM {table}")  # noqa: S608  fixed names
        self._cache.forget()

    def forget(self) -> None:
        """Drop cached states after a rolled-back batch."""
        self._cache.forget()


def _concerns(event: Recorded) -> list[UUID]:
    """The survivors whose case facts `event` may change, read from its stored payload."""
    data = event.data
    if event.type in _REGISTERING:
        survivors = data.get("survivors")
        named = (
            [s.get("survivor_id") for s in survivors if isinstance(s, dict)]
            if isinstance(survivors, list)
            else []
        )
        return _uuids(named)
    if event.type == EventType.SUPPORT_PROVIDED:
        # On her case `survivor_id` is optional: the stream is hers.
        named_one = data.get("survivor_id")
        survivor = event.stream_id if named_one is None else _uuid(named_one)
        return [] if survivor is None else [survivor]
    return [event.stream_id]


def _case_after(case: _Case, event: Recorded) -> None:
    """Her case's facts after `event`, in the precedence of coordinator/domain/case.py."""
    match event.type:
        case EventType.SUPPORT_PROVIDED:
            if case.last_service_at is None or event.occurred_at > case.last_service_at:
                case.last_service_at = event.occurred_at
            if case.hold == _DECLINED:
                case.hold = None
        case EventType.RESCUE_EXECUTED | EventType.SURVIVOR_RECOVERED:
            # Found again: lost contact, declined support and re-trafficking end.
            if case.hold != _INDEPENDENT:
                case.hold = None
        case EventType.CONTACT_RESTORED:
            if case.hold in {_LOST, _DECLINED}:
                case.hold = None
        case EventType.CONTACT_LOST:
            case.hold = _LOST if _RANK[case.hold] <= _RANK[_LOST] else case.hold
        case EventType.SUPPORT_DECLINED:
            case.hold = _DECLINED if _RANK[case.hold] <= _RANK[_DECLINED] else case.hold
        case EventType.SURVIVOR_INDEPENDENT:
            case.hold = _INDEPENDENT
        case EventType.SURVIVOR_RETRAFFICKED:
            case.hold = _RETRAFFICKED
        case _:
            pass
