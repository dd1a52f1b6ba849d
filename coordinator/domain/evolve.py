"""Fold one recorded event into an operation's state; facts are applied, never judged here.

`evolve` trusts that `decide` let the event in; it raises only for a stream that cannot be an
operation's (no `CaseReported` first), and ignores survivor ids it does not know. It folds the
payload it is given: corrections take effect when a whole stream is folded with its effective
payloads (`fold_operation`, coordinator/domain/corrections.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast
from uuid import UUID

from coordinator.domain.actors import Role
from coordinator.domain.copying import replace
from coordinator.domain.corrections import with_corrections
from coordinator.domain.event_index import EventIndex
from coordinator.domain.journey import journey_after, registered
from coordinator.domain.state import (
    DomainEvent,
    Operation,
    Partner,
    Stage,
    SurvivorRecord,
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
    RescueReviewed,
    SupportProvided,
    SurvivorRecovered,
    SurvivorReturned,
    TeamAssigned,
    TeamUnassigned,
    TestimonyRecorded,
)


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
    # One copy per event: the payload's changes and the envelope's are applied together. Seeing
    # an alert is not news of the operation: it leaves `updated_at` (and so its flags) alone.
    updated_at = (
        state.updated_at
        if event.type in NOT_AN_UPDATE
        else max(state.updated_at, event.occurred_at)
    )
    return replace(
        state,
        **_changes(state, event),
        version=event.version,
        updated_at=updated_at,
        event_types=_indexed(state.event_types).with_event(event.event_id, event.type),
    )


NOT_AN_UPDATE = frozenset({EventType.ALERT_ACKNOWLEDGED})
"""Events that record who looked, not what happened: they do not make an operation recent."""


def fold_operation(events: Sequence[DomainEvent]) -> Operation | None:
    """The state a whole stream leaves an operation in, with every correction in effect."""
    state: Operation | None = None
    for event in with_corrections(events):
        state = evolve(state, event)
    return state


def _open(event: DomainEvent) -> Operation:
    if not isinstance(event.data, CaseReported):
        raise NotAnOperationStream(
            f"an operation's stream starts with CaseReported, not {event.type}"
        )
    return Operation(
        operation_id=event.stream_id,
        phase=Stage.REPORTED,
        version=event.version,
        opened_at=event.occurred_at,
        updated_at=event.occurred_at,
        reference=event.data.reference,
        missing_persons=tuple(
            person.missing_person_id
            for person in event.data.missing_persons
            if person.missing_person_id is not None
        ),
        country=event.data.suspected_country,
        event_types=EventIndex().with_event(event.event_id, event.type),
        teams=_reporting_team(event),
    )


def _reporting_team(event: DomainEvent) -> frozenset[str]:
    """The team whose field token reported the case is assigned to the operation."""
    reporter = event.recorded_by
    if reporter.role is Role.FIELD and reporter.team is not None:
        return frozenset({reporter.team})
    return frozenset()


Changes = dict[str, object]

PAYLOAD_UNREAD: frozenset[str] = frozenset(
    {
        EventType.LEAD_RECORDED,
        EventType.RESCUE_PLANNED,
        EventType.RESCUE_APPROVED,
        EventType.RESCUE_ABORTED,
        EventType.RESCUE_REVIEWED,
        EventType.TESTIMONY_RECORDED,
        EventType.EVIDENCE_LOGGED,
        EventType.STATUS_NOTED,
        EventType.EVENT_CORRECTED,
        EventType.ALERT_ACKNOWLEDGED,
    }
)
"""Event types whose payload `_changes` reads no field of, only its type: a fold of stored events
(which were validated when appended) may hand `evolve` these payloads without validating them.
An unread LeadRecorded costs 0.11 us against 1.4 us validated (ops/bench_fast_paths.py); the
property test in tests/test_operation_properties.py folds every accepted stream both ways."""


def _changes(state: Operation, event: DomainEvent) -> Changes:
    """What the payload changes in `state`, as field names and their new values."""
    # LeadRecorded, StatusNoted and EventCorrected change nothing here: a correction takes
    # effect when the stream is folded with its effective payloads.
    changes = _CHANGES.get(type(event.data))
    return {} if changes is None else changes(state, event)


# One function per payload type that changes the state, found by the payload's exact type (a
# `DomainEvent` carries exactly its type's model): a `match` over classes tried each in turn,
# and an isinstance check of a pydantic model costs a call to its metaclass.


def _investigation_opened(_state: Operation, event: DomainEvent) -> Changes:
    data = cast(InvestigationOpened, event.data)
    return {"phase": Stage.INVESTIGATING, "lead_investigator": data.lead_investigator}


def _location_confirmed(_state: Operation, event: DomainEvent) -> Changes:
    data = cast(LocationConfirmed, event.data)
    return {"country": data.country, "country_confirmed": True}


def _partner_engaged(state: Operation, event: DomainEvent) -> Changes:
    data = cast(PartnerEngaged, event.data)
    partner = Partner(agency=data.agency, agency_type=data.agency_type, country=data.country)
    return {"partners": (*state.partners, partner)}


def _rescue_planned(_state: Operation, event: DomainEvent) -> Changes:
    return {"phase": Stage.PLANNING, "planned_by": event.recorded_by.name, "approved_by": None}


def _rescue_approved(_state: Operation, event: DomainEvent) -> Changes:
    return {"phase": Stage.APPROVED, "approved_by": event.recorded_by.name}


def _new_attempt_possible(state: Operation, *, unsuccessful: bool) -> Changes:
    """After a failed or partial rescue, or an abort: the next attempt starts from the
    investigation, and needs its own plan and approval (or is an emergency)."""
    return {
        "phase": Stage.INVESTIGATING,
        "planned_by": None,
        "approved_by": None,
        "unsuccessful_attempts": state.unsuccessful_attempts + int(unsuccessful),
    }


def _rescue_aborted(state: Operation, _event: DomainEvent) -> Changes:
    return _new_attempt_possible(state, unsuccessful=True)


def _rescue_executed(state: Operation, event: DomainEvent) -> Changes:
    data = cast(RescueExecuted, event.data)
    changes: Changes = {"rescues": state.rescues + 1}
    if data.emergency and state.awaiting_review_since is None:
        changes["awaiting_review_since"] = event.occurred_at
    if data.outcome is Outcome.SUCCESS:
        changes["phase"] = Stage.RESCUED  # who planned and approved it stays on record
    else:
        changes.update(_new_attempt_possible(state, unsuccessful=data.outcome is Outcome.FAILED))
    return {**changes, **_register(state, event, data.survivors)}


def _survivor_recovered(state: Operation, event: DomainEvent) -> Changes:
    data = cast(SurvivorRecovered, event.data)
    return _register(state, event, data.survivors, recovered=data)


def _register(
    state: Operation,
    event: DomainEvent,
    survivors: Iterable[Any],
    recovered: SurvivorRecovered | None = None,
) -> Changes:
    records = {
        survivor.survivor_id: registered(
            survivor, event.occurred_at, recovered.how if recovered else None
        )
        for survivor in survivors
        if survivor.survivor_id not in state.survivors  # one registration per operation
    }
    if not records:
        return {}
    return {"survivors": MappingProxyType({**state.survivors, **records})}


def _rescue_reviewed(state: Operation, _event: DomainEvent) -> Changes:
    return {"awaiting_review_since": None, "reviews": state.reviews + 1}


def _survivors_moved(state: Operation, event: DomainEvent) -> Changes:
    data = cast(CustodyTransferred | SurvivorReturned, event.data)
    return _journeys(state, event, data.survivor_ids)


def _survivor_moved(state: Operation, event: DomainEvent) -> Changes:
    data = cast(FamilyReunited | SupportProvided, event.data)
    return {} if data.survivor_id is None else _journeys(state, event, (data.survivor_id,))


def _personal_data_erased(state: Operation, event: DomainEvent) -> Changes:
    data = cast(PersonalDataErased, event.data)
    if data.survivor_id is None:
        return {}
    return _update(state, (data.survivor_id,), lambda record: replace(record, personal_erased=True))


def _testimony_recorded(state: Operation, _event: DomainEvent) -> Changes:
    return {"testimonies": state.testimonies + 1}


def _evidence_logged(state: Operation, _event: DomainEvent) -> Changes:
    return {"evidence_items": state.evidence_items + 1}


def _prosecution_updated(_state: Operation, event: DomainEvent) -> Changes:
    return {"prosecution_phase": cast(ProsecutionUpdated, event.data).phase}


def _team_assigned(state: Operation, event: DomainEvent) -> Changes:
    return {"teams": state.teams | {cast(TeamAssigned, event.data).team}}


def _team_unassigned(state: Operation, event: DomainEvent) -> Changes:
    return {"teams": state.teams - {cast(TeamUnassigned, event.data).team}}


def _operation_closed(_state: Operation, event: DomainEvent) -> Changes:
    return {"phase": Stage.CLOSED, "close_reason": cast(OperationClosed, event.data).reason}


_CHANGES: dict[type[EventData], Callable[[Operation, DomainEvent], Changes]] = {
    InvestigationOpened: _investigation_opened,
    LocationConfirmed: _location_confirmed,
    PartnerEngaged: _partner_engaged,
    RescuePlanned: _rescue_planned,
    RescueApproved: _rescue_approved,
    RescueExecuted: _rescue_executed,
    RescueAborted: _rescue_aborted,
    RescueReviewed: _rescue_reviewed,
    SurvivorRecovered: _survivor_recovered,
    CustodyTransferred: _survivors_moved,
    SurvivorReturned: _survivors_moved,
    FamilyReunited: _survivor_moved,
    SupportProvided: _survivor_moved,
    PersonalDataErased: _personal_data_erased,
    TestimonyRecorded: _testimony_recorded,
    EvidenceLogged: _evidence_logged,
    ProsecutionUpdated: _prosecution_updated,
    OperationClosed: _operation_closed,
    TeamAssigned: _team_assigned,
    TeamUnassigned: _team_unassigned,
}


def _journeys(state: Operation, event: DomainEvent, survivor_ids: Iterable[UUID]) -> Changes:
    return _update(state, survivor_ids, lambda record: journey_after(record, event.data))


def _update(
    state: Operation,
    survivor_ids: Iterable[UUID],
    change: Callable[[SurvivorRecord], SurvivorRecord],
) -> Changes:
    survivors = dict(state.survivors)
    for survivor_id in survivor_ids:
        record = survivors.get(survivor_id)
        if record is not None:
            survivors[survivor_id] = change(record)
    return {"survivors": MappingProxyType(survivors)}
