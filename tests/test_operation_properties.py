"""Properties of the rules: random commands by random actors never lead to a forbidden state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st

from coordinator.domain import (
    STAGE_RULES,
    Command,
    DomainEvent,
    EraseSurvivorData,
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    Stage,
    SurvivorStatus,
    decide,
    evolve,
    fold_operation,
    judge,
)
from coordinator.domain.actors import Actor, Role
from coordinator.domain.evolve import PAYLOAD_UNREAD
from coordinator.domain.state import STAGE_OF_STATUS
from coordinator.errors import CoordinatorError
from events.catalogue import EVENT_TYPES, KIND_EVENT_TYPES, EventData, StreamKind, parse_event

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SHA = "0f" * 32
OPERATION = UUID(int=1)
SURVIVOR_POOL = [UUID(int=100 + n) for n in range(4)]
"""Few ids, so that rescues sometimes name one survivor twice and events name strangers."""
NAMES = ["an", "binh", "dung"]
FOREIGN = "ContactLost"
"""An event type of a survivor's case, drawn now and then: an operation always refuses it."""
TYPES = sorted(KIND_EVENT_TYPES[StreamKind.OPERATION] | {FOREIGN})
LEGAL = {"TestimonyRecorded", "EvidenceLogged", "ProsecutionUpdated"}
AFTER_CLOSING = LEGAL | {
    "EventCorrected",
    "PersonalDataErased",
    "RescueReviewed",
    "AlertAcknowledged",
    "TeamAssigned",
    "TeamUnassigned",
}
NEW_ATTEMPT_ONLY = {
    "InvestigationOpened",
    "LeadRecorded",
    "LocationConfirmed",
    "RescuePlanned",
    "RescueApproved",
    "RescueExecuted",
    "RescueAborted",
}
"""What no longer happens after a successful rescue."""
ROLES_FOR = {
    "RescueApproved": [Role.LEADERSHIP],
    "RescueReviewed": [Role.LEADERSHIP],
    "AlertAcknowledged": [Role.LEADERSHIP, Role.ADMIN],
    "PersonalDataErased": [Role.ADMIN],
    **{legal: [Role.FIELD, Role.LEGAL, Role.ADMIN] for legal in [*LEGAL, "EventCorrected"]},
}
"""Who may record a type, to draw fitting actors half of the time (field and admin otherwise)."""


def movable(state: Operation, event_type: str) -> list[UUID]:
    """The survivors `event_type` may name in `state` (v2: survivors move by their journey;
    reunion, care and testimony name any registered survivor)."""
    records = state.survivors.values()
    if event_type in {"CustodyTransferred", "SurvivorReturned"}:
        return [record.survivor_id for record in records if not record.returned]
    return [record.survivor_id for record in records]


def payload_data(data: st.DataObject, event_type: str, state: Operation) -> dict[str, Any]:
    """Random but well-formed data of `event_type`, naming survivors and events of `state`."""
    draw = data.draw
    known = [*state.survivors, *SURVIVOR_POOL[:1]]
    ready = movable(state, event_type) or known

    def survivor() -> str:
        return str(draw(st.sampled_from(draw(st.sampled_from([known, ready, ready])))))

    def survivors() -> list[str]:
        return [survivor() for _ in range(draw(st.integers(1, 2)))]

    def freed() -> dict[str, Any]:
        return {
            "survivor_id": str(draw(st.sampled_from(SURVIVOR_POOL))),
            "gender": draw(st.sampled_from(["female", "male"])),
            "age_at_rescue": draw(st.none() | st.integers(0, 120)),
            "exploitation": draw(st.sampled_from(["sexual", "labour"])),
            "found_in_country": draw(st.sampled_from(["VN", "CN", "MM"])),
        }

    def crossing() -> dict[str, Any]:
        chosen = draw(st.sampled_from([None, None, "handoff", "with_staff", "domestic", "on_own"]))
        return {} if chosen is None else {"crossing": chosen}

    party = {"agency": "police", "country": "CN"}
    outcome = draw(st.sampled_from(["success", "partial", "failed"]))
    emergency = draw(st.booleans())
    makers: dict[str, Any] = {
        "CaseReported": lambda: {"channel": "hotline"},
        "InvestigationOpened": lambda: {"lead_investigator": "Luong"},
        "LeadRecorded": lambda: {"source": "neighbour", "reliability": "C"},
        "LocationConfirmed": lambda: {"country": "CN"},
        "PartnerEngaged": lambda: {"agency": "p", "agency_type": "womens_union", "country": "VN"},
        "RescuePlanned": lambda: {"planned_for": "2024-04-01", "risk": "low"},
        "RescueApproved": dict,
        "RescueExecuted": lambda: {
            "outcome": outcome,
            "survivors": []
            if outcome == "failed"
            else [freed() for _ in range(draw(st.integers(1, 3)))],
            "emergency": emergency,
            **({"emergency_reason": "a call for help"} if emergency else {}),
        },
        "RescueAborted": lambda: {"reason": "moved"},
        "RescueReviewed": lambda: {"decision": draw(st.sampled_from(["endorsed", "concerns"]))},
        "SurvivorRecovered": lambda: {
            "how": draw(st.sampled_from(["escaped", "deported", "self_presented"])),
            "survivors": [freed() for _ in range(draw(st.integers(1, 2)))],
        },
        "CustodyTransferred": lambda: {
            "survivor_ids": survivors(),
            "from_party": party,
            "to_party": party,
        },
        "SurvivorReturned": lambda: {
            "survivor_ids": survivors(),
            "destination": draw(st.sampled_from(["home", "shelter"])),
            **crossing(),
        },
        "FamilyReunited": lambda: {"survivor_id": survivor()},
        "SupportProvided": lambda: {"survivor_id": survivor(), "service": "education"},
        "TestimonyRecorded": lambda: {"survivor_id": survivor(), "recorded_by": "x", "sha256": SHA},
        "EvidenceLogged": lambda: {"description": "photo", "sha256": SHA},
        "ProsecutionUpdated": lambda: {"phase": "trial"},
        "StatusNoted": lambda: {"note": "ok"},
        "EventCorrected": lambda: {
            "corrects_event_id": str(draw(st.sampled_from([*state.event_types, UUID(int=9)]))),
            "reason": "typo",
            # `note` is a field or an allowed extra of every operation payload, and no fold
            # reads it: the correction takes effect without changing the state.
            "corrected_data": draw(st.sampled_from([{}, {"note": "corrected"}])),
        },
        "PersonalDataErased": lambda: {"survivor_id": survivor(), "reason": "asked"},
        "OperationClosed": lambda: {
            "reason": draw(
                st.sampled_from(
                    ["survivors_independent", "unfounded", "handed_to_aftercare", "other"]
                )
            ),
        },
        "AlertAcknowledged": lambda: {"alert_id": str(UUID(int=16))},
        "TeamAssigned": lambda: {"team": draw(st.sampled_from(["Lao Cai", "Ha Giang"]))},
        "TeamUnassigned": lambda: {"team": draw(st.sampled_from(["Lao Cai", "Ha Giang"]))},
        FOREIGN: dict,
    }
    made: dict[str, Any] = makers[event_type]()
    return made


PROGRESS = [
    "InvestigationOpened",
    "RescuePlanned",
    "RescueApproved",
    "RescueExecuted",
    "SurvivorRecovered",
    "RescueReviewed",
    "CustodyTransferred",
    "SurvivorReturned",
    "FamilyReunited",
    "SupportProvided",
]
"""The events that move an operation on, drawn more often so that runs reach aftercare."""


def an_event(data: st.DataObject, state: Operation, number: int) -> ProposedEvent:
    """A random event: of any type, of a type the phase allows, or one that moves it on."""
    draw = data.draw
    fitting = [
        each for each in TYPES if each in STAGE_RULES and state.phase in STAGE_RULES[each].allowed
    ]
    emergency_possible = state.phase in {Stage.INVESTIGATING, Stage.PLANNING}
    onwards = [
        each
        for each in PROGRESS
        if (each in fitting or (each == "RescueExecuted" and emergency_possible))
        and (each != "RescuePlanned" or state.phase is Stage.INVESTIGATING)
        and (each != "RescueReviewed" or state.awaiting_review)
        and (each not in {"CustodyTransferred", "SurvivorReturned"} or movable(state, each))
    ] or fitting
    event_type = draw(st.sampled_from(draw(st.sampled_from([TYPES, fitting, onwards, onwards]))))
    fields = payload_data(data, event_type, state)
    parsed = parse_event(event_type, EVENT_TYPES[event_type].schema_version, fields)
    return ProposedEvent(UUID(int=10_000 + number), event_type, parsed, T0)


def an_actor(data: st.DataObject, event_type: str) -> Actor:
    """A random actor; half of the time one whose role may record `event_type`."""
    draw = data.draw
    fitting = ROLES_FOR.get(event_type, [Role.FIELD, Role.ADMIN])
    role = draw(st.sampled_from(draw(st.sampled_from([list(Role), fitting]))))
    return Actor(draw(st.sampled_from(NAMES)), role)


@dataclass
class Accepted:
    """The events accepted so far, with who recorded them, as an independent witness."""

    events: list[DomainEvent] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)


def named(event: DomainEvent) -> list[UUID]:
    """The survivor ids an event names (not those it registers)."""
    data: EventData = event.data
    ids = getattr(data, "survivor_ids", None) or [getattr(data, "survivor_id", None)]
    return [each for each in ids if each is not None]


def freed(event: DomainEvent) -> list[Any]:
    """The survivors an event registers."""
    return list(getattr(event.data, "survivors", ()))


def corrected(correction: DomainEvent, events: list[DomainEvent]) -> str | None:
    """The type of the event a correction names, found earlier in the log."""
    target = getattr(correction.data, "corrects_event_id", None)
    earlier = events[: events.index(correction)]
    return next((event.type for event in earlier if event.event_id == target), None)


@dataclass
class Journey:
    """One survivor's history in the log, kept by the witness."""

    found_in: str
    handed_off: bool = False
    returned: bool = False
    reunited_after_return: bool = False
    supported_after_return: bool = False


def check(state: Operation, accepted: Accepted) -> None:
    """Assert every invariant of the operation over its accepted history."""
    events = accepted.events
    assert state.version == len(events)
    assert [event.version for event in events] == list(range(1, len(events) + 1))
    assert [event.type for event in events].count("CaseReported") == 1
    journeys: dict[UUID, Journey] = {}
    planner: str | None = None
    approved = False
    succeeded = False
    awaiting = False
    closed_at: int | None = None
    for index, event in enumerate(events):
        role, data = event.recorded_by.role, event.data
        assert event.type in KIND_EVENT_TYPES[StreamKind.OPERATION]
        assert event.type != "PersonalDataErased", "v2 erases on her case, never here"
        if closed_at is not None:
            assert event.type in AFTER_CLOSING, f"{event.type} after closing"
            assert accepted.stages[index] is Stage.CLOSED
        if succeeded:
            assert event.type not in NEW_ATTEMPT_ONLY, f"{event.type} after a successful rescue"
        if role is Role.LEADERSHIP:
            assert event.type in {"RescueApproved", "RescueReviewed", "AlertAcknowledged"}
        if event.type in {"RescueApproved", "RescueReviewed"}:
            assert role is Role.LEADERSHIP
        if role is Role.LEGAL:
            assert event.type in LEGAL or corrected(event, events) in LEGAL
        if event.type == "EventCorrected":
            assert corrected(event, events) not in {None, "EventCorrected"}
        if event.type == "RescueApproved":
            assert planner is not None
            assert event.recorded_by.name != planner, "approved by the planner"
            approved = True
        if event.type == "RescuePlanned":
            planner, approved = event.recorded_by.name, False
        if event.type == "RescueReviewed":
            assert awaiting, "a review with no emergency rescue awaiting it"
            awaiting = False
        if event.type == "RescueExecuted":
            emergency = getattr(data, "emergency", False)
            assert approved or emergency, "a rescue without approval that is no emergency"
            awaiting = awaiting or emergency
            succeeded = getattr(data, "outcome", "") == "success"
            planner, approved = None, False
        if event.type == "RescueAborted":
            planner, approved = None, False
        if event.type == "OperationClosed":
            closed_at = index
            reason = getattr(data, "reason", "")
            if reason == "unfounded":
                assert not journeys
            if reason in {"survivors_independent", "handed_to_aftercare"}:
                assert journeys, f"closed as {reason} without survivors"
                assert all(journey.returned for journey in journeys.values())
        for survivor_id in named(event):
            if event.type == "TestimonyRecorded" or event.type in PROGRESS:
                assert survivor_id in journeys, f"{event.type} names an unregistered survivor"
            journey = journeys[survivor_id]
            if event.type == "CustodyTransferred":
                assert not journey.returned
                journey.handed_off = True
            if event.type == "SurvivorReturned":
                assert not journey.returned, "returned twice"
                crossing = getattr(data, "crossing", None)
                abroad = journey.found_in != "VN"
                if crossing is None:
                    assert journey.handed_off or not abroad
                elif crossing == "handoff":
                    assert journey.handed_off
                elif crossing == "domestic":
                    assert not abroad
                else:
                    assert abroad
                journey.returned = True
            if event.type == "FamilyReunited" and journey.returned:
                journey.reunited_after_return = True
            if event.type == "SupportProvided" and journey.returned:
                journey.supported_after_return = True
        for survivor in freed(event):
            assert survivor.survivor_id not in journeys, "registered twice by one operation"
            journeys[survivor.survivor_id] = Journey(survivor.found_in_country)
    assert set(state.survivors) == set(journeys)
    assert state.awaiting_review is awaiting
    for survivor_id, record in state.survivors.items():
        journey = journeys[survivor_id]
        expected = {
            SurvivorStatus.ABROAD: not journey.returned
            and not journey.handed_off
            and journey.found_in != "VN",
            SurvivorStatus.IN_TRANSIT: not journey.returned
            and (journey.handed_off or journey.found_in == "VN"),
            SurvivorStatus.IN_AFTERCARE: journey.supported_after_return,
            SurvivorStatus.REUNITED: journey.reunited_after_return
            and not journey.supported_after_return,
        }
        for status, holds in expected.items():
            assert (record.status is status) == holds, (status, record, journey)
        if record.status in {SurvivorStatus.HOME, SurvivorStatus.IN_SHELTER}:
            assert journey.returned
    if state.closed:
        assert state.stage is Stage.CLOSED
    elif state.survivors:
        least = min(STAGE_OF_STATUS[record.status].rank for record in state.survivors.values())
        assert state.stage.rank == least
    else:
        assert state.stage is state.phase


def replay(events: list[DomainEvent]) -> Operation | None:
    """The state rebuilt from the log alone by plain `evolve` (no correction changes a folded
    field here, see `payload_data`)."""
    state: Operation | None = None
    for recorded in events:
        state = evolve(state, recorded)
    return state


def a_command(data: st.DataObject, state: Operation, step: int) -> tuple[Command, Actor]:
    """A random command and who sends it: mostly batches, sometimes erasure or a second opening."""
    draw = data.draw
    kind = draw(st.sampled_from(["batch"] * 8 + ["erase", "open"]))
    if kind == "open":
        case = ProposedEvent(UUID(int=30_000 + step), "CaseReported", OPENING, T0)
        return OpenOperation(OPERATION, case), an_actor(data, "CaseReported")
    if kind == "erase":
        survivor = draw(st.sampled_from([*state.survivors, *SURVIVOR_POOL[:1]]))
        command = EraseSurvivorData(survivor, "asked", UUID(int=20_000 + step), T0)
        return command, an_actor(data, "PersonalDataErased")
    size = draw(st.sampled_from([1, 1, 2, 3]))
    batch = [an_event(data, state, step * 10 + n) for n in range(size)]
    return RecordEvents(OPERATION, batch), an_actor(data, batch[0].type)


OPENING = parse_event("CaseReported", 1, {"channel": "family"})


def accepted_by(
    state: Operation | None, command: Command, actor: Actor, history: list[DomainEvent]
) -> tuple[list[ProposedEvent], Operation | None]:
    """What the rules accept of `command`, and the state `judge` says it leads to (None when
    only `decide` answers)."""
    if isinstance(command, RecordEvents) and state is not None:
        judged = judge(state, command, actor, history=history)
        return judged.events, judged.state
    return decide(state, command, actor, history=history), None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_commands_never_reach_a_forbidden_state(data: st.DataObject) -> None:
    """Folding only what the rules accept keeps every invariant, whoever sends whatever; the
    state `judge` returns is the fold of the log, however it is folded."""
    case = ProposedEvent(UUID(int=2), "CaseReported", OPENING, T0)
    command: Command = OpenOperation(OPERATION, case)
    actor = Actor("an", Role.FIELD)
    state: Operation | None = None
    accepted = Accepted()
    for step in range(data.draw(st.integers(5, 60))):
        if state is not None:
            command, actor = a_command(data, state, step)
        try:
            events, judged = accepted_by(state, command, actor, accepted.events)
        except CoordinatorError:
            continue
        assert not isinstance(command, EraseSurvivorData), "v2 erases on her case"
        for proposed in events:
            version = state.version + 1 if state else 1
            recorded = proposed.recorded(OPERATION, actor, version)
            state = evolve(state, recorded)
            accepted.events.append(recorded)
            accepted.stages.append(state.stage)
        assert state is not None
        if judged is not None:
            assert judged == state, "judge's state is not the fold of what it accepted"
        check(state, accepted)
    assert state is not None
    assert replay(accepted.events) == state, "folding the log again gives another state"
    assert fold_operation(accepted.events) == state, "folding with corrections differs"
    unread = [
        replace(event, data=EVENT_TYPES[event.type].model_construct())
        if event.type in PAYLOAD_UNREAD
        else event
        for event in accepted.events
    ]
    assert replay(unread) == state, "evolve reads a payload that PAYLOAD_UNREAD says it does not"
    tally(f"final stage: {state.stage}")
    tally(f"final phase: {state.phase}")
    for status in {record.status for record in state.survivors.values()}:
        tally(f"some survivor ends {status}")
    tally(f"events: {len(accepted.events) // 10 * 10}+")
