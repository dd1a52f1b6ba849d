"""Decide what a command records: the role matrix first (403), then the operation's rules (422).

A batch is decided event by event, each folded into the state before the next is judged, so a
batch may plan, approve and execute a rescue in one go if the actors allow it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from coordinator.domain.actors import Actor, Role
from coordinator.domain.evolve import evolve
from coordinator.domain.rules import (
    AFTER_CLOSING,
    ERASERS,
    HOME_COUNTRY,
    OPENERS,
    RECORDABLE_BY,
    STAGE_RULES,
    SURVIVOR_MOVES,
)
from coordinator.domain.state import (
    Command,
    DomainEvent,
    EraseSurvivorData,
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    SurvivorStatus,
)
from coordinator.errors import Forbidden, InvalidInput, NotFound, RuleBroken
from events.catalogue import (
    CloseReason,
    CustodyTransferred,
    EventCorrected,
    EventType,
    FamilyReunited,
    OperationClosed,
    PersonalDataErased,
    RescueApproved,
    RescueExecuted,
    SupportProvided,
    SurvivorReturned,
    TestimonyRecorded,
    is_legal_event,
)


def decide(state: Operation | None, command: Command, actor: Actor) -> list[ProposedEvent]:
    """The events `command` records on `state`, or `Forbidden`/`RuleBroken`/`NotFound`."""
    match command:
        case OpenOperation():
            return _open(state, command, actor)
        case RecordEvents():
            return judge(state, command, actor).events
        case EraseSurvivorData():
            return _erase(state, command, actor)


def _open(state: Operation | None, command: OpenOperation, actor: Actor) -> list[ProposedEvent]:
    if actor.role not in OPENERS:
        raise Forbidden(f"Role {actor.role} may not open an operation; field and admin may.")
    if command.event.type != EventType.CASE_REPORTED:
        raise RuleBroken(f"An operation opens with CaseReported, not {command.event.type}.")
    if state is not None:
        raise RuleBroken(
            f"CaseReported is allowed only as the first event of an operation; operation "
            f"{state.operation_id} already has one.",
        )
    return [command.event]


@dataclass(frozen=True, slots=True)
class Judged:
    """A batch the rules accept, and the state it leaves the operation in once recorded at the
    versions after the judged state's."""

    events: list[ProposedEvent]
    state: Operation


def judge(state: Operation | None, command: RecordEvents, actor: Actor) -> Judged:
    """`decide` for a batch, with the state it leads to, so the shell need not fold it again."""
    if state is None:
        raise NotFound(f"Operation {command.operation_id} does not exist.")
    if state.operation_id != command.operation_id:
        raise ValueError(f"state of {state.operation_id} given for {command.operation_id}")
    if not command.events:
        raise RuleBroken("A batch records at least one event.")
    repeated = _repeated(event.event_id for event in command.events)
    if repeated:
        raise RuleBroken(f"A batch names each event id once; {repeated} comes twice.")
    for event in command.events:
        if event.type == EventType.CASE_REPORTED:
            _check_role(state, event, actor)
            raise RuleBroken("CaseReported is allowed only as the first event of an operation.")
        if event.type == EventType.PERSONAL_DATA_ERASED:
            _check_role(state, event, actor)
            raise RuleBroken(
                "PersonalDataErased is recorded only by erasing a survivor's personal data.",
            )
        state = _fold(state, event, actor)
    return Judged(list(command.events), state)


def _erase(
    state: Operation | None,
    command: EraseSurvivorData,
    actor: Actor,
) -> list[ProposedEvent]:
    if actor.role not in ERASERS:
        raise Forbidden(f"Role {actor.role} may not erase personal data; admin may.")
    if state is None or command.survivor_id not in state.survivors:
        raise NotFound(f"No operation holds survivor {command.survivor_id}.")
    if state.survivors[command.survivor_id].personal_erased:
        return []  # erased already: answering again records nothing
    try:
        data = PersonalDataErased(survivor_id=command.survivor_id, reason=command.reason)
    except ValidationError as error:
        raise InvalidInput(f"The erasure's reason is not valid: {error}") from error
    event = ProposedEvent(
        command.event_id, EventType.PERSONAL_DATA_ERASED, data, command.occurred_at
    )
    _fold(state, event, actor)
    return [event]


def _fold(state: Operation, event: ProposedEvent, actor: Actor) -> Operation:
    """Judge `event` against `state`, then return the state with it applied."""
    _check_role(state, event, actor)
    _check_stage(state, event)
    _check_payload(state, event, actor)
    recorded = DomainEvent(
        operation_id=state.operation_id,
        event_id=event.event_id,
        type=event.type,
        data=event.data,
        occurred_at=event.occurred_at,
        recorded_by=actor,
        version=state.version + 1,
    )
    return evolve(state, recorded)


def _check_role(state: Operation, event: ProposedEvent, actor: Actor) -> None:
    if event.type not in RECORDABLE_BY[actor.role]:
        raise Forbidden(f"Role {actor.role} may not record {event.type}.")
    if actor.role is Role.LEGAL and isinstance(event.data, EventCorrected):
        corrected = _corrected_type(state, event.data)
        if not is_legal_event(event.type, corrected):
            raise Forbidden(f"Role legal may correct only legal events, not {corrected}.")


def _corrected_type(state: Operation, correction: EventCorrected) -> str:
    corrected = state.event_types.get(correction.corrects_event_id)
    if corrected is None:
        raise RuleBroken(
            f"EventCorrected must name an event of this operation; "
            f"{correction.corrects_event_id} is not one.",
        )
    return corrected


def _check_stage(state: Operation, event: ProposedEvent) -> None:
    if state.closed and event.type not in AFTER_CLOSING:
        raise RuleBroken(
            f"{event.type} cannot be recorded after the operation closed; only legal events, "
            f"corrections and erasures can.",
        )
    rule = STAGE_RULES[event.type]
    if state.stage not in rule.allowed:
        raise RuleBroken(
            f"{event.type} is allowed only {rule.when}; the operation is at stage {state.stage}.",
        )


def _check_payload(state: Operation, event: ProposedEvent, actor: Actor) -> None:
    match event.data:
        case RescueApproved() if actor.name == state.planned_by:
            raise RuleBroken(
                f"RescueApproved needs an approver other than the planner, {actor.name}.",
            )
        case RescueExecuted(survivors=freed):
            # One rescue per operation (no plan after it), so ids can only clash within it.
            _names_each_once(event.type, [survivor.survivor_id for survivor in freed])
        case CustodyTransferred(survivor_ids=ids) | SurvivorReturned(survivor_ids=ids):
            _names_each_once(event.type, ids)
            _survivors_may_move(state, event.type, ids)
        case FamilyReunited(survivor_id=survivor_id) | SupportProvided(survivor_id=survivor_id):
            _survivors_may_move(state, event.type, (survivor_id,))
        case TestimonyRecorded(survivor_id=survivor_id):
            _survivor_of(state, event.type, survivor_id)
        case EventCorrected() as correction:
            _corrected_type(state, correction)
        case OperationClosed(reason=reason):
            _may_close(state, reason)
        case _:
            pass


def _repeated(ids: Iterable[UUID]) -> UUID | None:
    counts = Counter(ids)
    return next((each for each, count in counts.items() if count > 1), None)


def _names_each_once(event_type: str, survivor_ids: Iterable[UUID]) -> None:
    repeated = _repeated(survivor_ids)
    if repeated is not None:
        raise RuleBroken(f"{event_type} names each survivor once; {repeated} comes twice.")


def _survivor_of(state: Operation, event_type: str, survivor_id: UUID) -> SurvivorStatus:
    record = state.survivors.get(survivor_id)
    if record is None:
        raise RuleBroken(
            f"{event_type} names survivor {survivor_id}, who is not part of this operation.",
        )
    return record.status


def _survivors_may_move(state: Operation, event_type: str, survivor_ids: Iterable[UUID]) -> None:
    move = SURVIVOR_MOVES[event_type]
    for survivor_id in survivor_ids:
        status = _survivor_of(state, event_type, survivor_id)
        if status not in move.allowed:
            raise RuleBroken(
                f"{event_type} needs the survivor to {move.needs}; survivor {survivor_id} "
                f"is at status {status}.",
            )
        found_in = state.survivors[survivor_id].found_in_country
        if (
            event_type == EventType.SURVIVOR_RETURNED
            and status is SurvivorStatus.RESCUED
            and found_in != HOME_COUNTRY
        ):
            raise RuleBroken(
                f"SurvivorReturned needs a survivor found abroad to come through a "
                f"CustodyTransferred first; survivor {survivor_id} was found in {found_in}.",
            )


def _may_close(state: Operation, reason: CloseReason) -> None:
    statuses = [record.status for record in state.survivors.values()]
    if reason is CloseReason.UNFOUNDED and statuses:
        raise RuleBroken("OperationClosed as unfounded needs an operation with no survivors.")
    if reason is CloseReason.SURVIVORS_INDEPENDENT:
        if not statuses:
            raise RuleBroken(
                "OperationClosed as survivors_independent needs at least one survivor.",
            )
        if any(status in _NOT_HOME for status in statuses):
            raise RuleBroken(
                "OperationClosed as survivors_independent needs every survivor to have "
                "returned first.",
            )


_NOT_HOME = frozenset({SurvivorStatus.RESCUED, SurvivorStatus.IN_TRANSIT})
