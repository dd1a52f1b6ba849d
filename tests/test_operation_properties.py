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
    SURVIVOR_MOVES,
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
)
from coordinator.domain.actors import Actor, Role
from coordinator.domain.evolve import PAYLOAD_UNREAD
from coordinator.errors import CoordinatorError
from events.catalogue import EVENT_TYPES, EventData, parse_event

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SHA = "0f" * 32
OPERATION = UUID(int=1)
SURVIVOR_POOL = [UUID(int=100 + n) for n in range(4)]
"""Few ids, so that rescues sometimes name one survivor twice and events name strangers."""
NAMES = ["an", "binh", "dung"]
TYPES = sorted(EVENT_TYPES)
LEGAL = {"TestimonyRecorded", "EvidenceLogged", "ProsecutionUpdated"}
AFTER_CLOSING = LEGAL | {"EventCorrected", "PersonalDataErased"}
ROLES_FOR = {
    "RescueApproved": [Role.LEADERSHIP],
    "PersonalDataErased": [Role.ADMIN],
    **{legal: [Role.FIELD, Role.LEGAL, Role.ADMIN] for legal in [*LEGAL, "EventCorrected"]},
}
"""Who may record a type, to draw fitting actors half of the time (field and admin otherwise)."""


def movable(state: Operation, event_type: str) -> list[UUID]:
    """The survivors whose status lets `event_type` move them (all, for other events)."""
    move = SURVIVOR_MOVES.get(event_type)
    return [
        survivor_id
        for survivor_id, record in state.survivors.items()
        if move is None or record.status in move.allowed
    ]


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
            "age_at_rescue": draw(st.integers(0, 120)),
            "exploitation": draw(st.sampled_from(["sexual", "labour"])),
            "found_in_country": draw(st.sampled_from(["VN", "CN", "MM"])),
        }

    party = {"agency": "police", "country": "CN"}
    outcome = draw(st.sampled_from(["success", "partial", "failed"]))
    makers: dict[str, Any] = {
        "CaseReported": lambda: {"channel": "hotline"},
        "InvestigationOpened": lambda: {"lead_investigator": "Luong"},
        "LeadRecorded": lambda: {"source": "neighbour", "reliability": "C"},
        "LocationConfirmed": lambda: {"country": "CN"},
        "PartnerEngaged": lambda: {"agency": "p", "agency_type": "ngo", "country": "VN"},
        "RescuePlanned": lambda: {"planned_for": "2024-04-01", "risk": "low"},
        "RescueApproved": dict,
        "RescueExecuted": lambda: {
            "outcome": outcome,
            "survivors": []
            if outcome == "failed"
            else [freed() for _ in range(draw(st.integers(1, 3)))],
        },
        "RescueAborted": lambda: {"reason": "moved"},
        "CustodyTransferred": lambda: {
            "survivor_ids": survivors(),
            "from_party": party,
            "to_party": party,
        },
        "SurvivorReturned": lambda: {"survivor_ids": survivors(), "destination": "home"},
        "FamilyReunited": lambda: {"survivor_id": survivor()},
        "SupportProvided": lambda: {"survivor_id": survivor(), "service": "education"},
        "TestimonyRecorded": lambda: {"survivor_id": survivor(), "recorded_by": "x", "sha256": SHA},
        "EvidenceLogged": lambda: {"description": "photo", "sha256": SHA},
        "ProsecutionUpdated": lambda: {"phase": "trial"},
        "StatusNoted": lambda: {"note": "ok"},
        "EventCorrected": lambda: {
            "corrects_event_id": str(draw(st.sampled_from([*state.event_types, UUID(int=9)]))),
            "reason": "typo",
        },
        "PersonalDataErased": lambda: {"survivor_id": survivor(), "reason": "asked"},
        "OperationClosed": lambda: {
            "reason": draw(st.sampled_from(["survivors_independent", "unfounded", "other"])),
        },
    }
    made: dict[str, Any] = makers[event_type]()
    return made


PROGRESS = [
    "InvestigationOpened",
    "RescuePlanned",
    "RescueApproved",
    "RescueExecuted",
    "CustodyTransferred",
    "SurvivorReturned",
    "FamilyReunited",
    "SupportProvided",
]
"""The events that move an operation on, drawn more often so that runs reach aftercare."""


def an_event(data: st.DataObject, state: Operation, number: int) -> ProposedEvent:
    """A random event: of any type, of a type the stage allows, or one that moves it on."""
    draw = data.draw
    fitting = [each for each in TYPES if state.stage in STAGE_RULES[each].allowed]
    onwards = [
        each
        for each in PROGRESS
        if each in fitting
        and (each != "RescuePlanned" or state.stage is Stage.INVESTIGATING)
        and (each not in SURVIVOR_MOVES or movable(state, each))
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

    def of(self, event_type: str) -> list[DomainEvent]:
        return [event for event in self.events if event.type == event_type]


def named(event: DomainEvent) -> list[UUID]:
    """The survivor ids an event names."""
    data: EventData = event.data
    ids = getattr(data, "survivor_ids", None) or [getattr(data, "survivor_id", None)]
    return [each for each in ids if each is not None]


def corrected(correction: DomainEvent, events: list[DomainEvent]) -> str | None:
    """The type of the event a correction names, found earlier in the log."""
    target = getattr(correction.data, "corrects_event_id", None)
    earlier = events[: events.index(correction)]
    return next((event.type for event in earlier if event.event_id == target), None)


def check(state: Operation, accepted: Accepted) -> None:
    """Assert every invariant of the operation over its accepted history."""
    events = accepted.events
    assert state.version == len(events)
    assert [event.version for event in events] == list(range(1, len(events) + 1))
    assert [event.type for event in events].count("CaseReported") == 1
    seen: dict[UUID, list[str]] = {}
    planner: str | None = None
    closed_at: int | None = None
    for index, event in enumerate(events):
        role = event.recorded_by.role
        if closed_at is not None:
            assert event.type in AFTER_CLOSING, f"{event.type} after closing"
            assert accepted.stages[index] is Stage.CLOSED
        if event.type == "OperationClosed":
            closed_at = index
        if role is Role.LEADERSHIP:
            assert event.type == "RescueApproved"
        if role is Role.LEGAL:
            assert event.type in LEGAL or corrected(event, events) in LEGAL
        if role is Role.FIELD:
            assert event.type not in {"RescueApproved", "PersonalDataErased"}
        if event.type == "PersonalDataErased":
            assert role is Role.ADMIN
        if event.type == "EventCorrected":
            assert corrected(event, events) is not None, "corrects an event not in the log"
        if event.type == "RescueApproved":
            assert role is Role.LEADERSHIP
            assert planner is not None
            assert event.recorded_by.name != planner, "approved by the planner"
        if event.type == "RescuePlanned":
            planner = event.recorded_by.name
        if event.type == "RescueAborted" or getattr(event.data, "outcome", "") == "failed":
            planner = None
        for survivor_id in named(event):
            history = seen.setdefault(survivor_id, [])
            if event.type == "FamilyReunited":
                assert "SurvivorReturned" in history, "reunited without having returned"
                assert "FamilyReunited" not in history
            if event.type == "SupportProvided":
                assert "SurvivorReturned" in history, "supported before returning"
            if event.type == "SurvivorReturned":
                assert "SurvivorReturned" not in history
                found = state.survivors[survivor_id].found_in_country
                assert found == "VN" or "CustodyTransferred" in history
            history.append(event.type)
    rescues = [
        e for e in accepted.of("RescueExecuted") if getattr(e.data, "outcome", "") != "failed"
    ]
    assert len(rescues) <= 1
    assert sum(len(getattr(e.data, "survivors", ())) for e in rescues) == len(state.survivors)
    if not state.closed and state.survivors:
        furthest = max(Stage(record.status).rank for record in state.survivors.values())
        assert state.stage.rank >= furthest
    for record in state.survivors.values():
        if record.status is SurvivorStatus.REUNITED:
            assert "SurvivorReturned" in seen[record.survivor_id]


def replay(events: list[DomainEvent]) -> Operation | None:
    """The state rebuilt from the log alone, as the HTTP layer loads it."""
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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_commands_never_reach_a_forbidden_state(data: st.DataObject) -> None:
    """Folding only what decide accepts keeps every invariant, whoever sends whatever."""
    case = ProposedEvent(UUID(int=2), "CaseReported", OPENING, T0)
    command: Command = OpenOperation(OPERATION, case)
    actor = Actor("an", Role.FIELD)
    state: Operation | None = None
    accepted = Accepted()
    for step in range(data.draw(st.integers(5, 60))):
        if state is not None:
            command, actor = a_command(data, state, step)
        try:
            events = decide(state, command, actor)
        except CoordinatorError:
            continue
        for proposed in events:
            version = state.version + 1 if state else 1
            recorded = DomainEvent(
                OPERATION,
                proposed.event_id,
                proposed.type,
                proposed.data,
                proposed.occurred_at,
                actor,
                version,
            )
            state = evolve(state, recorded)
            accepted.events.append(recorded)
            accepted.stages.append(state.stage)
        assert state is not None
        check(state, accepted)
    assert state is not None
    assert replay(accepted.events) == state, "folding the log again gives another state"
    unread = [
        replace(event, data=EVENT_TYPES[event.type].model_construct())
        if event.type in PAYLOAD_UNREAD
        else event
        for event in accepted.events
    ]
    assert replay(unread) == state, "evolve reads a payload that PAYLOAD_UNREAD says it does not"
    tally(f"final stage: {state.stage}")
    furthest = max((record.status for record in state.survivors.values()), default="none")
    tally(f"furthest survivor: {furthest}")
