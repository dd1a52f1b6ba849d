"""The operation's rules on one event, after its role was checked: the stage it may be recorded
at, and what its payload may say given the state; and the lenient replay a correction is judged
by, which applies the same rules to every later event.
"""

from __future__ import annotations

from collections.abc import Sequence

from coordinator.domain.actors import Actor
from coordinator.domain.corrections import with_corrections
from coordinator.domain.evolve import evolve
from coordinator.domain.rules import AFTER_CLOSING, EMERGENCY, STAGE_RULES
from coordinator.domain.state import DomainEvent, Operation, ProposedEvent
from coordinator.domain.survivor_rules import (
    Standings,
    may_close,
    may_register,
    may_return,
    names_each_once,
    registered_record,
)
from coordinator.errors import RuleBroken
from events.catalogue import (
    CustodyTransferred,
    EventCorrected,
    EventType,
    FamilyReunited,
    OperationClosed,
    RescueApproved,
    RescueExecuted,
    SupportProvided,
    SurvivorRecovered,
    SurvivorReturned,
    TeamAssigned,
    TeamUnassigned,
    TestimonyRecorded,
)


def replay(events: Sequence[DomainEvent], standings: Standings | None = None) -> Operation:
    """Judge a whole stream again with its corrections in effect, and fold it; the last event
    is the correction being judged.

    `RuleBroken` names the first event that the corrected record would no longer allow but the
    record as it stood did allow: an event that was let in past a rule before (an imported
    history records what the sheet cannot show, coordinator/service/importing) is not this
    correction's fault.
    """
    # The record as it stood before the last event (the new correction), earlier corrections in
    # effect: what broke a rule there was let in before, and is not this correction's doing.
    _, let_in = _judged_leniently(events[:-1], standings)
    before = {event.event_id for event, _reason in let_in}
    state, broken = _judged_leniently(events, standings)
    for event, reason in broken:
        if event.event_id not in before:
            raise RuleBroken(
                f"EventCorrected is refused: with it, {event.type} (version {event.version}) "
                f"would break a rule. {reason}",
            )
    return state


def _judged_leniently(
    events: Sequence[DomainEvent], standings: Standings | None
) -> tuple[Operation, list[tuple[DomainEvent, str]]]:
    """The fold of `events` with their corrections in effect, and each event that breaks a
    rule."""
    state: Operation | None = None
    broken: list[tuple[DomainEvent, str]] = []
    for event in with_corrections(events):
        if state is not None and not isinstance(event.data, EventCorrected):
            proposed = ProposedEvent(event.event_id, event.type, event.data, event.occurred_at)
            try:
                check_stage(state, proposed)
                check_payload(state, proposed, event.recorded_by, standings or {})
            except RuleBroken as error:
                broken.append((event, str(error)))
        state = evolve(state, event)
    if state is None:
        raise ValueError("an empty stream cannot be replayed")
    return state, broken


def check_stage(state: Operation, event: ProposedEvent) -> None:
    """Refuse an event the operation's stage does not allow (or any but a few once closed)."""
    if state.closed and event.type not in AFTER_CLOSING:
        raise RuleBroken(
            f"{event.type} cannot be recorded after the operation closed; only legal events, "
            f"reviews, corrections and erasures can (a survivor's later life goes on her case).",
        )
    rule = STAGE_RULES[event.type]
    allowed = rule.allowed
    if isinstance(event.data, RescueExecuted) and event.data.emergency:
        allowed = EMERGENCY
    if state.phase not in allowed:
        raise RuleBroken(
            f"{event.type} is allowed only {rule.when}; the operation is at stage {state.phase}.",
        )


def check_payload(
    state: Operation, event: ProposedEvent, actor: Actor, standings: Standings
) -> None:
    """Refuse an event whose payload the operation's rules do not allow: a planner approving
    her own plan, survivors registered twice or unknown, a return or a closing too early..."""
    match event.data:
        case RescueApproved() if actor.name == state.planned_by:
            raise RuleBroken(
                f"RescueApproved needs an approver other than the planner, {actor.name}.",
            )
        case RescueExecuted(survivors=freed) | SurvivorRecovered(survivors=freed):
            may_register(state, event.type, freed)
        case CustodyTransferred(survivor_ids=ids):
            names_each_once(event.type, ids)
            for survivor_id in ids:
                if registered_record(state, event.type, survivor_id).returned:
                    raise RuleBroken(
                        f"CustodyTransferred needs the survivor not to have returned yet; "
                        f"survivor {survivor_id} has returned.",
                    )
        case SurvivorReturned(survivor_ids=ids, crossing=crossing):
            names_each_once(event.type, ids)
            for survivor_id in ids:
                may_return(state, survivor_id, crossing)
        case FamilyReunited(survivor_id=survivor_id):
            registered_record(state, event.type, survivor_id)
        case SupportProvided(survivor_id=survivor_id):
            if survivor_id is None:
                raise RuleBroken("SupportProvided on an operation names its survivor_id.")
            registered_record(state, event.type, survivor_id)
        case TestimonyRecorded(survivor_id=survivor_id) if survivor_id is not None:
            registered_record(state, event.type, survivor_id)
        case _ if event.type == EventType.RESCUE_REVIEWED and not state.awaiting_review:
            raise RuleBroken("RescueReviewed needs an emergency rescue that awaits review.")
        case OperationClosed(reason=reason):
            may_close(state, reason, standings)
        case TeamAssigned(team=team) | TeamUnassigned(team=team):
            _teams_change(state, event.type, team)
        case _:
            pass


def _teams_change(state: Operation, event_type: str, team: str) -> None:
    if event_type == EventType.TEAM_ASSIGNED and team in state.teams:
        raise RuleBroken(f"TeamAssigned needs a team not assigned yet; {team} is assigned.")
    if event_type == EventType.TEAM_UNASSIGNED and team not in state.teams:
        raise RuleBroken(f"TeamUnassigned needs the team assigned; {team} is not.")
