"""The rescue operation's rules, table by table: stages, survivors, roles, batches, erasure.

Domain v2 notes: the rules judge by the attempt's phase (`Operation.phase`); `Operation.stage` is
what the board shows (the least advanced survivor's stage). The tables below still take the
board stages as the states to try, built with one survivor found in China.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from coordinator.domain import (
    AFTER_CLOSING,
    RECORDABLE_BY,
    Command,
    DomainEvent,
    EraseSurvivorData,
    NotAnOperationStream,
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
from coordinator.domain.case import fold_case
from coordinator.domain.case_rules import erase
from coordinator.domain.need_to_know import NotAssigned
from coordinator.errors import Forbidden, InvalidInput, NotFound, RuleBroken
from events.catalogue import (
    EVENT_TYPES,
    KIND_EVENT_TYPES,
    EventData,
    PersonalDataErased,
    StreamKind,
    parse_event,
)

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SHA = "0f" * 32

FIELD = Actor("an", Role.FIELD)
PLANNER = Actor("binh", Role.FIELD)
LEGAL = Actor("chi", Role.LEGAL)
LEADER = Actor("dung", Role.LEADERSHIP)
ADMIN = Actor("em", Role.ADMIN)
ACTOR_OF = {role: Actor(f"someone-{role}", role) for role in Role}


def payload(event_type: str, **data: Any) -> EventData:
    """A payload of `event_type` validated as a client's would be."""
    return parse_event(event_type, EVENT_TYPES[event_type].schema_version, data)


def proposed(event_type: str, **data: Any) -> ProposedEvent:
    """A proposed event with a fresh id."""
    return ProposedEvent.of(payload(event_type, **data), occurred_at=T0)


def a_survivor(found_in: str = "CN", **overrides: Any) -> dict[str, Any]:
    """A survivor as the field team registers them."""
    return {
        "survivor_id": str(uuid4()),
        "gender": "female",
        "age_at_rescue": 17,
        "exploitation": "sexual",
        "form": "forced_marriage",
        "found_in_country": found_in,
        "personal": {"name": "Hien"},
    } | overrides


_HISTORIES: dict[int, tuple[Operation, tuple[DomainEvent, ...]]] = {}
"""Each state these helpers made, by identity, with the events that led to it (a correction is
judged against the stream's history). The state is kept with them, so its id stays its own."""


def history_of(state: Operation) -> tuple[DomainEvent, ...]:
    """The stored events that led to `state`."""
    kept, events = _HISTORIES[id(state)]
    assert kept is state
    return events


def _kept(state: Operation, events: tuple[DomainEvent, ...]) -> Operation:
    _HISTORIES[id(state)] = (state, events)
    return state


def apply(state: Operation | None, command: Command, actor: Actor) -> Operation:
    """Decide `command` and fold what it records into `state`, as the handler does."""
    operation_id = state.operation_id if state else getattr(command, "operation_id", uuid4())
    history = history_of(state) if state else ()
    if isinstance(command, RecordEvents):
        assert state is not None
        judged = judge(state, command, actor, history=history)
        events, after = judged.events, judged.state
    else:
        events, after = decide(state, command, actor), None
    for event in events:
        history = (*history, event.recorded(operation_id, actor, len(history) + 1))
        state = evolve(state, history[-1]) if after is None else after
    assert state is not None
    return _kept(state, history)


def record(state: Operation, *events: ProposedEvent, actor: Actor = FIELD) -> Operation:
    """`state` after `actor` records `events` as one batch."""
    return apply(state, RecordEvents(state.operation_id, list(events)), actor)


def refusal(state: Operation | None, *events: ProposedEvent, actor: Actor = FIELD) -> str:
    """The sentence with which recording `events` on `state` is refused as a broken rule."""
    operation_id = state.operation_id if state else uuid4()
    with pytest.raises(RuleBroken) as refused:
        decide(
            state,
            RecordEvents(operation_id, list(events)),
            actor,
            history=history_of(state) if state else (),
        )
    return str(refused.value)


def a_case(country: str = "CN") -> Operation:
    """A newly reported case."""
    case = proposed("CaseReported", channel="family", suspected_country=country)
    return apply(None, OpenOperation(uuid4(), case), FIELD)


def investigating() -> Operation:
    """A case under investigation."""
    return record(a_case(), proposed("InvestigationOpened", lead_investigator="Luong"))


def planned() -> Operation:
    """An operation with a rescue planned by PLANNER."""
    plan = proposed("RescuePlanned", planned_for="2024-04-01", risk="high", team=["Luong"])
    return record(investigating(), plan, actor=PLANNER)


def approved() -> Operation:
    """An operation whose rescue leadership approved."""
    return record(planned(), proposed("RescueApproved", note="go"), actor=LEADER)


def a_rescue(survivors: int = 2, found_in: str = "CN") -> tuple[Operation, list[UUID]]:
    """An operation right after a rescue freeing `survivors` people, and their ids."""
    freed = [a_survivor(found_in) for _ in range(survivors)]
    state = record(approved(), proposed("RescueExecuted", outcome="success", survivors=freed))
    return state, [UUID(survivor["survivor_id"]) for survivor in freed]


def transferred(ids: list[UUID]) -> ProposedEvent:
    """A cross-border handoff of the survivors `ids`."""
    party = {"agency": "Border guard", "country": "CN"}
    return proposed(
        "CustodyTransferred",
        survivor_ids=[str(each) for each in ids],
        from_party=party,
        to_party={"agency": "Police", "country": "VN"},
    )


def returned(ids: list[UUID], destination: str = "home") -> ProposedEvent:
    """The survivors `ids` arriving home."""
    return proposed(
        "SurvivorReturned",
        survivor_ids=[str(each) for each in ids],
        destination=destination,
    )


def reunited(survivor_id: UUID) -> ProposedEvent:
    """A survivor's reunion with their family."""
    return proposed("FamilyReunited", survivor_id=str(survivor_id), family_present=["mother"])


def supported(survivor_id: UUID, service: str = "counselling") -> ProposedEvent:
    """A follow-up service for a survivor."""
    return proposed("SupportProvided", survivor_id=str(survivor_id), service=service)


def closed(reason: str = "transferred") -> ProposedEvent:
    """Closing the operation."""
    return proposed("OperationClosed", reason=reason)


def at_stage(stage: Stage) -> tuple[Operation, UUID | None]:
    """An operation at `stage` with one survivor found in China once rescued, and their id."""
    builders = {
        Stage.REPORTED: a_case,
        Stage.INVESTIGATING: investigating,
        Stage.PLANNING: planned,
        Stage.APPROVED: approved,
    }
    if stage in builders:
        return builders[stage](), None
    state, (survivor,) = a_rescue(survivors=1)
    steps = [
        (Stage.IN_TRANSIT, transferred([survivor])),
        (Stage.RETURNED, returned([survivor])),
        (Stage.REUNITED, reunited(survivor)),
        (Stage.AFTERCARE, supported(survivor)),
        (Stage.CLOSED, closed("survivors_independent")),
    ]
    for reached, step in steps:
        if state.stage is stage:
            break
        state = record(state, step)
        assert state.stage is reached
    return state, survivor


# --- The stage table --------------------------------------------------------------------------

ALL = " ".join(Stage)
OPEN = " ".join(stage for stage in Stage if stage is not Stage.CLOSED)
BEFORE_RESCUE = "reported investigating planning approved"
AFTER_RESCUE = "rescued in_transit returned reunited aftercare"

ALLOWED_IN: dict[str, str] = {
    "InvestigationOpened": "reported",
    "LeadRecorded": BEFORE_RESCUE,
    "LocationConfirmed": BEFORE_RESCUE,
    "PartnerEngaged": OPEN,
    "RescuePlanned": "investigating planning approved",
    "RescueApproved": "planning",
    "RescueExecuted": "approved",
    "RescueAborted": "approved",
    "SurvivorRecovered": OPEN,  # v2: a recovery registers survivors in any open stage
    "EvidenceLogged": ALL,
    "ProsecutionUpdated": ALL,
    "StatusNoted": OPEN,
    "EventCorrected": ALL,
    "OperationClosed": OPEN,
    "AlertAcknowledged": ALL,
    "TeamAssigned": ALL,
}
"""The stages each event that names no survivor is allowed in."""

MOVES_TO: dict[str, str | None] = {
    "InvestigationOpened": "investigating",
    "RescuePlanned": "planning",
    "RescueApproved": "approved",
    "RescueExecuted": "rescued",
    "RescueAborted": "investigating",
    "SurvivorRecovered": "rescued",  # v2: the board shows her, found abroad, as rescued
    "OperationClosed": "closed",
}
"""The stage each event moves the operation to; the others leave it where it is."""


def an_event(event_type: str, state: Operation) -> ProposedEvent:
    """A valid event of `event_type` that names no survivor of `state`."""
    first_event = next(iter(state.event_types))
    data: dict[str, dict[str, Any]] = {
        "InvestigationOpened": {"lead_investigator": "Luong"},
        "LeadRecorded": {"source": "neighbour", "reliability": "B", "summary": "seen in Hekou"},
        "LocationConfirmed": {"country": "CN", "place": "Hekou", "venue": "brothel"},
        "PartnerEngaged": {"agency": "Hekou police", "agency_type": "police", "country": "CN"},
        "RescuePlanned": {"planned_for": "2024-04-01T05:00:00+07:00", "risk": "medium"},
        "RescueApproved": {},
        "RescueExecuted": {"outcome": "success", "survivors": [a_survivor()]},
        "RescueAborted": {"reason": "the venue moved"},
        "SurvivorRecovered": {"how": "escaped", "survivors": [a_survivor()]},
        "EvidenceLogged": {"description": "chat log", "sha256": SHA, "custodian": "Luong"},
        "ProsecutionUpdated": {"phase": "arrest", "court": "Lao Cai"},
        "StatusNoted": {"note": "crossing at dawn"},
        "EventCorrected": {"corrects_event_id": str(first_event), "reason": "typo"},
        "OperationClosed": {"reason": "transferred"},
        "AlertAcknowledged": {"alert_id": str(UUID(int=16)), "note": "seen"},
        "TeamAssigned": {"team": "Lao Cai"},
    }
    return proposed(event_type, **data[event_type])


def recorder_of(event_type: str) -> Actor:
    """Someone whose role may record `event_type` and who did not plan the rescue."""
    if event_type == "TeamAssigned":
        return ADMIN  # a field token may only if its team is assigned (need-to-know)
    return LEADER if event_type in {"RescueApproved", "AlertAcknowledged"} else FIELD


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("event_type", list(ALLOWED_IN))
def test_stage_table(event_type: str, stage: Stage) -> None:
    """Each event is accepted exactly in the stages of the table, refused with a sentence else."""
    state, _ = at_stage(stage)
    event = an_event(event_type, state)
    actor = recorder_of(event_type)
    if stage in ALLOWED_IN[event_type].split():
        after = record(state, event, actor=actor)
        assert after.stage == (MOVES_TO.get(event_type) or stage)
        assert after.version == state.version + 1
    else:
        sentence = refusal(state, event, actor=actor)
        assert sentence.startswith(event_type)
        assert sentence.endswith(".")


SURVIVOR_EVENT_ALLOWED_IN: dict[str, str] = {
    "CustodyTransferred": "rescued in_transit",
    "SurvivorReturned": "in_transit",
    # v2: a reunion (at the border gate) and care are recorded once she is registered, also
    # before her return; they move her only after it.
    "FamilyReunited": AFTER_RESCUE,
    "SupportProvided": AFTER_RESCUE,
    "TestimonyRecorded": f"{AFTER_RESCUE} closed",
}
"""Where an event naming the operation's one survivor (found in China, returning without a
`crossing`, so by the recorded handoff) is accepted."""


def naming(event_type: str, survivor_id: UUID) -> ProposedEvent:
    """An event of `event_type` naming the survivor."""
    makers = {
        "CustodyTransferred": lambda: transferred([survivor_id]),
        "SurvivorReturned": lambda: returned([survivor_id]),
        "FamilyReunited": lambda: reunited(survivor_id),
        "SupportProvided": lambda: supported(survivor_id),
        "TestimonyRecorded": lambda: proposed(
            "TestimonyRecorded",
            survivor_id=str(survivor_id),
            recorded_by="Luong",
            sha256=SHA,
        ),
    }
    return makers[event_type]()


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("event_type", list(SURVIVOR_EVENT_ALLOWED_IN))
def test_survivor_event_table(event_type: str, stage: Stage) -> None:
    """Survivor events are accepted only where the survivor's journey allows them."""
    state, survivor = at_stage(stage)
    event = naming(event_type, survivor or uuid4())
    if stage in SURVIVOR_EVENT_ALLOWED_IN[event_type].split():
        after = record(state, event)
        assert after.version == state.version + 1
    else:
        assert refusal(state, event).startswith(event_type)


def test_stages_after_closing_are_legal_reviews_corrections_and_erasures() -> None:
    """Only legal events, reviews (v2), corrections and erasures may follow OperationClosed."""
    assert {
        "TestimonyRecorded",
        "EvidenceLogged",
        "ProsecutionUpdated",
        "RescueReviewed",
        "EventCorrected",
        "PersonalDataErased",
        "AlertAcknowledged",
        "TeamAssigned",
        "TeamUnassigned",
    } == AFTER_CLOSING


def test_nothing_but_legal_events_after_closing() -> None:
    """A status note on a closed operation is refused with the closing rule."""
    state = record(a_case(), closed())
    sentence = refusal(state, proposed("StatusNoted", note="late news"))
    assert sentence == (
        "StatusNoted cannot be recorded after the operation closed; only legal events, "
        "reviews, corrections and erasures can (a survivor's later life goes on her case)."
    )


def test_prosecution_continues_after_closing() -> None:
    """A verdict may be recorded after the operation closed, and the stage stays closed."""
    state = record(a_case(), closed())
    after = record(state, proposed("ProsecutionUpdated", phase="verdict"), actor=LEGAL)
    assert after.stage is Stage.CLOSED
    assert after.prosecution_phase == "verdict"


def test_closing_twice_is_refused() -> None:
    """A closed operation cannot be closed again."""
    state = record(a_case(), closed())
    assert refusal(state, closed()).startswith("OperationClosed cannot be recorded after")


# --- Opening ----------------------------------------------------------------------------------


def test_case_reported_opens_an_operation() -> None:
    """OpenOperation with CaseReported starts the operation at reported, version 1."""
    state = a_case(country="CN")
    assert (state.stage, state.version, state.country) == (Stage.REPORTED, 1, "CN")
    assert state.opened_at == state.updated_at == T0


def test_case_reported_only_as_the_first_event() -> None:
    """CaseReported inside a batch on an existing operation is refused."""
    case = proposed("CaseReported", channel="hotline")
    assert refusal(investigating(), case) == (
        "CaseReported is allowed only as the first event of an operation."
    )


def test_opening_an_existing_operation_is_refused() -> None:
    """OpenOperation on an operation that exists is refused."""
    state = a_case()
    case = proposed("CaseReported", channel="hotline")
    with pytest.raises(RuleBroken, match="allowed only as the first event"):
        decide(state, OpenOperation(state.operation_id, case), FIELD)


def test_operation_opens_with_case_reported_only() -> None:
    """OpenOperation with another event type is refused."""
    with pytest.raises(RuleBroken, match="opens with CaseReported, not StatusNoted"):
        decide(None, OpenOperation(uuid4(), proposed("StatusNoted", note="hi")), FIELD)


def test_recording_on_a_missing_operation_is_not_found() -> None:
    """Recording events on an operation that does not exist answers not found."""
    with pytest.raises(NotFound):
        decide(None, RecordEvents(uuid4(), [proposed("StatusNoted", note="hi")]), FIELD)


def test_evolve_refuses_a_stream_not_starting_with_case_reported() -> None:
    """Folding a stream whose first event is not CaseReported is an error, not an operation."""
    event = proposed("StatusNoted", note="hi")
    first = DomainEvent(uuid4(), event.event_id, event.type, event.data, T0, FIELD, 1)
    with pytest.raises(NotAnOperationStream):
        evolve(None, first)


# --- Rescue -----------------------------------------------------------------------------------


def test_rescue_needs_approval_first() -> None:
    """A rescue cannot be executed while it is only planned."""
    rescue = proposed("RescueExecuted", outcome="success", survivors=[a_survivor()])
    sentence = refusal(planned(), rescue)
    assert sentence.startswith("RescueExecuted is allowed only once the rescue is approved")
    assert sentence.endswith("the operation is at stage planning.")


def test_approval_needs_a_plan() -> None:
    """Leadership cannot approve before a rescue is planned."""
    sentence = refusal(investigating(), proposed("RescueApproved"), actor=LEADER)
    assert sentence.startswith("RescueApproved is allowed only once a rescue is planned")


def test_approval_by_the_planner_is_refused() -> None:
    """A leader who planned the rescue cannot approve it too."""
    plan = proposed("RescuePlanned", planned_for="2024-04-01", risk="low")
    state = record(investigating(), plan, actor=Actor("dung", Role.ADMIN))
    sentence = refusal(state, proposed("RescueApproved"), actor=LEADER)
    assert sentence == "RescueApproved needs an approver other than the planner, dung."


def test_approval_by_leadership_not_the_planner_is_accepted() -> None:
    """Leadership approving someone else's plan moves the operation to approved."""
    state = approved()
    assert (state.stage, state.planned_by, state.approved_by) == (Stage.APPROVED, "binh", "dung")


@pytest.mark.parametrize("actor", [FIELD, ADMIN, LEGAL], ids=lambda actor: str(actor.role))
def test_approval_only_by_leadership(actor: Actor) -> None:
    """Field, admin and legal cannot approve a rescue."""
    state = planned()
    with pytest.raises(Forbidden, match=f"Role {actor.role} may not record RescueApproved"):
        decide(state, RecordEvents(state.operation_id, [proposed("RescueApproved")]), actor)


def test_new_plan_needs_new_approval() -> None:
    """Planning again after approval takes the operation back to planning, unapproved."""
    plan = proposed("RescuePlanned", planned_for="2024-05-01", risk="low")
    state = record(approved(), plan)
    assert (state.stage, state.approved, state.planned_by) == (Stage.PLANNING, False, "an")


def test_aborted_rescue_goes_back_to_investigating() -> None:
    """An aborted rescue sends the operation back to investigating, to plan again."""
    state = record(approved(), proposed("RescueAborted", reason="the venue moved"))
    assert (state.stage, state.approved, state.planned_by) == (Stage.INVESTIGATING, False, None)
    replanned = record(state, proposed("RescuePlanned", planned_for="2024-05-01", risk="low"))
    assert replanned.stage is Stage.PLANNING


def test_failed_rescue_goes_back_to_investigating() -> None:
    """A failed rescue frees nobody and sends the operation back to investigating."""
    state = record(approved(), proposed("RescueExecuted", outcome="failed"))
    assert (state.stage, dict(state.survivors), state.unsuccessful_attempts) == (
        Stage.INVESTIGATING,
        {},
        1,
    )


def test_rescue_registers_each_survivor_as_rescued() -> None:
    """A successful rescue registers its survivors with their facts; v2: found abroad, each is
    `abroad` (the board shows rescued)."""
    state, ids = a_rescue(survivors=2)
    assert (state.stage, state.phase) == (Stage.RESCUED, Stage.RESCUED)
    assert [state.survivors[each].status for each in ids] == [SurvivorStatus.ABROAD] * 2
    assert state.survivors[ids[0]].found_in_country == "CN"


def test_rescue_with_duplicate_survivor_ids_is_refused() -> None:
    """A rescue naming the same survivor id twice is refused."""
    twin = a_survivor()
    rescue = proposed("RescueExecuted", outcome="partial", survivors=[twin, twin])
    assert refusal(approved(), rescue) == (
        f"RescueExecuted names each survivor once; {twin['survivor_id']} comes twice."
    )


# --- Survivors --------------------------------------------------------------------------------


def test_family_reunion_before_return_moves_nothing() -> None:
    """v2 (FamilyReunited once she is registered): a reunion at the border gate is recorded and
    leaves her in transit."""
    state, (survivor,) = a_rescue(survivors=1)
    state = record(state, transferred([survivor]), reunited(survivor))
    assert state.survivors[survivor].status is SurvivorStatus.IN_TRANSIT


def test_family_reunion_again_keeps_her_reunited() -> None:
    """v2 no longer limits reunions to one; a second one leaves her reunited."""
    state, (survivor,) = a_rescue(survivors=1, found_in="VN")
    state = record(state, returned([survivor]), reunited(survivor), reunited(survivor))
    assert state.survivors[survivor].status is SurvivorStatus.REUNITED


def test_support_before_return_moves_nothing() -> None:
    """v2 (care before her return leaves her status): support while abroad is recorded and she
    stays abroad."""
    state, (survivor,) = a_rescue(survivors=1)
    state = record(state, supported(survivor))
    assert state.survivors[survivor].status is SurvivorStatus.ABROAD


def test_rescue_in_vietnam_may_skip_transit() -> None:
    """A survivor found in Vietnam may return without a custody transfer (v2: home)."""
    state, (survivor,) = a_rescue(survivors=1, found_in="VN")
    state = record(state, returned([survivor]))
    assert state.survivors[survivor].status is SurvivorStatus.HOME


def test_rescue_abroad_needs_custody_transfer_before_return() -> None:
    """A survivor found in China must be handed over before returning, unless (v2) `crossing`
    says how she crossed."""
    state, (survivor,) = a_rescue(survivors=1, found_in="CN")
    assert refusal(state, returned([survivor])) == (
        f"SurvivorReturned needs a survivor found abroad to come through a CustodyTransferred "
        f"first, or `crossing` to say how she crossed (with_staff, deported, on_own); survivor "
        f"{survivor} was found in CN."
    )


def test_unsafe_family_survivor_goes_from_returned_to_aftercare() -> None:
    """A survivor whose family is unsafe goes from returned to aftercare without reunion."""
    state, (survivor,) = a_rescue(survivors=1, found_in="VN")
    state = record(state, returned([survivor], "shelter"), supported(survivor, "shelter"))
    assert state.survivors[survivor].status is SurvivorStatus.IN_AFTERCARE
    assert state.stage is Stage.AFTERCARE


def test_custody_may_change_hands_twice() -> None:
    """A survivor in transit may be handed over again, and stays in transit."""
    state, ids = a_rescue(survivors=1)
    state = record(state, transferred(ids), transferred(ids))
    assert state.survivors[ids[0]].status is SurvivorStatus.IN_TRANSIT


def test_stage_is_the_least_advanced_survivor_s() -> None:
    """v2 (the board shows the least advanced survivor): one survivor reunited and another still
    in transit put the operation at in_transit."""
    state, (first, second) = a_rescue(survivors=2)
    state = record(state, transferred([first, second]), returned([first]), reunited(first))
    assert state.survivors[second].status is SurvivorStatus.IN_TRANSIT
    assert state.stage is Stage.IN_TRANSIT


@pytest.mark.parametrize("event_type", list(SURVIVOR_EVENT_ALLOWED_IN))
def test_unknown_survivor_is_refused(event_type: str) -> None:
    """An event naming a survivor who is not part of the operation is refused."""
    state, _ = a_rescue(survivors=1, found_in="VN")
    stranger = uuid4()
    assert refusal(state, naming(event_type, stranger)) == (
        f"{event_type} names survivor {stranger}, who is not registered by this operation."
    )


def test_naming_a_survivor_twice_in_one_transfer_is_refused() -> None:
    """A custody transfer naming the same survivor twice is refused."""
    state, (survivor,) = a_rescue(survivors=1)
    sentence = refusal(state, transferred([survivor, survivor]))
    assert sentence == f"CustodyTransferred names each survivor once; {survivor} comes twice."


# --- Closing ----------------------------------------------------------------------------------


def test_unfounded_close_needs_no_survivors() -> None:
    """An operation with survivors cannot be closed as unfounded."""
    state, _ = a_rescue(survivors=1)
    assert refusal(state, closed("unfounded")) == (
        "OperationClosed as unfounded needs an operation with no survivors."
    )


def test_survivors_independent_close_needs_every_survivor_returned() -> None:
    """Closing as survivors_independent waits until no survivor is still on the way home."""
    state, (first, second) = a_rescue(survivors=2, found_in="VN")
    state = record(state, returned([first]))
    assert refusal(state, closed("survivors_independent")) == (
        "OperationClosed as survivors_independent needs every survivor to have returned first."
    )
    assert record(state, returned([second]), closed("survivors_independent")).closed


def test_survivors_independent_close_needs_a_survivor() -> None:
    """An operation without survivors cannot be closed as survivors_independent."""
    assert "at least one survivor" in refusal(a_case(), closed("survivors_independent"))


@pytest.mark.parametrize("stage", [stage for stage in Stage if stage is not Stage.CLOSED])
def test_operation_closes_from_any_open_stage(stage: Stage) -> None:
    """OperationClosed (for another reason) is accepted at every open stage."""
    state, _ = at_stage(stage)
    assert record(state, closed("other")).stage is Stage.CLOSED


# --- Corrections ------------------------------------------------------------------------------


def test_correction_must_name_an_event_of_this_operation() -> None:
    """A correction of an event id the operation does not hold is refused."""
    stranger = uuid4()
    correction = proposed("EventCorrected", corrects_event_id=str(stranger), reason="typo")
    assert refusal(a_case(), correction) == (
        f"EventCorrected must name an event of this operation; {stranger} is not one."
    )


def test_correction_may_name_an_event_earlier_in_the_same_batch() -> None:
    """A batch may record an event and correct it straight away."""
    note = proposed("StatusNoted", note="arrived Hekou")
    correction = proposed("EventCorrected", corrects_event_id=str(note.event_id), reason="typo")
    state = record(a_case(), note, correction)
    assert state.version == 3


def test_legal_may_correct_only_legal_events() -> None:
    """The legal team may correct evidence but not a field note."""
    evidence = proposed("EvidenceLogged", description="photo", sha256=SHA)
    note = proposed("StatusNoted", note="arrived")
    state = record(a_case(), evidence, note)
    fix_evidence = proposed("EventCorrected", corrects_event_id=str(evidence.event_id), reason="x")
    fix_note = proposed("EventCorrected", corrects_event_id=str(note.event_id), reason="x")
    assert record(state, fix_evidence, actor=LEGAL).version == state.version + 1
    with pytest.raises(Forbidden, match="may correct only legal events, not StatusNoted"):
        decide(state, RecordEvents(state.operation_id, [fix_note]), LEGAL)


# --- Batches ----------------------------------------------------------------------------------


def test_batch_sees_its_earlier_events() -> None:
    """A batch may open the investigation and plan the rescue in one go."""
    plan = proposed("RescuePlanned", planned_for="2024-04-01", risk="low")
    state = record(a_case(), proposed("InvestigationOpened", lead_investigator="Luong"), plan)
    assert (state.stage, state.version) == (Stage.PLANNING, 3)


def test_batch_is_refused_whole_when_one_event_breaks_a_rule() -> None:
    """One rule broken anywhere in a batch refuses the whole batch."""
    state = a_case()
    good = proposed("StatusNoted", note="fine")
    bad = proposed("RescueExecuted", outcome="failed")
    with pytest.raises(RuleBroken, match="RescueExecuted is allowed only"):
        decide(state, RecordEvents(state.operation_id, [good, bad]), FIELD)


def test_batch_repeating_an_event_id_is_refused() -> None:
    """A batch naming one event id twice is refused."""
    note = proposed("StatusNoted", note="fine")
    assert refusal(a_case(), note, note) == (
        f"A batch names each event id once; {note.event_id} comes twice."
    )


def test_empty_batch_is_refused() -> None:
    """A batch without events is refused."""
    assert refusal(a_case()) == "A batch records at least one event."


def test_decide_returns_the_batch_unchanged() -> None:
    """The events decide accepts are the proposed ones, in order."""
    state = a_case()
    events = [proposed("StatusNoted", note="one"), proposed("StatusNoted", note="two")]
    assert decide(state, RecordEvents(state.operation_id, events), FIELD) == events


def test_evolve_tracks_version_times_and_event_ids() -> None:
    """Version counts events, updated_at is the latest occurrence, every event id is kept."""
    later = ProposedEvent.of(payload("StatusNoted", note="x"), occurred_at=T0 + timedelta(1))
    earlier = ProposedEvent.of(payload("StatusNoted", note="y"), occurred_at=T0 - timedelta(1))
    state = record(a_case(), later, earlier)
    assert (state.version, state.opened_at, state.updated_at) == (3, T0, T0 + timedelta(1))
    assert {later.event_id, earlier.event_id} < set(state.event_types)


def test_location_confirmed_sets_the_country() -> None:
    """A confirmed location replaces the suspected country."""
    state = record(a_case(country="CN"), proposed("LocationConfirmed", country="MM"))
    assert (state.country, state.country_confirmed) == ("MM", True)


def test_partners_are_listed() -> None:
    """An engaged partner appears in the operation's partners."""
    partner = proposed("PartnerEngaged", agency="Hekou police", agency_type="police", country="CN")
    (engaged,) = record(a_case(), partner).partners
    assert (engaged.agency, engaged.country) == ("Hekou police", "CN")


def test_proposed_event_type_must_match_its_payload() -> None:
    """An event whose type names another payload class cannot be proposed."""
    with pytest.raises(ValueError, match="cannot carry StatusNoted"):
        ProposedEvent(uuid4(), "LeadRecorded", payload("StatusNoted", note="x"), T0)


# --- Erasure ----------------------------------------------------------------------------------
# v2: erasure is recorded on her case (coordinator.domain.case.erase); older records hold it on
# the operation, and the operation's fold still reads it there.


def test_an_older_erasure_on_the_operation_marks_the_survivor_erased() -> None:
    """A PersonalDataErased stored on an operation (before v2) flags that survivor only."""
    state, (survivor, other) = a_rescue(survivors=2)
    older = DomainEvent(
        state.operation_id,
        uuid4(),
        "PersonalDataErased",
        PersonalDataErased(survivor_id=survivor, reason="survivor asked"),
        T0,
        ADMIN,
        state.version + 1,
    )
    folded = fold_operation([*history_of(state), older])
    assert folded is not None
    assert folded.survivors[survivor].personal_erased
    assert not folded.survivors[other].personal_erased


@pytest.mark.parametrize("stage", [Stage.RESCUED, Stage.CLOSED])
def test_erasure_on_an_operation_is_refused(stage: Stage) -> None:
    """v2: EraseSurvivorData on an operation is refused, open or closed; it goes on her case."""
    state, survivor = at_stage(stage)
    assert survivor is not None
    with pytest.raises(RuleBroken, match="PersonalDataErased is recorded on the survivor's case"):
        decide(state, EraseSurvivorData(survivor, "retention period over"), ADMIN)


def test_erasure_needs_a_reason() -> None:
    """An erasure without a reason is invalid input (v2: judged by her case's `erase`)."""
    state, (survivor,) = a_rescue(survivors=1)
    case = fold_case(survivor, list(history_of(state)))
    with pytest.raises(InvalidInput):
        erase(case, EraseSurvivorData(survivor, ""), ADMIN)


def test_erasure_is_not_recorded_as_a_plain_event() -> None:
    """Even admin cannot post PersonalDataErased in a batch; it comes only from erasing."""
    state, (survivor,) = a_rescue(survivors=1)
    erased = proposed("PersonalDataErased", survivor_id=str(survivor), reason="x")
    assert refusal(state, erased, actor=ADMIN) == (
        "PersonalDataErased is recorded only by erasing a survivor's personal data."
    )


# --- The role matrix --------------------------------------------------------------------------

F, L, P, A = Role.FIELD, Role.LEGAL, Role.LEADERSHIP, Role.ADMIN

ROLE_MATRIX: dict[str, set[Role]] = {
    "CaseReported": {F, A},
    "InvestigationOpened": {F, A},
    "LeadRecorded": {F, A},
    "LocationConfirmed": {F, A},
    "PartnerEngaged": {F, A},
    "RescuePlanned": {F, A},
    "RescueApproved": {P},
    "RescueExecuted": {F, A},
    "RescueAborted": {F, A},
    "RescueReviewed": {P},
    "SurvivorRecovered": {F, A},
    "CustodyTransferred": {F, A},
    "SurvivorReturned": {F, A},
    "FamilyReunited": {F, A},
    "SupportProvided": {F, A},
    "TestimonyRecorded": {F, L, A},
    "EvidenceLogged": {F, L, A},
    "ProsecutionUpdated": {F, L, A},
    "StatusNoted": {F, A},
    "EventCorrected": {F, L, A},
    "OperationClosed": {F, A},
    "AlertAcknowledged": {P, A},
    "TeamAssigned": {F, A},
    "TeamUnassigned": {F, A},
}
"""Which roles may record each event type on an operation (EventCorrected here corrects a legal
event). PersonalDataErased is in no batch: v2 erases on her case."""


def test_role_matrix_is_the_v2_recordable_by() -> None:
    """The matrix is RECORDABLE_BY (bar PersonalDataErased, which admin may name but never
    record on an operation), and covers every operation event type."""
    matrix = {
        role: {event_type for event_type, roles in ROLE_MATRIX.items() if role in roles}
        for role in Role
    }
    assert {role: set(types) - {"PersonalDataErased"} for role, types in RECORDABLE_BY.items()} == (
        matrix
    )
    assert set(ROLE_MATRIX) | {"PersonalDataErased"} == KIND_EVENT_TYPES[StreamKind.OPERATION]


def a_command_for(event_type: str) -> tuple[Operation | None, Command]:
    """A state where `event_type` breaks no rule, and the command that records it."""
    if event_type == "CaseReported":
        return None, OpenOperation(uuid4(), proposed("CaseReported", channel="police"))
    if event_type == "RescueReviewed":
        emergency = proposed(
            "RescueExecuted",
            outcome="success",
            survivors=[a_survivor()],
            emergency=True,
            emergency_reason="a child called",
        )
        state = record(investigating(), emergency)
        review = proposed("RescueReviewed", decision="endorsed")
        return state, RecordEvents(state.operation_id, [review])
    if event_type in SURVIVOR_EVENT_ALLOWED_IN:
        stage = Stage(SURVIVOR_EVENT_ALLOWED_IN[event_type].split()[0])
        state, survivor = at_stage(stage)
        assert survivor is not None
        return state, RecordEvents(state.operation_id, [naming(event_type, survivor)])
    if event_type == "EventCorrected":
        evidence = proposed("EvidenceLogged", description="photo", sha256=SHA)
        state = record(a_case(), evidence)
        fix = proposed("EventCorrected", corrects_event_id=str(evidence.event_id), reason="x")
        return state, RecordEvents(state.operation_id, [fix])
    if event_type in {"TeamAssigned", "TeamUnassigned"}:
        case = a_case()
        state = _kept(replace(case, teams=frozenset({"Lao Cai"})), history_of(case))
        team = "Ha Giang" if event_type == "TeamAssigned" else "Lao Cai"
        return state, RecordEvents(state.operation_id, [proposed(event_type, team=team)])
    state, _ = at_stage(Stage(ALLOWED_IN[event_type].split()[0]))
    return state, RecordEvents(state.operation_id, [an_event(event_type, state)])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", list(ROLE_MATRIX))
def test_role_matrix(event_type: str, role: Role) -> None:
    """Each role records exactly the event types of the matrix; others are forbidden (403)."""
    state, command = a_command_for(event_type)
    actor = ACTOR_OF[role]
    if role is Role.FIELD and event_type in {"TeamAssigned", "TeamUnassigned"}:
        actor = replace(actor, team="Lao Cai")  # of the team assigned (need-to-know)
    history = history_of(state) if state else ()
    if role in ROLE_MATRIX[event_type]:
        (event,) = decide(state, command, actor, history=history)
        assert event.type == event_type
    else:
        with pytest.raises(Forbidden, match=f"Role {role} may not"):
            decide(state, command, actor, history=history)


@pytest.mark.parametrize("role", list(Role))
def test_personal_data_erased_is_refused_in_a_batch_for_every_role(role: Role) -> None:
    """Admin's PersonalDataErased in a batch breaks a rule (422); the others may not (403)."""
    state, (survivor,) = a_rescue(survivors=1)
    erased = proposed("PersonalDataErased", survivor_id=str(survivor), reason="x")
    command = RecordEvents(state.operation_id, [erased])
    expected = RuleBroken if role is Role.ADMIN else Forbidden
    with pytest.raises(expected):
        decide(state, command, ACTOR_OF[role], history=history_of(state))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    "event_type",
    sorted(set(EVENT_TYPES) - KIND_EVENT_TYPES[StreamKind.OPERATION]),
)
def test_event_types_of_other_kinds_are_a_broken_rule_for_every_role(
    event_type: str, role: Role
) -> None:
    """v2: a case's or prosecution's event type on an operation is refused with RuleBroken
    (422), whoever posts it, before any role is judged."""
    state = a_case()
    fields: dict[str, dict[str, Any]] = {
        "ConsentRecorded": {"purpose": "media", "recipient": "VTV", "given_by": "survivor"},
        "ConsentWithdrawn": {"purpose": "media", "recipient": "VTV"},
        "SurvivorRetrafficked": {"operation_id": str(uuid4())},
        "ProsecutionOpened": {"case_number": "1", "court": "Lao Cai"},
        "DefendantCharged": {
            "defendant_id": str(uuid4()),
            "role": "buyer",
            "charges": [{"article": "151"}],
        },
        "HearingHeld": {"held_on": "2024-06-01", "kind": "preliminary"},
        "VerdictReached": {"defendant_id": str(uuid4()), "verdict": "dismissed"},
        "AppealFiled": {"defendant_id": str(uuid4()), "by": "prosecution"},
        "ProsecutionClosed": {"reason": "done"},
    }
    event = proposed(event_type, **fields.get(event_type, {}))
    sentence = refusal(state, event, actor=ACTOR_OF[role])
    assert sentence.startswith(f"{event_type} is not recorded on an operation")


# --- Need-to-know: teams ------------------------------------------------------------------------

TEAM_A = Actor("an-lao-cai", Role.FIELD, team="Lao Cai")
TEAM_B = Actor("binh-ha-giang", Role.FIELD, team="Ha Giang")


def reported_by(actor: Actor) -> Operation:
    """An operation whose CaseReported `actor` recorded."""
    return apply(None, OpenOperation(uuid4(), proposed("CaseReported", channel="police")), actor)


def test_the_reporting_team_is_assigned_and_no_other() -> None:
    """A field token's team is assigned by its report; an admin's report assigns none."""
    assert reported_by(TEAM_A).teams == {"Lao Cai"}
    assert reported_by(ADMIN).teams == frozenset()
    assert reported_by(FIELD).teams == frozenset()


def test_a_team_not_assigned_records_only_breaking_the_glass() -> None:
    """Team B's batch on team A's operation is 403 not_assigned, accepted with break_glass."""
    state = reported_by(TEAM_A)
    note = [proposed("StatusNoted", note="passing by")]
    with pytest.raises(NotAssigned):
        decide(state, RecordEvents(state.operation_id, note), TEAM_B)
    glass = RecordEvents(state.operation_id, note, break_glass=True)
    assert [e.type for e in decide(state, glass, TEAM_B)] == ["StatusNoted"]


def test_team_assigned_and_unassigned_change_the_teams() -> None:
    """Team A assigns team B, team B unassigns team A; each folds into `teams`."""
    state = reported_by(TEAM_A)
    assign = RecordEvents(state.operation_id, [proposed("TeamAssigned", team="Ha Giang")])
    state = apply(state, assign, TEAM_A)
    assert state.teams == {"Lao Cai", "Ha Giang"}
    drop = RecordEvents(state.operation_id, [proposed("TeamUnassigned", team="Lao Cai")])
    assert apply(state, drop, TEAM_B).teams == {"Ha Giang"}


def test_breaking_the_glass_does_not_let_a_team_assign_itself() -> None:
    """Team B's TeamAssigned of itself is forbidden even with break_glass; a token without a
    team may not change teams either."""
    state = reported_by(TEAM_A)
    assign = [proposed("TeamAssigned", team="Ha Giang")]
    with pytest.raises(Forbidden, match="TeamAssigned is recorded by an admin"):
        decide(state, RecordEvents(state.operation_id, assign, break_glass=True), TEAM_B)
    with pytest.raises(Forbidden, match="TeamAssigned is recorded by an admin"):
        decide(state, RecordEvents(state.operation_id, assign), FIELD)


def test_a_team_event_cannot_be_corrected() -> None:
    """A team assignment is undone by the opposite event, not by a correction."""
    state = reported_by(ADMIN)
    assign = proposed("TeamAssigned", team="Ha Giang")
    state = apply(state, RecordEvents(state.operation_id, [assign]), ADMIN)
    fix = proposed(
        "EventCorrected",
        corrects_event_id=str(assign.event_id),
        reason="wrong team",
        corrected_data={"team": "Lao Cai"},
    )
    with pytest.raises(RuleBroken, match="record TeamAssigned or TeamUnassigned instead"):
        decide(state, RecordEvents(state.operation_id, [fix]), ADMIN, history=history_of(state))
