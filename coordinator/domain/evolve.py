"""Fold one recorded event into an operation's state; facts are applied, never judged here.

`evolve` trusts that `decide` let the event in; it raises only for a stream that cannot be an
operation's (no `CaseReported` first), and ignores survivor ids it does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, cast
from uuid import UUID

from coordinator.domain.event_index import EventIndex
from coordinator.domain.rules import SURVIVOR_MOVES
from coordinator.domain.state import (
    DomainEvent,
    Operation,
    Partner,
    Stage,
    SurvivorRecord,
    SurvivorStatus,
)
from events.catalogue import (
    CaseReported,
    CustodyTransferred,
    EventData,
    EventType,
    EvidenceLogged,
    FamilyReunited,
    InvestigationOpened,
    LocationConfirmed,
    OperationClosed,
    Outcome,
    PartnerEngaged,
    PersonalDataErased,
    ProsecutionUpdated,
    RescueAborted,
    RescueApproved,
    RescueExecuted,
    RescuePlanned,
    SupportProvided,
    SurvivorReturned,
    TestimonyRecorded,
)
from events.store.slots import copier as slot_copier

T = TypeVar("T")
_COPIERS: dict[type, Callable[[Any, dict[str, object]], Any]] = {}


def replace(record: T, **changes: object) -> T:
    """`dataclasses.replace` for the state's frozen records: 1.6 us against 4.3 us per copy.

    Folding replays every event of the log on a rebuild and copies the state once per event
    (events/store/slots.py has the figures, tests/test_fast_paths.py pins it to `replace`).
    """
    cls = type(record)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = slot_copier(cls)
    copied: T = copier(record, changes)
    return copied


def _indexed(event_types: Mapping[UUID, str]) -> EventIndex:
    if type(event_types) is EventIndex:  # cheaper than an isinstance of a Mapping ABC
        return event_types
    index = EventIndex()
    for event_id, event_type in event_types.items():
        index = index.with_event(event_id, event_type)
    return index


class NotAnOperationStream(Exception):
    """A stream that cannot be an operation's: it does not start with exactly one CaseReported."""


def evolve(state: Operation | None, event: DomainEvent) -> Operation:
    """The operation after `event`: its payload's effect, then the version and times."""
    if state is None:
        return _open(event)
    if isinstance(event.data, CaseReported):
        raise NotAnOperationStream(f"operation {state.operation_id} already has its CaseReported")
    # One copy per event: the payload's changes and the envelope's are applied together.
    return replace(
        state,
        **_changes(state, event),
        version=event.version,
        updated_at=max(state.updated_at, event.occurred_at),
        event_types=_indexed(state.event_types).with_event(event.event_id, event.type),
    )


def _open(event: DomainEvent) -> Operation:
    if not isinstance(event.data, CaseReported):
        raise NotAnOperationStream(
            f"an operation's stream starts with CaseReported, not {event.type}"
        )
    return Operation(
        operation_id=event.operation_id,
        stage=Stage.REPORTED,
        version=event.version,
        opened_at=event.occurred_at,
        updated_at=event.occurred_at,
        country=event.data.suspected_country,
        event_types=EventIndex().with_event(event.event_id, event.type),
    )


Changes = dict[str, object]

PAYLOAD_UNREAD: frozenset[str] = frozenset(
    {
        EventType.LEAD_RECORDED,
        EventType.RESCUE_PLANNED,
        EventType.RESCUE_APPROVED,
        EventType.RESCUE_ABORTED,
        EventType.TESTIMONY_RECORDED,
        EventType.EVIDENCE_LOGGED,
        EventType.STATUS_NOTED,
        EventType.EVENT_CORRECTED,
    }
)
"""Event types whose payload `_changes` reads no field of, only its type: a fold of stored events
(which were validated when appended) may hand `evolve` these payloads without validating them.
An unread LeadRecorded costs 0.11 us against 1.4 us validated (ops/bench_fast_paths.py); the
property test in tests/test_operation_properties.py folds every accepted stream both ways."""


def _changes(state: Operation, event: DomainEvent) -> Changes:
    """What the payload changes in `state`, as field names and their new values."""
    # LeadRecorded, StatusNoted and EventCorrected are kept in the log but change nothing; a
    # correction does not rewrite the state, the original stays what was recorded.
    changes = _CHANGES.get(type(event.data))
    return {} if changes is None else changes(state, event)


# One function per payload type that changes the state, found by the payload's exact type (a
# `DomainEvent` carries exactly its type's model): a `match` over classes tried each in turn,
# and an isinstance check of a pydantic model costs a call to its metaclass.


def _investigation_opened(_state: Operation, event: DomainEvent) -> Changes:
    data = cast(InvestigationOpened, event.data)
    return {"stage": Stage.INVESTIGATING, "lead_investigator": data.lead_investigator}


def _location_confirmed(_state: Operation, event: DomainEvent) -> Changes:
    data = cast(LocationConfirmed, event.data)
    return {"country": data.country, "country_confirmed": True}


def _partner_engaged(state: Operation, event: DomainEvent) -> Changes:
    data = cast(PartnerEngaged, event.data)
    partner = Partner(agency=data.agency, agency_type=data.agency_type, country=data.country)
    return {"partners": (*state.partners, partner)}


def _rescue_planned(_state: Operation, event: DomainEvent) -> Changes:
    return {"stage": Stage.PLANNING, "planned_by": event.recorded_by.name, "approved_by": None}


def _rescue_approved(_state: Operation, event: DomainEvent) -> Changes:
    return {"stage": Stage.APPROVED, "approved_by": event.recorded_by.name}


def _rescue_failed(state: Operation, _event: DomainEvent) -> Changes:
    return {
        "stage": Stage.INVESTIGATING,
        "planned_by": None,
        "approved_by": None,
        "unsuccessful_attempts": state.unsuccessful_attempts + 1,
    }


def _rescue_executed(state: Operation, event: DomainEvent) -> Changes:
    data = cast(RescueExecuted, event.data)
    if data.outcome == Outcome.FAILED:
        return _rescue_failed(state, event)
    records = {
        survivor.survivor_id: SurvivorRecord(
            survivor_id=survivor.survivor_id,
            gender=survivor.gender,
            age_at_rescue=survivor.age_at_rescue,
            exploitation=survivor.exploitation,
            form=survivor.form,
            found_in_country=survivor.found_in_country,
            home_province=survivor.home_province,
        )
        for survivor in data.survivors
    }
    survivors = MappingProxyType({**state.survivors, **records})
    return {"survivors": survivors, **_advance(state, Stage.RESCUED)}


def _survivors_moved(state: Operation, event: DomainEvent) -> Changes:
    data = cast(CustodyTransferred | SurvivorReturned, event.data)
    return _move(state, event.type, data.survivor_ids)


def _survivor_moved(state: Operation, event: DomainEvent) -> Changes:
    data = cast(FamilyReunited | SupportProvided, event.data)
    return _move(state, event.type, (data.survivor_id,))


def _personal_data_erased(state: Operation, event: DomainEvent) -> Changes:
    data = cast(PersonalDataErased, event.data)
    return _update(state, (data.survivor_id,), personal_erased=True)


def _testimony_recorded(state: Operation, _event: DomainEvent) -> Changes:
    return {"testimonies": state.testimonies + 1}


def _evidence_logged(state: Operation, _event: DomainEvent) -> Changes:
    return {"evidence_items": state.evidence_items + 1}


def _prosecution_updated(_state: Operation, event: DomainEvent) -> Changes:
    return {"prosecution_phase": cast(ProsecutionUpdated, event.data).phase}


def _operation_closed(_state: Operation, event: DomainEvent) -> Changes:
    return {"stage": Stage.CLOSED, "close_reason": cast(OperationClosed, event.data).reason}


_CHANGES: dict[type[EventData], Callable[[Operation, DomainEvent], Changes]] = {
    InvestigationOpened: _investigation_opened,
    LocationConfirmed: _location_confirmed,
    PartnerEngaged: _partner_engaged,
    RescuePlanned: _rescue_planned,
    RescueApproved: _rescue_approved,
    RescueExecuted: _rescue_executed,
    RescueAborted: _rescue_failed,
    CustodyTransferred: _survivors_moved,
    SurvivorReturned: _survivors_moved,
    FamilyReunited: _survivor_moved,
    SupportProvided: _survivor_moved,
    PersonalDataErased: _personal_data_erased,
    TestimonyRecorded: _testimony_recorded,
    EvidenceLogged: _evidence_logged,
    ProsecutionUpdated: _prosecution_updated,
    OperationClosed: _operation_closed,
}


def _move(state: Operation, event_type: str, survivor_ids: Iterable[UUID]) -> Changes:
    status = SURVIVOR_MOVES[event_type].to
    return {**_update(state, survivor_ids, status=status), **_advance(state, Stage(status))}


def _update(
    state: Operation,
    survivor_ids: Iterable[UUID],
    *,
    status: SurvivorStatus | None = None,
    personal_erased: bool | None = None,
) -> Changes:
    survivors = dict(state.survivors)
    for survivor_id in survivor_ids:
        record = survivors.get(survivor_id)
        if record is None:
            continue
        survivors[survivor_id] = replace(
            record,
            status=record.status if status is None else status,
            personal_erased=record.personal_erased if personal_erased is None else personal_erased,
        )
    return {"survivors": MappingProxyType(survivors)}


def _advance(state: Operation, reached: Stage) -> Changes:
    """Move the stage forward to `reached`, never back, and never out of closed."""
    if state.closed or reached.rank <= state.stage.rank:
        return {}
    return {"stage": reached}
