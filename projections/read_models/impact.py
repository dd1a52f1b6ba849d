"""Impact figures: the people rescued and recovered, rescues, services and prosecutions.

Counted as the design says, so that an organisation's published figures come from its own
records, each person once: `people_rescued` are the survivors of at least one successful or
partial rescue, described (country found in, gender, age, exploitation, form, ethnic group) as
her first such rescue registered her; `people_recovered` those registered by at least one
`SurvivorRecovered`. Each operation's report time and each survivor's returns are kept for the
reports' durations (`impact_reports.py`). Corrections take effect: this projection reads raw
events, so at an `EventCorrected` it reads the corrected original and counts it again with the
correction's top-level keys over its own (the latest correction wins, as each replaces the
original's keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from events.catalogue import EventType, parse_event
from events.store import unnest
from events.store.connection import Connection
from events.store.envelope import Recorded
from events.store.event_store import EventStore

COUNTED_OUTCOMES = frozenset({"success", "partial"})
ADULT_AGE = 18
RESCUE = "rescue"
RECOVERY = "recovery"
"""How a row's survivor was registered (`impact_survivors.registered_by`)."""

# A batch's rows in one statement each (a statement per row left a rebuild waiting on the
# database). An event's rows are replaced whole: a correction counts its original again.
_FORGET_REGISTRATIONS = "DELETE FROM impact_survivors WHERE event_id = ANY($1::uuid[])"
_SURVIVORS = """
INSERT INTO impact_survivors (event_id, survivor_id, operation_id, registered_by, rescued_at,
                              position, found_in_country, gender, age_at_rescue, exploitation,
                              form, ethnic_group, home_province)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[],
                     $6::bigint[], $7::text[], $8::text[], $9::integer[], $10::text[],
                     $11::text[], $12::text[], $13::text[])
ON CONFLICT (event_id, survivor_id) DO NOTHING
"""
_REPORTS = """
INSERT INTO impact_reports (operation_id, reported_at)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
ON CONFLICT (operation_id) DO NOTHING
"""
_FORGET_RETURNS = "DELETE FROM impact_returns WHERE event_id = ANY($1::uuid[])"
_RETURNS = """
INSERT INTO impact_returns (event_id, survivor_id, destination, returned_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (event_id, survivor_id) DO NOTHING
"""
_SERVICES = """
INSERT INTO impact_services (event_id, survivor_id, operation_id, service, provided_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])
ON CONFLICT (event_id) DO UPDATE SET service = EXCLUDED.service
"""
_PROSECUTIONS = """
INSERT INTO impact_prosecutions (prosecution_id, opened_at)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
ON CONFLICT (prosecution_id) DO NOTHING
"""
_VERDICTS = """
INSERT INTO impact_verdicts (event_id, prosecution_id, defendant_id, verdict, position,
                             reached_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[],
                     $6::timestamptz[])
ON CONFLICT (event_id) DO UPDATE SET verdict = EXCLUDED.verdict
"""


def _survivor(survivor: dict[str, Any]) -> dict[str, Any]:
    # Schema version 1 of RescueExecuted named two fields differently.
    return {
        "found_in_country": survivor.get("found_in_country", survivor.get("country")),
        "age_at_rescue": survivor.get("age_at_rescue", survivor.get("age")),
        **survivor,
    }


def _corrected(original: Recorded, correction: Recorded) -> dict[str, Any] | None:
    """The original's data with the correction's keys over it, if that is a valid payload of its
    type (version 1 stored corrections unjudged: one that is not leaves the original counted,
    as the operation's own fold does)."""
    replacement = correction.data.get("corrected_data")
    if not isinstance(replacement, dict):
        return None
    data = {**original.data, **replacement}
    try:
        parse_event(original.type, original.schema_version, data)
    except ValueError:  # pydantic's ValidationError, an unknown type or schema version
        return None
    return data


@dataclass(slots=True)
class _Counted:
    """What a batch counts, by the event each row comes from (a later count replaces it)."""

    registrations: dict[UUID, list[tuple[Any, ...]]] = field(default_factory=dict)
    reports: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    returns: dict[UUID, list[tuple[Any, ...]]] = field(default_factory=dict)
    services: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    prosecutions: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    verdicts: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)

    def count(self, event: Recorded, data: dict[str, Any]) -> None:
        """Count `event` with the payload `data` (its own, or as corrected)."""
        match event.type:
            case EventType.RESCUE_EXECUTED:
                counted = data.get("outcome") in COUNTED_OUTCOMES
                self.registrations[event.event_id] = (
                    self._registered(event, data, RESCUE) if counted else []
                )
            case EventType.SURVIVOR_RECOVERED:
                self.registrations[event.event_id] = self._registered(event, data, RECOVERY)
            case EventType.CASE_REPORTED:
                self.reports[event.stream_id] = (event.stream_id, event.occurred_at)
            case EventType.SURVIVOR_RETURNED:
                self.returns[event.event_id] = [
                    (event.event_id, UUID(str(survivor)), data["destination"], event.occurred_at)
                    for survivor in data.get("survivor_ids", [])
                ]
            case EventType.SUPPORT_PROVIDED:
                # On her case the stream is hers and `survivor_id` optional.
                named = data.get("survivor_id")
                survivor = event.stream_id if named is None else UUID(str(named))
                operation = None if survivor == event.stream_id else event.stream_id
                self.services[event.event_id] = (
                    event.event_id,
                    survivor,
                    operation,
                    data["service"],
                    event.occurred_at,
                )
            case EventType.PROSECUTION_OPENED:
                self.prosecutions[event.stream_id] = (event.stream_id, event.occurred_at)
            case EventType.VERDICT_REACHED:
                self.verdicts[event.event_id] = (
                    event.event_id,
                    event.stream_id,
                    UUID(str(data["defendant_id"])),
                    data["verdict"],
                    event.position,
                    event.occurred_at,
                )
            case _:
                pass

    @staticmethod
    def _registered(event: Recorded, data: dict[str, Any], how: str) -> list[tuple[Any, ...]]:
        rows = []
        for raw in data.get("survivors", []):
            survivor = _survivor(raw)
            rows.append(
                (
                    event.event_id,
                    UUID(str(survivor["survivor_id"])),
                    event.stream_id,
                    how,
                    event.occurred_at,
                    event.position,
                    survivor["found_in_country"],
                    survivor["gender"],
                    survivor["age_at_rescue"],
                    survivor["exploitation"],
                    survivor.get("form"),
                    survivor.get("ethnic_group"),
                    survivor.get("home_province"),
                )
            )
        return rows


class ImpactProjection:
    """Keeps `impact_survivors`, `impact_services`, `impact_prosecutions`, `impact_verdicts`,
    `impact_reports` and `impact_returns` current."""

    name = "impact"

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Count each event, and each corrected event again as corrected."""
        originals = await self._originals(events)
        counted = _Counted()
        for event in events:
            if event.type != EventType.EVENT_CORRECTED:
                counted.count(event, event.data)
                continue
            original = originals.get(str(event.data.get("corrects_event_id")))
            corrected = None if original is None else _corrected(original, event)
            if original is not None and corrected is not None:
                counted.count(original, corrected)
        if counted.registrations:
            await connection.execute(_FORGET_REGISTRATIONS, list(counted.registrations))
            rows = [row for rows in counted.registrations.values() for row in rows]
            if rows:
                await connection.execute(_SURVIVORS, *unnest.columns(rows))
        if counted.returns:
            await connection.execute(_FORGET_RETURNS, list(counted.returns))
            returns = [row for rows in counted.returns.values() for row in rows]
            if returns:
                await connection.execute(_RETURNS, *unnest.columns(returns))
        for statement, found in (
            (_REPORTS, counted.reports),
            (_SERVICES, counted.services),
            (_PROSECUTIONS, counted.prosecutions),
            (_VERDICTS, counted.verdicts),
        ):
            if found:
                await connection.execute(statement, *unnest.columns(list(found.values())))

    async def _originals(self, events: Sequence[Recorded]) -> dict[str, Recorded]:
        """The events corrected in `events`, by id as text (one read per batch, if any)."""
        wanted = [
            UUID(str(event.data["corrects_event_id"]))
            for event in events
            if event.type == EventType.EVENT_CORRECTED and "corrects_event_id" in event.data
        ]
        if not wanted:
            return {}
        return {str(event.event_id): event for event in await self._store.find_events(wanted)}

    async def reset(self, connection: Connection) -> None:
        """Empty the tables for a rebuild."""
        await connection.execute("DELETE FROM impact_survivors")
        await connection.execute("DELETE FROM impact_services")
        await connection.execute("DELETE FROM impact_prosecutions")
        await connection.execute("DELETE FROM impact_verdicts")
        await connection.execute("DELETE FROM impact_reports")
        await connection.execute("DELETE FROM impact_returns")

    def forget(self) -> None:
        """Nothing is cached."""
