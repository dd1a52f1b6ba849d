"""Decide what a command records on an operation: the role matrix first (403), then the
operation's rules (422).

A batch is decided event by event, each folded into the state before the next is judged, so a
batch may plan, approve and execute a rescue in one go if the actors allow it. What the rules
need from beyond the operation (each named survivor's registrations and case) comes in as
`standings`; a correction needs the stream's `history`, since every later event is judged again
with the corrected payload.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from coordinator.domain.actors import Actor, Role
from coordinator.domain.commands import Command, EraseSurvivorData, OpenOperation, RecordEvents
from coordinator.domain.corrections import refuse_invalid_correction
from coordinator.domain.event_checks import check_payload, check_stage, replay
from coordinator.domain.evolve import evolve
from coordinator.domain.need_to_know import check_assigned, may_assign
from coordinator.domain.rules import OPENERS, RECORDABLE_BY
from coordinator.domain.standing import NO_STANDING, Registration
from coordinator.domain.state import DomainEvent, Operation, ProposedEvent
from coordinator.domain.survivor_rules import (
    Standings,
    first_repeated,
    missing_persons_named_once,
    registrations_taken,
)
from coordinator.errors import Forbidden, NotFound, RuleBroken
from events.catalogue import (
    KIND_EVENT_TYPES,
    EventCorrected,
    EventType,
    RescueExecuted,
    StreamKind,
    SurvivorRecovered,
    is_legal_event,
)


def decide(
    state: Operation | None,
    command: Command,
    actor: Actor,
    *,
    standings: Standings | None = None,
    history: Sequence[DomainEvent] = (),
) -> list[ProposedEvent]:
    """The events `command` records on `state`, or `Forbidden`/`RuleBroken`/`NotFound`."""
    match command:
        case OpenOperation():
            return _open(state, command, actor)
        case RecordEvents():
            return judge(state, command, actor, standings=standings, history=history).events
        case EraseSurvivorData():
            raise RuleBroken("PersonalDataErased is recorded on the survivor's case.")


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
    missing_persons_named_once(command.event)
    return [command.event]


@dataclass(frozen=True, slots=True)
class Judged:
    """A batch the rules accept, the state it leaves the operation in once recorded at the
    versions after the judged state's, and the survivor registrations it takes."""

    events: list[ProposedEvent]
    state: Operation
    registrations: list[Registration] = field(default_factory=list)


def needs_history(events: Iterable[ProposedEvent]) -> bool:
    """Whether judging these events needs the stream's stored events (a correction does)."""
    return any(event.type == EventType.EVENT_CORRECTED for event in events)


def survivors_to_register(events: Iterable[ProposedEvent]) -> set[UUID]:
    """The survivors a batch registers, or whose registration it corrects with personal data:
    those whose standing the shell must load for `judge`."""
    named: set[UUID] = set()
    for event in events:
        if isinstance(event.data, RescueExecuted | SurvivorRecovered):
            named.update(survivor.survivor_id for survivor in event.data.survivors)
        elif isinstance(event.data, EventCorrected):
            named.update(_personal_named(event.data))
    return named


def judge(
    state: Operation | None,
    command: RecordEvents,
    actor: Actor,
    *,
    standings: Standings | None = None,
    history: Sequence[DomainEvent] = (),
) -> Judged:
    """`decide` for a batch, with the state it leads to, so the shell need not fold it again."""
    if state is None:
        raise NotFound(f"Operation {command.operation_id} does not exist.")
    if state.operation_id != command.operation_id:
        raise ValueError(f"state of {state.operation_id} given for {command.operation_id}")
    if not command.events:
        raise RuleBroken("A batch records at least one event.")
    repeated = first_repeated(event.event_id for event in command.events)
    if repeated:
        raise RuleBroken(f"A batch names each event id once; {repeated} comes twice.")
    check_assigned(state, actor, break_glass=command.break_glass)
    known = standings or {}
    recorded: list[DomainEvent] = list(history)
    registrations: list[Registration] = []
    for event in command.events:
        if event.type not in KIND_EVENT_TYPES[StreamKind.OPERATION]:
            raise RuleBroken(
                f"{event.type} is not recorded on an operation; it belongs on a "
                f"{_kind_of(event.type)}.",
            )
        if event.type == EventType.CASE_REPORTED:
            _check_role(state, event, actor)
            raise RuleBroken("CaseReported is allowed only as the first event of an operation.")
        if event.type == EventType.PERSONAL_DATA_ERASED:
            _check_role(state, event, actor)
            raise RuleBroken(
                "PersonalDataErased is recorded only by erasing a survivor's personal data.",
            )
        _check_role(state, event, actor)
        _check_assigner(state, event, actor)
        registrations.extend(registrations_taken(state, event, known))
        domain = event.recorded(state.operation_id, actor, state.version + 1)
        if isinstance(event.data, EventCorrected):
            if len(recorded) < state.version:
                raise ValueError("judging a correction needs the stream's history")
            state = _corrected(state, domain, recorded, known)
        else:
            check_stage(state, event)
            check_payload(state, event, actor, known)
            state = evolve(state, domain)
        recorded.append(domain)
    return Judged(list(command.events), state, registrations)


def _kind_of(event_type: str) -> str:
    kinds = [kind for kind, types in KIND_EVENT_TYPES.items() if event_type in types]
    return " or ".join(kind.value.replace("_", " ") for kind in kinds) or "stream of no kind"


def _check_role(state: Operation, event: ProposedEvent, actor: Actor) -> None:
    if event.type not in RECORDABLE_BY[actor.role]:
        raise Forbidden(f"Role {actor.role} may not record {event.type}.")
    if actor.role is Role.LEGAL and isinstance(event.data, EventCorrected):
        corrected = _corrected_type(state, event.data)
        if not is_legal_event(event.type, corrected):
            raise Forbidden(f"Role legal may correct only legal events, not {corrected}.")


def _check_assigner(state: Operation, event: ProposedEvent, actor: Actor) -> None:
    """Who may change an operation's teams: judged when recorded, like the role matrix (a
    replay for a correction judges rules, not recorders)."""
    if event.type in TEAM_EVENTS and not may_assign(state, actor):
        raise Forbidden(
            f"{event.type} is recorded by an admin or a field token of a team assigned to the "
            f"operation; {actor.name} is not of one."
        )


TEAM_EVENTS = frozenset({EventType.TEAM_ASSIGNED, EventType.TEAM_UNASSIGNED})


def _corrected_type(state: Operation, correction: EventCorrected) -> str:
    corrected = state.event_types.get(correction.corrects_event_id)
    if corrected is None:
        raise RuleBroken(
            f"EventCorrected must name an event of this operation; "
            f"{correction.corrects_event_id} is not one.",
        )
    return corrected


def _corrected(
    state: Operation,
    correction: DomainEvent,
    history: Sequence[DomainEvent],
    standings: Standings,
) -> Operation:
    """The state once `correction` takes effect: every event judged again with its effective
    payload (a correction that would make a later event break a rule is refused)."""
    data = correction.data
    assert isinstance(data, EventCorrected)  # noqa: S101  the caller matched it
    _corrected_type(state, data)  # an event of this operation
    target = next(event for event in history if event.event_id == data.corrects_event_id)
    refuse_invalid_correction(target, data)
    for survivor_id in _personal_named(data):
        if standings.get(survivor_id, NO_STANDING).erased:
            raise RuleBroken(
                f"EventCorrected carries personal data for survivor {survivor_id}, whose "
                f"personal data was erased; correct her record without it.",
            )
    return replay([*history, correction], standings)


def _personal_named(correction: EventCorrected) -> list[UUID]:
    """The survivors whose personal data a correction's survivors list carries."""
    survivors = correction.corrected_data.get("survivors")
    if not isinstance(survivors, list):
        return []
    named = []
    for survivor in survivors:
        if isinstance(survivor, dict) and survivor.get("personal") is not None:
            try:
                named.append(UUID(str(survivor.get("survivor_id"))))
            except ValueError:
                continue
    return named
