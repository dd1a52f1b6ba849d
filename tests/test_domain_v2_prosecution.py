"""Domain v2, a prosecution: opening on known streams, charges, verdicts, appeals, testimony,
closing and who may record it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest

from coordinator.domain import DomainEvent, ProposedEvent
from coordinator.domain.actors import Actor, Role
from coordinator.domain.prosecution import (
    NotAProsecutionStream,
    Prosecution,
    evolve_prosecution,
    fold_prosecution,
    judge_prosecution,
    open_prosecution,
)
from coordinator.errors import CoordinatorError, Forbidden, NotFound, RuleBroken
from events.catalogue import Verdict
from tests.test_domain_v2_operation import ADMIN, FIELD, LEADER, LEGAL, SHA, proposed

pytestmark = pytest.mark.unit

OPERATION = uuid4()
SURVIVOR = uuid4()
DEFENDANT = uuid4()


def opening(
    operation_ids: tuple[UUID, ...] = (OPERATION,), survivor_ids: tuple[UUID, ...] = (SURVIVOR,)
) -> ProposedEvent:
    return proposed(
        "ProsecutionOpened",
        case_number="37/2024/HS-ST",
        court="Lao Cai People's Court",
        province="Lao Cai",
        operation_ids=[str(each) for each in operation_ids],
        survivor_ids=[str(each) for each in survivor_ids],
    )


def opened(actor: Actor = LEGAL, **links: Any) -> list[ProposedEvent]:
    """The events `open_prosecution` accepts for `links`, with the default streams known."""
    return open_prosecution(
        opening(**links),
        actor,
        known_operations=frozenset({OPERATION}),
        registered_survivors=frozenset({SURVIVOR}),
    )


@dataclass(frozen=True)
class Case:
    """A prosecution as recorded so far: its state and its events."""

    state: Prosecution
    events: tuple[DomainEvent, ...]

    def record(self, *events: ProposedEvent, actor: Actor = LEGAL) -> Case:
        judged = judge_prosecution(
            self.state, self.state.prosecution_id, list(events), actor, history=self.events
        )
        stored = [
            event.recorded(self.state.prosecution_id, actor, self.state.version + number)
            for number, event in enumerate(events, start=1)
        ]
        return Case(judged.state, (*self.events, *stored))

    def refusal(
        self,
        *events: ProposedEvent,
        actor: Actor = LEGAL,
        error: type[CoordinatorError] = RuleBroken,
    ) -> str:
        with pytest.raises(CoordinatorError) as refused:
            judge_prosecution(
                self.state, self.state.prosecution_id, list(events), actor, history=self.events
            )
        assert type(refused.value) is error, refused.value
        return str(refused.value)


def a_prosecution() -> Case:
    """A prosecution just opened on one operation and one survivor."""
    (event,) = opened()
    stored = DomainEvent(
        uuid4(), event.event_id, event.type, event.data, event.occurred_at, LEGAL, 1
    )
    state = fold_prosecution([stored])
    assert state is not None
    return Case(state, (stored,))


def charged(defendant: UUID = DEFENDANT) -> ProposedEvent:
    return proposed(
        "DefendantCharged",
        defendant_id=str(defendant),
        role="recruiter",
        charges=[{"article": "150", "text": "trafficking in persons"}],
        personal={"name": "Vang"},
    )


def verdict(defendant: UUID = DEFENDANT, outcome: str = "convicted") -> ProposedEvent:
    return proposed(
        "VerdictReached",
        defendant_id=str(defendant),
        verdict=outcome,
        sentence_months=96 if outcome == "convicted" else None,
        compensation="50,000,000 VND",
    )


def appeal(defendant: UUID = DEFENDANT) -> ProposedEvent:
    return proposed("AppealFiled", defendant_id=str(defendant), by="defence")


def hearing() -> ProposedEvent:
    return proposed("HearingHeld", held_on="2024-09-01", kind="trial", outcome="adjourned")


def a_testimony(witness: str = "survivor", survivor: UUID | None = SURVIVOR) -> ProposedEvent:
    named: dict[str, Any] = {} if survivor is None else {"survivor_id": str(survivor)}
    return proposed("TestimonyRecorded", witness=witness, recorded_by="Chi", sha256=SHA, **named)


def evidence() -> ProposedEvent:
    return proposed("EvidenceLogged", description="bank transfers", sha256=SHA)


def closed_prosecution() -> Case:
    return a_prosecution().record(proposed("ProsecutionClosed", reason="sentence served"))


# --- Opening ----------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [LEGAL, ADMIN], ids=["legal", "admin"])
def test_legal_and_admin_open_a_prosecution_on_known_streams(actor: Actor) -> None:
    """Opening names existing operations and registered survivors: accepted as sent."""
    (event,) = opened(actor)
    assert event.type == "ProsecutionOpened"


@pytest.mark.parametrize("actor", [FIELD, LEADER], ids=["field", "leadership"])
def test_field_and_leadership_may_not_open_a_prosecution(actor: Actor) -> None:
    """Only legal and admin open a prosecution (403)."""
    with pytest.raises(Forbidden, match=f"Role {actor.role} may not open a prosecution"):
        opened(actor)


def test_opening_needs_known_operations() -> None:
    """An operation id no operation has is refused."""
    stranger = uuid4()
    with pytest.raises(RuleBroken, match=f"names operation {stranger}, which does not exist"):
        opened(operation_ids=(OPERATION, stranger))


def test_opening_needs_registered_survivors() -> None:
    """A survivor id no operation registered is refused."""
    stranger = uuid4()
    with pytest.raises(RuleBroken, match=f"names survivor {stranger}, whom no operation"):
        opened(survivor_ids=(stranger,))


def test_opening_names_each_link_once() -> None:
    """An operation listed twice is refused."""
    with pytest.raises(RuleBroken, match="names each operation and survivor once"):
        opened(operation_ids=(OPERATION, OPERATION))


def test_a_prosecution_opens_with_prosecution_opened() -> None:
    """Another event cannot open a prosecution, and the fold refuses such a stream."""
    with pytest.raises(RuleBroken, match="opens with ProsecutionOpened, not HearingHeld"):
        open_prosecution(
            hearing(), LEGAL, known_operations=frozenset(), registered_survivors=frozenset()
        )
    event = hearing()
    stored = DomainEvent(
        uuid4(), event.event_id, event.type, event.data, event.occurred_at, LEGAL, 1
    )
    with pytest.raises(NotAProsecutionStream):
        evolve_prosecution(None, stored)


def test_prosecution_opened_only_first() -> None:
    """ProsecutionOpened inside a batch on an open prosecution is refused."""
    assert a_prosecution().refusal(opening()) == (
        "ProsecutionOpened is allowed only as the first event of a prosecution."
    )


def test_recording_on_a_missing_prosecution_is_not_found() -> None:
    """Judging a batch for a prosecution that does not exist answers not found."""
    missing = uuid4()
    with pytest.raises(NotFound, match=f"Prosecution {missing} does not exist"):
        judge_prosecution(None, missing, [hearing()], LEGAL)


def test_the_opening_is_folded() -> None:
    """The state carries the case number, court and links."""
    state = a_prosecution().state
    assert (state.case_number, state.operation_ids, state.survivor_ids) == (
        "37/2024/HS-ST",
        (OPERATION,),
        (SURVIVOR,),
    )


# --- Defendants, verdicts and appeals ---------------------------------------------------------


def test_a_defendant_is_charged_once() -> None:
    """A second DefendantCharged for the same defendant is refused (correct it instead)."""
    case = a_prosecution().record(charged())
    assert case.refusal(charged()) == (
        f"DefendantCharged names defendant {DEFENDANT}, charged already; correct the charge with "
        f"EventCorrected."
    )
    assert case.state.defendants[DEFENDANT].articles == ("150",)


def test_a_verdict_needs_a_charge() -> None:
    """A verdict on someone not charged here is refused."""
    assert a_prosecution().refusal(verdict()) == (
        f"VerdictReached names defendant {DEFENDANT}, who is not charged in this prosecution."
    )


def test_a_second_verdict_needs_an_appeal() -> None:
    """A standing verdict is replaced only after an appeal; then the new verdict stands."""
    case = a_prosecution().record(charged(), verdict())
    assert case.refusal(verdict(outcome="acquitted")) == (
        f"VerdictReached needs defendant {DEFENDANT} to have no standing verdict; a new verdict "
        f"follows an appeal."
    )
    appealed = case.record(appeal())
    assert appealed.state.defendants[DEFENDANT].appealed
    after = appealed.record(verdict(outcome="acquitted"))
    assert after.state.defendants[DEFENDANT].verdict is Verdict.ACQUITTED
    assert not after.state.defendants[DEFENDANT].appealed
    assert after.refusal(verdict()).startswith("VerdictReached needs defendant")


def test_an_appeal_needs_a_verdict() -> None:
    """An appeal before any verdict is refused; so is an appeal of an uncharged defendant."""
    case = a_prosecution().record(charged())
    assert case.refusal(appeal()) == (
        f"AppealFiled needs a verdict on defendant {DEFENDANT} to appeal."
    )
    stranger = uuid4()
    assert case.refusal(appeal(stranger)) == (
        f"AppealFiled names defendant {stranger}, who is not charged in this prosecution."
    )


def test_a_verdict_is_appealed_once() -> None:
    """A second appeal of the same verdict is refused."""
    case = a_prosecution().record(charged(), verdict(), appeal())
    assert case.refusal(appeal()) == f"AppealFiled: the verdict on {DEFENDANT} is appealed already."


def test_convictions_are_counted() -> None:
    """Two defendants, one convicted and one acquitted: one conviction."""
    other = uuid4()
    case = a_prosecution().record(
        charged(), charged(other), verdict(), verdict(other, outcome="acquitted")
    )
    assert case.state.convicted == 1


# --- Testimony, hearings, evidence ------------------------------------------------------------


def test_testimony_of_a_witness_who_is_no_survivor_names_nobody() -> None:
    """A police officer's testimony without survivor_id is accepted."""
    assert a_prosecution().record(a_testimony("police", None)).state.testimonies == 1


def test_testimony_of_a_survivor_of_this_prosecution() -> None:
    """A survivor of the prosecution testifies."""
    assert a_prosecution().record(a_testimony()).state.testimonies == 1


def test_testimony_naming_a_survivor_outside_the_prosecution_is_refused() -> None:
    """A testimony naming a survivor the prosecution does not concern is refused, whoever the
    witness."""
    stranger = uuid4()
    expected = (
        f"TestimonyRecorded names survivor {stranger}, who is not a survivor of this prosecution."
    )
    assert a_prosecution().refusal(a_testimony("survivor", stranger)) == expected
    assert a_prosecution().refusal(a_testimony("family", stranger)) == expected


def test_hearings_and_evidence_are_counted() -> None:
    """Hearings and evidence items are counted."""
    state = a_prosecution().record(hearing(), evidence(), hearing()).state
    assert (state.hearings, state.evidence_items) == (2, 1)


# --- Closing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        hearing,
        evidence,
        a_testimony,
        charged,
        lambda: proposed("ProsecutionClosed", reason="again"),
    ],
    ids=["hearing", "evidence", "testimony", "charge", "close-again"],
)
def test_a_closed_prosecution_refuses_all_but_corrections(event: Any) -> None:
    """After ProsecutionClosed, nothing but a correction is recorded."""
    made = event()
    assert closed_prosecution().refusal(made) == (
        f"{made.type} cannot be recorded after the prosecution closed."
    )


def test_a_closed_prosecution_takes_a_correction() -> None:
    """A correction of the closing's reason is accepted after closing."""
    case = closed_prosecution()
    closing = case.events[-1]
    fix = proposed(
        "EventCorrected",
        corrects_event_id=str(closing.event_id),
        reason="wording",
        corrected_data={"reason": "all sentences served"},
    )
    after = case.record(fix)
    assert (after.state.closed, after.state.close_reason) == (True, "all sentences served")


# --- Roles and kinds --------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [FIELD, LEADER], ids=["field", "leadership"])
@pytest.mark.parametrize(
    "event", [hearing, evidence, charged], ids=["hearing", "evidence", "charge"]
)
def test_only_legal_and_admin_record_a_prosecution(actor: Actor, event: Any) -> None:
    """Field and leadership may not record on a prosecution (403)."""
    made = event()
    assert a_prosecution().refusal(made, actor=actor, error=Forbidden) == (
        f"Role {actor.role} may not record {made.type}; legal and admin may."
    )


def test_admin_records_a_prosecution() -> None:
    """Admin records on a prosecution like legal."""
    assert a_prosecution().record(charged(), actor=ADMIN).state.defendants


@pytest.mark.parametrize("role", list(Role))
def test_an_operation_event_is_refused_on_a_prosecution(role: Role) -> None:
    """An operation's event type is not recorded on a prosecution (422)."""
    note = proposed("ProsecutionUpdated", phase="trial")
    assert a_prosecution().refusal(note, actor=Actor("x", role)) == (
        "ProsecutionUpdated is not recorded on a prosecution."
    )


def test_fold_gives_what_judging_gave() -> None:
    """Folding the stored events gives the state the judge returned."""
    case = a_prosecution().record(charged(), hearing(), verdict(), appeal(), a_testimony())
    assert fold_prosecution(list(case.events)) == case.state
