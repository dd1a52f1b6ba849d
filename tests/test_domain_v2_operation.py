"""Domain v2, the operation: emergencies, recoveries, returns, attempts, registrations, closing.

Each test drives `decide`/`judge` and folds what they accept, as the HTTP shell does. The helpers
at the top are shared with test_corrections.py and test_domain_v2_case.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from coordinator.domain import (
    DomainEvent,
    EraseSurvivorData,
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    Registration,
    Stage,
    Standing,
    SurvivorStatus,
    decide,
    fold_operation,
    judge,
)
from coordinator.domain.actors import Actor, Role
from coordinator.domain.standing import FIRST_REGISTRATION
from coordinator.errors import CoordinatorError, Forbidden, RuleBroken
from events.catalogue import (
    EVENT_TYPES,
    KIND_EVENT_TYPES,
    EventData,
    Recovery,
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


# --- Helpers ----------------------------------------------------------------------------------


def payload(event_type: str, **data: Any) -> EventData:
    """A payload of `event_type` validated as a client's would be."""
    return parse_event(event_type, EVENT_TYPES[event_type].schema_version, data)


def proposed(event_type: str, *, at: datetime = T0, **data: Any) -> ProposedEvent:
    """A proposed event with a fresh id, occurring at `at`."""
    return ProposedEvent.of(payload(event_type, **data), occurred_at=at)


def a_survivor(found_in: str = "CN", **overrides: Any) -> dict[str, Any]:
    """A survivor as the field team registers her (a fresh id unless given)."""
    return {
        "survivor_id": str(uuid4()),
        "gender": "female",
        "age_at_rescue": 17,
        "exploitation": "sexual",
        "form": "forced_marriage",
        "found_in_country": found_in,
        "personal": {"name": "Hien"},
    } | overrides


def ids_of(*survivors: dict[str, Any]) -> list[UUID]:
    """The survivor ids of survivor payloads."""
    return [UUID(survivor["survivor_id"]) for survivor in survivors]


@dataclass(frozen=True)
class Stream:
    """An operation as recorded so far: the state `judge` left it in, and its stored events (the
    history a correction needs)."""

    state: Operation
    events: tuple[DomainEvent, ...]

    @property
    def operation_id(self) -> UUID:
        return self.state.operation_id

    def judged(
        self,
        *events: ProposedEvent,
        actor: Actor = FIELD,
        standings: Mapping[UUID, Standing] | None = None,
    ) -> tuple[Stream, list[Registration]]:
        """The stream once `actor` records `events` as one batch, and the registrations taken."""
        outcome = judge(
            self.state,
            RecordEvents(self.operation_id, list(events)),
            actor,
            standings=standings,
            history=self.events,
        )
        assert outcome.events == list(events)
        stored = [
            DomainEvent(
                self.operation_id,
                event.event_id,
                event.type,
                event.data,
                event.occurred_at,
                actor,
                self.state.version + number,
            )
            for number, event in enumerate(events, start=1)
        ]
        return Stream(outcome.state, (*self.events, *stored)), outcome.registrations

    def record(
        self,
        *events: ProposedEvent,
        actor: Actor = FIELD,
        standings: Mapping[UUID, Standing] | None = None,
    ) -> Stream:
        """The stream once `actor` records `events` as one batch."""
        return self.judged(*events, actor=actor, standings=standings)[0]

    def refusal(
        self,
        *events: ProposedEvent,
        actor: Actor = FIELD,
        standings: Mapping[UUID, Standing] | None = None,
        error: type[CoordinatorError] = RuleBroken,
    ) -> str:
        """The sentence with which recording `events` is refused, as an `error` exactly."""
        with pytest.raises(CoordinatorError) as refused:
            judge(
                self.state,
                RecordEvents(self.operation_id, list(events)),
                actor,
                standings=standings,
                history=self.events,
            )
        assert type(refused.value) is error, refused.value
        return str(refused.value)

    def survivor(self, survivor_id: UUID) -> SurvivorStatus:
        """Her journey's status in this operation."""
        return self.state.survivors[survivor_id].status


def reported(
    channel: str = "family",
    country: str | None = "CN",
    actor: Actor = FIELD,
    **case: Any,
) -> Stream:
    """A newly reported case (CaseReported through `OpenOperation`)."""
    report = proposed("CaseReported", channel=channel, suspected_country=country, **case)
    operation_id = uuid4()
    (event,) = decide(None, OpenOperation(operation_id, report), actor)
    stored = DomainEvent(
        operation_id, event.event_id, event.type, event.data, event.occurred_at, actor, 1
    )
    state = fold_operation([stored])
    assert state is not None
    return Stream(state, (stored,))


def investigation() -> ProposedEvent:
    return proposed("InvestigationOpened", lead_investigator="Luong")


def plan() -> ProposedEvent:
    return proposed("RescuePlanned", planned_for="2024-04-01", risk="high", team=["Luong"])


def approval() -> ProposedEvent:
    return proposed("RescueApproved", note="go")


def investigating() -> Stream:
    """A case under investigation."""
    return reported().record(investigation())


def planning() -> Stream:
    """An operation with a rescue planned by PLANNER."""
    return investigating().record(plan(), actor=PLANNER)


def approved() -> Stream:
    """An operation whose rescue leadership approved."""
    return planning().record(approval(), actor=LEADER)


def rescue(*survivors: dict[str, Any], outcome: str = "success", **more: Any) -> ProposedEvent:
    """A rescue freeing `survivors`."""
    return proposed("RescueExecuted", outcome=outcome, survivors=list(survivors), **more)


def emergency_rescue(*survivors: dict[str, Any], outcome: str = "success") -> ProposedEvent:
    """An emergency rescue, with its reason."""
    return rescue(
        *survivors, outcome=outcome, emergency=True, emergency_reason="a child called for help"
    )


def recovery(*survivors: dict[str, Any], how: str = "escaped") -> ProposedEvent:
    """Survivors recovered without a rescue."""
    return proposed("SurvivorRecovered", how=how, survivors=list(survivors))


def rescued(*survivors: dict[str, Any]) -> Stream:
    """An approved operation right after a successful rescue of `survivors`."""
    return approved().record(rescue(*survivors))


def handoff(*survivor_ids: UUID) -> ProposedEvent:
    """A cross-border handoff of the survivors."""
    return proposed(
        "CustodyTransferred",
        survivor_ids=[str(each) for each in survivor_ids],
        from_party={"agency": "Border guard", "country": "CN"},
        to_party={"agency": "Police", "country": "VN"},
    )


def returned(
    *survivor_ids: UUID, destination: str = "home", crossing: str | None = None
) -> ProposedEvent:
    """The survivors arriving home or in a shelter, crossing as said (or by default)."""
    extra: dict[str, Any] = {} if crossing is None else {"crossing": crossing}
    return proposed(
        "SurvivorReturned",
        survivor_ids=[str(each) for each in survivor_ids],
        destination=destination,
        **extra,
    )


def reunited(survivor_id: UUID) -> ProposedEvent:
    return proposed("FamilyReunited", survivor_id=str(survivor_id), family_present=["mother"])


def supported(survivor_id: UUID, service: str = "counselling") -> ProposedEvent:
    return proposed("SupportProvided", survivor_id=str(survivor_id), service=service)


def closing(reason: str = "other") -> ProposedEvent:
    return proposed("OperationClosed", reason=reason)


def registered_elsewhere(
    *operations: UUID,
    retraffickings: tuple[tuple[UUID, UUID], ...] = (),
    case_status: SurvivorStatus | None = None,
    erased: bool = False,
) -> Standing:
    """Her standing when `operations` registered her already."""
    return Standing(
        registered_by=operations,
        open_retraffickings=retraffickings,
        case_status=case_status,
        erased=erased,
    )


# --- Emergency rescue -------------------------------------------------------------------------


@pytest.mark.parametrize("before", [investigating, planning], ids=["investigating", "planning"])
def test_emergency_rescue_needs_no_approval_and_awaits_review(before: Any) -> None:
    """An emergency rescue is allowed while investigating or planning, and awaits review."""
    hien = a_survivor()
    stream = before().record(emergency_rescue(hien))
    assert stream.state.phase is Stage.RESCUED
    assert stream.state.awaiting_review
    assert stream.state.awaiting_review_since == T0
    assert stream.state.survivors.keys() == set(ids_of(hien))


def test_emergency_rescue_after_approval_also_awaits_review() -> None:
    """An emergency rescue always sets awaiting_review, also when the plan was approved."""
    assert approved().record(emergency_rescue(a_survivor())).state.awaiting_review


def test_emergency_rescue_says_why() -> None:
    """`emergency: true` without `emergency_reason` is not a valid payload."""
    with pytest.raises(ValidationError, match="emergency rescue says why in emergency_reason"):
        payload("RescueExecuted", outcome="success", survivors=[a_survivor()], emergency=True)


def test_an_emergency_rescue_may_come_before_an_investigation_is_opened() -> None:
    """Seed 001, "we cannot ignore a child crying for help": an emergency rescue is allowed
    wherever a new attempt may start, the reported case included (the design's clarification),
    and awaits review."""
    stream = reported().record(emergency_rescue(a_survivor()))
    assert stream.state.awaiting_review


@pytest.mark.parametrize("before", [investigating, planning], ids=["investigating", "planning"])
def test_a_rescue_that_is_no_emergency_still_needs_approval(before: Any) -> None:
    """Without `emergency`, a rescue while investigating or planning is refused."""
    sentence = before().refusal(rescue(a_survivor()))
    assert sentence.startswith("RescueExecuted is allowed only once the rescue is approved")
    assert not before().state.awaiting_review


def test_an_emergency_rescue_after_a_successful_rescue_is_refused() -> None:
    """After a successful rescue, no new attempt starts: an emergency rescue is refused."""
    sentence = rescued(a_survivor()).refusal(emergency_rescue(a_survivor()))
    assert sentence.endswith("the operation is at stage rescued.")


def test_leadership_review_ends_awaiting_review() -> None:
    """RescueReviewed by leadership clears the flag and counts the review."""
    stream = investigating().record(emergency_rescue(a_survivor()))
    review = proposed("RescueReviewed", decision="concerns", note="call us next time")
    after = stream.record(review, actor=LEADER)
    assert (after.state.awaiting_review, after.state.reviews) == (False, 1)


@pytest.mark.parametrize("actor", [FIELD, LEGAL, ADMIN], ids=lambda actor: str(actor.role))
def test_only_leadership_reviews_an_emergency_rescue(actor: Actor) -> None:
    """Field, legal and admin may not record RescueReviewed (403)."""
    stream = investigating().record(emergency_rescue(a_survivor()))
    review = proposed("RescueReviewed", decision="endorsed")
    sentence = stream.refusal(review, actor=actor, error=Forbidden)
    assert sentence == f"Role {actor.role} may not record RescueReviewed."


def test_review_needs_an_emergency_rescue_awaiting_it() -> None:
    """RescueReviewed after an approved rescue, or a second time, is refused."""
    review = proposed("RescueReviewed", decision="endorsed")
    expected = "RescueReviewed needs an emergency rescue that awaits review."
    assert rescued(a_survivor()).refusal(review, actor=LEADER) == expected
    reviewed = investigating().record(emergency_rescue(a_survivor()))
    reviewed = reviewed.record(proposed("RescueReviewed", decision="endorsed"), actor=LEADER)
    assert reviewed.refusal(review, actor=LEADER) == expected


def test_an_emergency_may_still_be_reviewed_after_closing() -> None:
    """A review is among what a closed operation still accepts."""
    stream = investigating().record(emergency_rescue(a_survivor()), closing())
    after = stream.record(proposed("RescueReviewed", decision="endorsed"), actor=LEADER)
    assert (after.state.closed, after.state.awaiting_review) == (True, False)


# --- SurvivorRecovered ------------------------------------------------------------------------

OPEN_PHASES: dict[str, Callable[[], Stream]] = {
    "reported": reported,
    "investigating": investigating,
    "planning": planning,
    "approved": approved,
    "rescued": lambda: rescued(a_survivor()),
}


@pytest.mark.parametrize("phase", list(OPEN_PHASES))
def test_survivor_recovered_in_every_open_phase_registers_her(phase: str) -> None:
    """A recovery registers survivors in any open phase, without plan or approval, and leaves
    the attempt's phase as it was."""
    before = OPEN_PHASES[phase]()
    mai = a_survivor("VN")
    after = before.record(recovery(mai, how="police_raid"))
    (mai_id,) = ids_of(mai)
    record = after.state.survivors[mai_id]
    assert after.state.phase == before.state.phase == Stage(phase)
    assert (record.recovered, record.status) == (Recovery.POLICE_RAID, SurvivorStatus.IN_TRANSIT)
    assert after.state.rescues == before.state.rescues


def test_survivor_recovered_is_refused_once_closed() -> None:
    """A closed operation registers nobody; her later life goes on her case."""
    sentence = reported().record(closing()).refusal(recovery(a_survivor()))
    assert sentence.startswith("SurvivorRecovered cannot be recorded after the operation closed")


def test_survivor_recovered_names_at_least_one_survivor() -> None:
    """A recovery of nobody is not a valid payload."""
    with pytest.raises(ValidationError, match="survivors"):
        payload("SurvivorRecovered", how="escaped", survivors=[])


# --- Returns and crossings --------------------------------------------------------------------


def test_handoff_crossing_needs_a_custody_transfer_naming_her() -> None:
    """`crossing: handoff` is refused until a CustodyTransferred names her (another's does not
    count)."""
    hien, lan = a_survivor("CN"), a_survivor("CN")
    hien_id, lan_id = ids_of(hien, lan)
    stream = rescued(hien, lan).record(handoff(lan_id))
    assert stream.refusal(returned(hien_id, crossing="handoff")) == (
        f"SurvivorReturned with crossing handoff needs a CustodyTransferred naming survivor "
        f"{hien_id} first."
    )
    after = stream.record(handoff(hien_id), returned(hien_id, crossing="handoff"))
    assert after.survivor(hien_id) is SurvivorStatus.HOME


@pytest.mark.parametrize("crossing", ["with_staff", "on_own", "deported"])
def test_found_abroad_may_return_without_handoff_when_crossing_says_how(crossing: str) -> None:
    """A survivor found abroad returns without a handoff when `crossing` says how she crossed."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    after = rescued(hien).record(returned(hien_id, destination="shelter", crossing=crossing))
    assert after.survivor(hien_id) is SurvivorStatus.IN_SHELTER


@pytest.mark.parametrize("crossing", ["with_staff", "on_own", "deported"])
def test_border_crossings_are_for_survivors_found_abroad(crossing: str) -> None:
    """A survivor found in VN cannot return by crossing a border."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    assert rescued(mai).refusal(returned(mai_id, crossing=crossing)) == (
        f"SurvivorReturned with crossing {crossing} is for a survivor found abroad; survivor "
        f"{mai_id} was found in VN."
    )


def test_domestic_crossing_only_for_survivors_found_in_vietnam() -> None:
    """`domestic` is accepted for a survivor found in VN and refused for one found abroad."""
    mai, hien = a_survivor("VN"), a_survivor("CN")
    mai_id, hien_id = ids_of(mai, hien)
    stream = rescued(mai, hien)
    assert stream.record(returned(mai_id, crossing="domestic")).survivor(mai_id) is (
        SurvivorStatus.HOME
    )
    assert stream.refusal(returned(hien_id, crossing="domestic")) == (
        f"SurvivorReturned with crossing domestic is for a survivor found in VN; survivor "
        f"{hien_id} was found in CN."
    )


def test_without_crossing_a_handed_off_survivor_returns_by_the_handoff() -> None:
    """No crossing: a survivor found abroad and handed off returns (the handoff is the default)."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    after = rescued(hien).record(handoff(hien_id), returned(hien_id))
    assert after.survivor(hien_id) is SurvivorStatus.HOME


def test_without_crossing_a_survivor_found_in_vietnam_returns_domestically() -> None:
    """No crossing and no handoff: a survivor found in VN returns (domestic is the default)."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    assert rescued(mai).record(returned(mai_id)).survivor(mai_id) is SurvivorStatus.HOME


def test_without_crossing_a_survivor_found_abroad_needs_a_handoff() -> None:
    """No crossing, no handoff, found abroad: refused, naming how to say how she crossed."""
    hien = a_survivor("MM")
    (hien_id,) = ids_of(hien)
    assert rescued(hien).refusal(returned(hien_id)) == (
        f"SurvivorReturned needs a survivor found abroad to come through a CustodyTransferred "
        f"first, or `crossing` to say how she crossed (with_staff, deported, on_own); survivor "
        f"{hien_id} was found in MM."
    )


def test_a_survivor_returns_once() -> None:
    """A second return of the same survivor is refused."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    stream = rescued(mai).record(returned(mai_id))
    assert stream.refusal(returned(mai_id)) == (
        f"SurvivorReturned needs the survivor not to have returned yet; survivor {mai_id} has "
        f"returned."
    )


def test_no_custody_transfer_after_her_return() -> None:
    """A handoff of a survivor who has come home is refused."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    stream = rescued(mai).record(returned(mai_id))
    assert stream.refusal(handoff(mai_id)).startswith(
        "CustodyTransferred needs the survivor not to have returned yet"
    )


def test_journey_statuses_abroad_then_in_transit() -> None:
    """Found abroad she is abroad until handed off; found in VN she is in transit at once."""
    hien, mai = a_survivor("CN"), a_survivor("VN")
    hien_id, mai_id = ids_of(hien, mai)
    stream = rescued(hien, mai)
    assert (stream.survivor(hien_id), stream.survivor(mai_id)) == (
        SurvivorStatus.ABROAD,
        SurvivorStatus.IN_TRANSIT,
    )
    assert stream.record(handoff(hien_id)).survivor(hien_id) is SurvivorStatus.IN_TRANSIT


# --- New attempts -----------------------------------------------------------------------------


def after_partial() -> Stream:
    return approved().record(rescue(a_survivor(), outcome="partial"))


def after_failed() -> Stream:
    return approved().record(rescue(outcome="failed"))


def after_abort() -> Stream:
    return approved().record(proposed("RescueAborted", reason="the venue moved"))


UNFINISHED = {"partial": after_partial, "failed": after_failed, "aborted": after_abort}


@pytest.mark.parametrize("attempt", list(UNFINISHED))
@pytest.mark.parametrize("event_type", ["LeadRecorded", "LocationConfirmed", "RescuePlanned"])
def test_a_new_attempt_may_start_after_an_unfinished_one(attempt: str, event_type: str) -> None:
    """After a partial or failed rescue, or an abort, leads, locations and plans are allowed."""
    data: dict[str, Any] = {
        "LeadRecorded": {"source": "neighbour", "reliability": "B"},
        "LocationConfirmed": {"country": "CN", "place": "Hekou", "venue": "brothel"},
        "RescuePlanned": {"planned_for": "2024-05-01", "risk": "low"},
    }[event_type]
    stream = UNFINISHED[attempt]()
    assert (stream.state.phase, stream.state.approved) == (Stage.INVESTIGATING, False)
    after = stream.record(proposed(event_type, **data))
    assert after.state.version == stream.state.version + 1


@pytest.mark.parametrize("attempt", list(UNFINISHED))
def test_a_new_attempt_needs_its_own_approval(attempt: str) -> None:
    """The earlier approval does not carry over: a rescue waits for a new RescueApproved."""
    stream = UNFINISHED[attempt]()
    assert stream.refusal(rescue(a_survivor())).startswith(
        "RescueExecuted is allowed only once the rescue is approved"
    )
    replanned = stream.record(plan(), actor=PLANNER)
    assert replanned.refusal(rescue(a_survivor())).endswith("the operation is at stage planning.")
    second = a_survivor()
    done = replanned.record(approval(), actor=LEADER).record(rescue(second))
    assert done.state.phase is Stage.RESCUED
    assert set(ids_of(second)) <= done.state.survivors.keys()


@pytest.mark.parametrize("attempt", list(UNFINISHED))
def test_a_new_attempt_may_be_an_emergency(attempt: str) -> None:
    """A new attempt may be an emergency rescue, without a new approval."""
    after = UNFINISHED[attempt]().record(emergency_rescue(a_survivor()))
    assert (after.state.phase, after.state.awaiting_review) == (Stage.RESCUED, True)


def test_partial_rescue_keeps_its_survivors_and_counts_no_failure() -> None:
    """A partial rescue registers its survivors; failures and aborts count as unsuccessful."""
    assert len(after_partial().state.survivors) == 1
    assert after_partial().state.unsuccessful_attempts == 0
    assert after_failed().state.unsuccessful_attempts == 1
    assert after_abort().state.unsuccessful_attempts == 1


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("LeadRecorded", {"source": "neighbour", "reliability": "B"}),
        ("LocationConfirmed", {"country": "CN"}),
        ("RescuePlanned", {"planned_for": "2024-05-01", "risk": "low"}),
    ],
)
def test_no_new_attempt_after_a_successful_rescue(event_type: str, data: dict[str, Any]) -> None:
    """After a successful rescue, leads, locations and plans are refused."""
    sentence = rescued(a_survivor()).refusal(proposed(event_type, **data))
    assert sentence.startswith(f"{event_type} is allowed only")
    assert sentence.endswith("the operation is at stage rescued.")


# --- Reunion and support ----------------------------------------------------------------------


def test_reunion_before_return_is_recorded_and_moves_nothing() -> None:
    """FamilyReunited at the border gate is allowed and leaves her in transit; after her return
    she is home (the earlier reunion does not make her reunited)."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    at_gate = rescued(hien).record(handoff(hien_id), reunited(hien_id))
    assert at_gate.survivor(hien_id) is SurvivorStatus.IN_TRANSIT
    assert at_gate.record(returned(hien_id)).survivor(hien_id) is SurvivorStatus.HOME


def test_reunion_after_return_makes_her_reunited() -> None:
    """FamilyReunited after her return moves her to reunited."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    after = rescued(mai).record(returned(mai_id, destination="shelter"), reunited(mai_id))
    assert after.survivor(mai_id) is SurvivorStatus.REUNITED


def test_reunion_needs_her_registered_here() -> None:
    """FamilyReunited naming someone this operation did not register is refused."""
    stranger = uuid4()
    assert rescued(a_survivor()).refusal(reunited(stranger)) == (
        f"FamilyReunited names survivor {stranger}, who is not registered by this operation."
    )


def test_support_on_an_operation_after_return_puts_her_in_aftercare() -> None:
    """A (deprecated) SupportProvided on an operation after her return: in_aftercare."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    after = rescued(mai).record(returned(mai_id), reunited(mai_id), supported(mai_id))
    assert after.survivor(mai_id) is SurvivorStatus.IN_AFTERCARE
    assert after.state.stage is Stage.AFTERCARE


def test_support_before_return_leaves_her_status() -> None:
    """A service before her return is accepted and changes nothing; her return then makes her
    home, not in aftercare."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = rescued(hien).record(supported(hien_id, "healthcare"))
    assert stream.survivor(hien_id) is SurvivorStatus.ABROAD
    after = stream.record(handoff(hien_id), returned(hien_id))
    assert after.survivor(hien_id) is SurvivorStatus.HOME


def test_support_on_an_operation_names_her() -> None:
    """SupportProvided on an operation without survivor_id is refused."""
    assert rescued(a_survivor()).refusal(proposed("SupportProvided", service="education")) == (
        "SupportProvided on an operation names its survivor_id."
    )


def test_support_on_a_closed_operation_goes_on_her_case() -> None:
    """Once the operation closed, support is refused there (it is recorded on her case)."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    stream = rescued(mai).record(returned(mai_id), closing("handed_to_aftercare"))
    sentence = stream.refusal(supported(mai_id))
    assert sentence.startswith("SupportProvided cannot be recorded after the operation closed")
    assert "goes on her case" in sentence


# --- Closing as handed to aftercare -----------------------------------------------------------


def test_handed_to_aftercare_needs_a_survivor() -> None:
    """An operation without survivors cannot be handed to aftercare."""
    assert investigating().refusal(closing("handed_to_aftercare")) == (
        "OperationClosed as handed_to_aftercare needs at least one survivor."
    )


def test_handed_to_aftercare_when_every_survivor_returned() -> None:
    """Each survivor returned: the operation closes as handed to aftercare."""
    mai, lan = a_survivor("VN"), a_survivor("VN")
    stream = rescued(mai, lan).record(returned(*ids_of(mai, lan)))
    after = stream.record(closing("handed_to_aftercare"))
    assert (after.state.closed, after.state.close_reason) == (True, "handed_to_aftercare")
    assert after.state.stage is Stage.CLOSED


def test_handed_to_aftercare_refused_while_a_survivor_is_on_her_way() -> None:
    """A survivor neither returned nor handed on by her case blocks the closing, named."""
    mai, hien = a_survivor("VN"), a_survivor("CN")
    mai_id, hien_id = ids_of(mai, hien)
    stream = rescued(mai, hien).record(returned(mai_id))
    sentence = stream.refusal(closing("handed_to_aftercare"))
    assert sentence == (
        "OperationClosed as handed_to_aftercare needs each survivor to have returned, or her "
        "case to say she is independent, re-trafficked, declined support or lost contact; "
        f"survivor {hien_id} is abroad."
    )


@pytest.mark.parametrize(
    "case_status",
    [
        SurvivorStatus.INDEPENDENT,
        SurvivorStatus.RE_TRAFFICKED,
        SurvivorStatus.DECLINED_SUPPORT,
        SurvivorStatus.LOST_CONTACT,
    ],
)
def test_handed_to_aftercare_when_her_case_handed_her_on(case_status: SurvivorStatus) -> None:
    """A survivor not returned counts when her case says where she went instead."""
    mai, hien = a_survivor("VN"), a_survivor("CN")
    mai_id, hien_id = ids_of(mai, hien)
    stream = rescued(mai, hien).record(returned(mai_id))
    standing = {hien_id: Standing(registered_by=(stream.operation_id,), case_status=case_status)}
    after = stream.record(closing("handed_to_aftercare"), standings=standing)
    assert after.state.closed


def test_handed_to_aftercare_is_not_satisfied_by_her_journey_case_status() -> None:
    """Only the four case statuses hand a survivor on; in_aftercare elsewhere does not."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = rescued(hien)
    standing = {
        hien_id: Standing(registered_by=(stream.operation_id,), case_status=None),
    }
    assert "survivor" in stream.refusal(closing("handed_to_aftercare"), standings=standing)


# --- The board's stage ------------------------------------------------------------------------


def test_board_stage_is_the_least_advanced_survivor_s() -> None:
    """One survivor reunited and one still abroad: the operation shows rescued."""
    mai, hien = a_survivor("VN"), a_survivor("CN")
    mai_id, hien_id = ids_of(mai, hien)
    stream = rescued(mai, hien).record(returned(mai_id), reunited(mai_id))
    assert stream.state.stage is Stage.RESCUED
    assert stream.record(handoff(hien_id)).state.stage is Stage.IN_TRANSIT
    home = stream.record(handoff(hien_id), returned(hien_id))
    assert home.state.stage is Stage.RETURNED
    assert home.record(reunited(hien_id)).state.stage is Stage.REUNITED


def test_board_stage_is_closed_once_closed() -> None:
    """A closed operation shows closed, whatever its survivors' journeys."""
    assert rescued(a_survivor()).record(closing()).state.stage is Stage.CLOSED


def test_board_stage_without_survivors_is_the_attempt_s() -> None:
    """With no survivors the operation shows its phase."""
    for stream in (reported(), investigating(), planning(), approved(), after_failed()):
        assert stream.state.stage is stream.state.phase


def test_board_stage_follows_a_recovered_survivor_while_still_reported() -> None:
    """A survivor recovered at reported shows on the board; the phase stays reported."""
    stream = reported().record(recovery(a_survivor("CN")))
    assert (stream.state.phase, stream.state.stage) == (Stage.REPORTED, Stage.RESCUED)


@pytest.mark.parametrize(
    ("steps", "stage"),
    [
        ([], Stage.IN_TRANSIT),
        (["home"], Stage.RETURNED),
        (["shelter"], Stage.RETURNED),
        (["home", "reunited"], Stage.REUNITED),
        (["shelter", "support"], Stage.AFTERCARE),
    ],
)
def test_board_stage_of_each_journey_status(steps: list[str], stage: Stage) -> None:
    """in_transit, in_shelter/home, reunited and in_aftercare show as their stages."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    make = {
        "home": lambda: returned(mai_id),
        "shelter": lambda: returned(mai_id, destination="shelter"),
        "reunited": lambda: reunited(mai_id),
        "support": lambda: supported(mai_id),
    }
    stream = rescued(mai)
    for step in steps:
        stream = stream.record(make[step]())
    assert stream.state.stage is stage


# --- Registrations ----------------------------------------------------------------------------


def test_one_registration_per_operation() -> None:
    """A recovery or a new rescue naming a survivor this operation registered is refused."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    stream = approved().record(rescue(hien, outcome="partial"))
    expected = (
        f"SurvivorRecovered registers survivor {hien_id}, whom this operation registered "
        f"already (one registration per operation)."
    )
    assert stream.refusal(recovery(hien)) == expected
    assert stream.refusal(emergency_rescue(hien)).startswith(
        f"RescueExecuted registers survivor {hien_id}, whom this operation registered already"
    )


def test_one_registration_per_event() -> None:
    """A recovery naming the same survivor twice is refused."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    assert reported().refusal(recovery(hien, hien)) == (
        f"SurvivorRecovered names each survivor once; {hien_id} comes twice."
    )


def test_a_first_registration_takes_the_first_slot() -> None:
    """A survivor nobody registered takes the slot "first", with this event's id."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    event = rescue(hien)
    stream, registrations = approved().judged(event, standings={})
    assert registrations == [
        Registration(hien_id, FIRST_REGISTRATION, stream.operation_id, event.event_id)
    ]


def test_a_survivor_registered_elsewhere_is_refused() -> None:
    """Registered by another operation, without a re-trafficking naming this one: refused."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    other = uuid4()
    standings = {hien_id: registered_elsewhere(other)}
    assert approved().refusal(rescue(hien), standings=standings) == (
        f"RescueExecuted registers survivor {hien_id}, who is registered already by operation "
        f"{other}; another operation may register her only once her case records "
        f"SurvivorRetrafficked naming it."
    )


def test_a_re_trafficking_naming_another_operation_does_not_open_this_one() -> None:
    """An open re-trafficking for a third operation leaves this one refused."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    standings = {hien_id: registered_elsewhere(uuid4(), retraffickings=((uuid4(), uuid4()),))}
    assert "SurvivorRetrafficked naming it" in reported().refusal(
        recovery(hien), standings=standings
    )


def test_a_re_trafficking_naming_this_operation_allows_one_registration() -> None:
    """Her case's open SurvivorRetrafficked naming this operation: registered, in its slot."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    stream = reported()
    retrafficked = uuid4()
    standings = {
        hien_id: registered_elsewhere(
            uuid4(),
            retraffickings=((retrafficked, stream.operation_id),),
            case_status=SurvivorStatus.RE_TRAFFICKED,
        )
    }
    event = recovery(hien, how="deported")
    after, registrations = stream.judged(event, standings=standings)
    assert registrations == [
        Registration(hien_id, str(retrafficked), stream.operation_id, event.event_id)
    ]
    assert hien_id in after.state.survivors


def test_an_erased_survivor_is_registered_again_only_without_personal_data() -> None:
    """Her personal data was erased: a new registration without `personal` is fine, with it
    refused."""
    stream = reported()
    hien = a_survivor(personal=None)
    (hien_id,) = ids_of(hien)
    standings = {
        hien_id: registered_elsewhere(
            uuid4(), retraffickings=((uuid4(), stream.operation_id),), erased=True
        )
    }
    assert hien_id in stream.record(recovery(hien), standings=standings).state.survivors
    with_personal = a_survivor(survivor_id=str(hien_id), personal={"name": "Hien"})
    assert stream.refusal(recovery(with_personal), standings=standings) == (
        f"SurvivorRecovered carries personal data for survivor {hien_id}, whose personal data "
        f"was erased; register her without it."
    )


# --- Missing persons, reference, channels, partners, ages --------------------------------------


def test_a_survivor_is_a_missing_person_of_the_report() -> None:
    """A survivor's `missing_person_id` must be in the report, and is kept on her record."""
    missing = uuid4()
    stream = reported(missing_persons=[{"missing_person_id": str(missing), "gender": "female"}])
    stream = stream.record(investigation(), plan(), actor=PLANNER)
    stream = stream.record(approval(), actor=LEADER)
    hien = a_survivor(missing_person_id=str(missing))
    (hien_id,) = ids_of(hien)
    assert stream.record(rescue(hien)).state.survivors[hien_id].missing_person_id == missing
    stranger = uuid4()
    assert stream.refusal(rescue(a_survivor(missing_person_id=str(stranger)))) == (
        f"RescueExecuted names missing person {stranger}, who is not in this operation's report."
    )


def test_a_missing_person_is_claimed_by_one_survivor() -> None:
    """A second survivor naming a missing person already found is refused."""
    missing = uuid4()
    stream = reported(missing_persons=[{"missing_person_id": str(missing)}])
    first = a_survivor(missing_person_id=str(missing))
    second = a_survivor(missing_person_id=str(missing))
    first_id, second_id = ids_of(first, second)
    expected = (
        f"SurvivorRecovered names missing person {missing} for survivor {second_id}; survivor "
        f"{first_id} is that person already."
    )
    assert stream.refusal(recovery(first, second)) == expected
    assert stream.record(recovery(first)).refusal(recovery(second)) == expected


def test_a_report_names_each_missing_person_once() -> None:
    """CaseReported listing one missing_person_id twice is refused."""
    missing = str(uuid4())
    report = proposed(
        "CaseReported", channel="family", missing_persons=[{"missing_person_id": missing}] * 2
    )
    with pytest.raises(RuleBroken, match=f"names each missing person once; {missing} comes twice"):
        decide(None, OpenOperation(uuid4(), report), FIELD)


def test_reference_and_social_media_channel() -> None:
    """A report from social media carries the organisation's reference onto the operation."""
    stream = reported(channel="social_media", reference="BD-2020-037")
    assert stream.state.reference == "BD-2020-037"


@pytest.mark.parametrize("agency_type", ["womens_union", "procuracy", "court", "social_affairs"])
def test_new_partner_agency_types(agency_type: str) -> None:
    """PartnerEngaged accepts the v2 agency types."""
    partner = proposed("PartnerEngaged", agency="Lao Cai", agency_type=agency_type, country="VN")
    (engaged,) = investigating().record(partner).state.partners
    assert engaged.agency_type == agency_type


def test_unknown_age_is_null_and_an_estimate_is_flagged() -> None:
    """`age_at_rescue` may be null; `age_estimated` and `ethnic_group` are kept."""
    unknown = a_survivor(age_at_rescue=None)
    guessed = a_survivor(age_at_rescue=15, age_estimated=True, ethnic_group="Hmong")
    unknown_id, guessed_id = ids_of(unknown, guessed)
    state = rescued(unknown, guessed).state
    assert state.survivors[unknown_id].age_at_rescue is None
    record = state.survivors[guessed_id]
    assert (record.age_at_rescue, record.age_estimated, record.ethnic_group) == (15, True, "Hmong")


# --- The operation's kind ---------------------------------------------------------------------

OTHER_KINDS = sorted(
    (KIND_EVENT_TYPES[StreamKind.SURVIVOR_CASE] | KIND_EVENT_TYPES[StreamKind.PROSECUTION])
    - KIND_EVENT_TYPES[StreamKind.OPERATION]
)


def an_event_of(event_type: str) -> ProposedEvent:
    """A valid event of a case or prosecution type."""
    data: dict[str, dict[str, Any]] = {
        "ConsentRecorded": {"purpose": "aftercare", "recipient": "shelter", "given_by": "survivor"},
        "ConsentWithdrawn": {"purpose": "aftercare", "recipient": "shelter"},
        "SupportDeclined": {},
        "ContactLost": {},
        "ContactRestored": {},
        "SurvivorRetrafficked": {"operation_id": str(uuid4())},
        "SurvivorIndependent": {},
        "ProsecutionOpened": {"case_number": "12/2024", "court": "Lao Cai"},
        "DefendantCharged": {
            "defendant_id": str(uuid4()),
            "role": "recruiter",
            "charges": [{"article": "150"}],
        },
        "HearingHeld": {"held_on": "2024-06-01", "kind": "trial"},
        "VerdictReached": {"defendant_id": str(uuid4()), "verdict": "convicted"},
        "AppealFiled": {"defendant_id": str(uuid4()), "by": "defence"},
        "ProsecutionClosed": {"reason": "done"},
    }
    return proposed(event_type, **data[event_type])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", OTHER_KINDS)
def test_event_types_of_other_kinds_are_refused_on_an_operation(
    event_type: str, role: Role
) -> None:
    """A case's or a prosecution's event type is refused on an operation (422), for anyone."""
    sentence = rescued(a_survivor()).refusal(an_event_of(event_type), actor=Actor("x", role))
    assert sentence.startswith(f"{event_type} is not recorded on an operation; it belongs on a")


def test_erasure_on_an_operation_is_refused() -> None:
    """EraseSurvivorData goes through her case, not the operation."""
    hien = a_survivor()
    (hien_id,) = ids_of(hien)
    state = rescued(hien).state
    with pytest.raises(RuleBroken, match="PersonalDataErased is recorded on the survivor's case"):
        decide(state, EraseSurvivorData(hien_id, "she asked"), ADMIN)


def test_testimony_of_another_witness_needs_no_survivor() -> None:
    """A family member's testimony on an operation names no survivor; naming a stranger is
    refused."""
    stream = rescued(a_survivor())
    family = proposed("TestimonyRecorded", witness="family", recorded_by="Luong", sha256=SHA)
    assert stream.record(family, actor=LEGAL).state.testimonies == 1
    stranger = uuid4()
    named = proposed(
        "TestimonyRecorded", survivor_id=str(stranger), recorded_by="Luong", sha256=SHA
    )
    assert stream.refusal(named, actor=LEGAL) == (
        f"TestimonyRecorded names survivor {stranger}, who is not registered by this operation."
    )


def test_judge_state_is_the_fold_of_the_stored_events() -> None:
    """The state `judge` returns equals folding the whole stream again."""
    hien, mai = a_survivor("CN"), a_survivor("VN")
    hien_id, mai_id = ids_of(hien, mai)
    stream = investigating().record(emergency_rescue(hien, outcome="partial"))
    stream = stream.record(recovery(mai), handoff(hien_id), returned(hien_id), reunited(mai_id))
    assert fold_operation(list(stream.events)) == stream.state


def test_updated_at_is_the_latest_occurrence() -> None:
    """An event prepared offline and arriving late does not move updated_at back."""
    late = proposed("StatusNoted", note="from the field", at=T0 - timedelta(days=2))
    after = reported().record(proposed("StatusNoted", note="now", at=T0 + timedelta(1)), late)
    assert after.state.updated_at == T0 + timedelta(1)
