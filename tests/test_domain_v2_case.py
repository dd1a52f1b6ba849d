"""Domain v2, a survivor's case: her status across operations, consent, contact, roles, erasure.

Her case is folded from its own events and from every operation event that names her, in log
order; `judge_case` decides what her case records, `erase` her erasure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from coordinator.domain import DomainEvent, EraseSurvivorData, ProposedEvent, SurvivorStatus
from coordinator.domain.actors import Actor
from coordinator.domain.case import SurvivorCase, evolve_case, fold_case
from coordinator.domain.case_rules import RecordCaseEvents, erase, judge_case
from coordinator.errors import CoordinatorError, Forbidden, NotFound, RuleBroken
from events.catalogue import ConsentPurpose, PersonalDataErased, Service
from tests.test_domain_v2_operation import (
    ADMIN,
    FIELD,
    LEADER,
    LEGAL,
    T0,
    Stream,
    a_survivor,
    handoff,
    proposed,
    recovery,
    reported,
    rescued,
    returned,
    reunited,
    supported,
)

pytestmark = pytest.mark.unit

DAY = timedelta(days=1)
YEAR = timedelta(days=366)


@dataclass(frozen=True)
class Case:
    """Her case as recorded so far: the state and every event that concerns her, in log order."""

    state: SurvivorCase
    history: tuple[DomainEvent, ...]

    @property
    def survivor_id(self) -> UUID:
        return self.state.survivor_id

    def record(self, *events: ProposedEvent, actor: Actor = FIELD) -> Case:
        """Her case once `actor` records `events` on it as one batch."""
        judged = judge_case(
            self.state,
            RecordCaseEvents(self.survivor_id, list(events)),
            actor,
            history=self.history,
        )
        stored = [
            DomainEvent(
                self.survivor_id,
                event.event_id,
                event.type,
                event.data,
                event.occurred_at,
                actor,
                self.state.version + number,
            )
            for number, event in enumerate(events, start=1)
        ]
        return Case(judged.state, (*self.history, *stored))

    def refusal(
        self,
        *events: ProposedEvent,
        actor: Actor = FIELD,
        error: type[CoordinatorError] = RuleBroken,
    ) -> str:
        """The sentence refusing `events` on her case, raised as `error` exactly."""
        with pytest.raises(CoordinatorError) as refused:
            judge_case(
                self.state,
                RecordCaseEvents(self.survivor_id, list(events)),
                actor,
                history=self.history,
            )
        assert type(refused.value) is error, refused.value
        return str(refused.value)

    def seeing(self, operation: Stream, since: int = 0) -> Case:
        """Her case once it has seen the operation's events after version `since`."""
        new = [event for event in operation.events if event.version > since]
        state = self.state
        for event in new:
            state = evolve_case(state, event)
        return Case(state, (*self.history, *new))

    @property
    def status(self) -> SurvivorStatus | None:
        return self.state.status


def a_case(found_in: str = "CN", age: int | None = 20) -> tuple[Case, Stream]:
    """Her case right after an operation rescued her, and that operation."""
    hien = a_survivor(found_in, age_at_rescue=age)
    operation = rescued(hien)
    survivor_id = UUID(hien["survivor_id"])
    case = Case(SurvivorCase(survivor_id), ()).seeing(operation)
    return case, operation


def case_event(event_type: str, *, at: datetime = T0 + DAY, **data: Any) -> ProposedEvent:
    """An event of her case, a day after the rescue unless said."""
    return proposed(event_type, at=at, **data)


def consent(
    given_by: str = "survivor", purpose: str = "prosecution", at: datetime = T0 + DAY
) -> ProposedEvent:
    return case_event(
        "ConsentRecorded", at=at, purpose=purpose, recipient="Lao Cai court", given_by=given_by
    )


def withdrawal(purpose: str = "prosecution") -> ProposedEvent:
    return case_event("ConsentWithdrawn", purpose=purpose, recipient="Lao Cai court")


def lost() -> ProposedEvent:
    return case_event("ContactLost")


def restored() -> ProposedEvent:
    return case_event("ContactRestored")


def declined() -> ProposedEvent:
    return case_event("SupportDeclined", note="she wants to be left alone")


def independent() -> ProposedEvent:
    return case_event("SurvivorIndependent")


def retrafficked(operation_id: UUID) -> ProposedEvent:
    return case_event("SurvivorRetrafficked", operation_id=str(operation_id))


def service(name: str = "counselling") -> ProposedEvent:
    return case_event("SupportProvided", service=name)


def returned_home(found_in: str = "VN") -> Case:
    """Her case once she came home (found in VN, so with no handoff)."""
    case, operation = a_case(found_in)
    after = operation.record(returned(case.survivor_id))
    return case.seeing(after, operation.state.version)


# --- Her journey, as the operations tell it ---------------------------------------------------


def test_her_status_follows_the_operation_that_registered_her() -> None:
    """Abroad, in transit after a handoff, home after her return, reunited after."""
    case, operation = a_case("CN")
    assert case.status is SurvivorStatus.ABROAD
    assert case.state.operations == (operation.operation_id,)
    steps = [
        (handoff(case.survivor_id), SurvivorStatus.IN_TRANSIT),
        (returned(case.survivor_id), SurvivorStatus.HOME),
        (reunited(case.survivor_id), SurvivorStatus.REUNITED),
    ]
    for step, status in steps:
        moved = operation.record(step)
        case, operation = case.seeing(moved, operation.state.version), moved
        assert case.status is status


def test_not_registered_means_no_status() -> None:
    """A case no operation registered has no status."""
    assert SurvivorCase(uuid4()).status is None


def test_support_on_her_case_after_return_puts_her_in_aftercare() -> None:
    """A service on her case once she returned: in_aftercare."""
    assert returned_home().record(service()).status is SurvivorStatus.IN_AFTERCARE


def test_support_on_her_case_before_return_leaves_her_status() -> None:
    """A service while she is still abroad is recorded and moves nothing."""
    case, _ = a_case("CN")
    after = case.record(service("healthcare"))
    assert after.status is SurvivorStatus.ABROAD
    assert [given.service for given in after.state.services] == [Service.HEALTHCARE]


def test_services_come_from_her_case_and_from_operations() -> None:
    """A (v1) SupportProvided on the operation and one on her case both count, each with where
    it was recorded."""
    case, operation = a_case("VN")
    moved = operation.record(returned(case.survivor_id), supported(case.survivor_id, "shelter"))
    case = case.seeing(moved, operation.state.version).record(service("education"))
    assert [(given.service, given.operation_id) for given in case.state.services] == [
        (Service.SHELTER, operation.operation_id),
        (Service.EDUCATION, None),
    ]
    assert case.status is SurvivorStatus.IN_AFTERCARE


def test_support_on_her_case_naming_another_survivor_is_refused() -> None:
    """A SupportProvided on her case names her or nobody."""
    stranger = uuid4()
    case, _ = a_case()
    naming_her = case_event("SupportProvided", survivor_id=str(stranger), service="counselling")
    sentence = case.refusal(naming_her)
    assert sentence == (
        f"SupportProvided on the case of survivor {case.survivor_id} names survivor "
        f"{stranger}; record it on her own case."
    )


# --- Status precedence ------------------------------------------------------------------------


def test_independent_outranks_lost_contact_and_declined_support() -> None:
    """Independent is above lost contact and declined support."""
    case = returned_home().record(declined()).record(lost()).record(independent())
    assert case.status is SurvivorStatus.INDEPENDENT


def test_the_later_of_independent_and_re_trafficked_holds() -> None:
    """Re-trafficked after independent: re-trafficked; independent after re-trafficked:
    independent."""
    case = returned_home()
    first = case.record(independent()).record(retrafficked(uuid4()))
    assert first.status is SurvivorStatus.RE_TRAFFICKED
    second = case.record(retrafficked(uuid4())).record(independent())
    assert second.status is SurvivorStatus.INDEPENDENT


def test_re_trafficked_until_the_named_operation_registers_her() -> None:
    """She stays re-trafficked until the operation her case names registers her again; then
    her journey there is her status."""
    case = returned_home()
    search = reported()
    case = case.record(retrafficked(search.operation_id))
    assert case.status is SurvivorStatus.RE_TRAFFICKED
    (slot,) = case.state.standing().open_retraffickings
    assert slot[1] == search.operation_id
    again = a_survivor("MM", survivor_id=str(case.survivor_id), personal=None)
    found = search.record(recovery(again), standings={case.survivor_id: case.state.standing()})
    case = case.seeing(found, search.state.version)
    assert case.status is SurvivorStatus.ABROAD
    assert case.state.operations[-1] == search.operation_id
    assert case.state.standing().open_retraffickings == ()


def test_a_registration_by_another_operation_leaves_her_re_trafficked() -> None:
    """Only the named operation ends re-trafficked; the standing refuses any other anyway."""
    case = returned_home()
    case = case.record(retrafficked(uuid4()))
    other = reported()
    again = a_survivor("MM", survivor_id=str(case.survivor_id), personal=None)
    sentence = other.refusal(recovery(again), standings={case.survivor_id: case.state.standing()})
    assert "SurvivorRetrafficked naming it" in sentence
    assert case.status is SurvivorStatus.RE_TRAFFICKED


def test_lost_contact_until_contact_restored() -> None:
    """Lost contact holds until ContactRestored, then her journey shows again."""
    case = returned_home().record(lost())
    assert case.status is SurvivorStatus.LOST_CONTACT
    assert case.record(restored()).status is SurvivorStatus.HOME


def test_lost_contact_outranks_declined_support() -> None:
    """Declined support and then lost contact: lost contact shows."""
    case = returned_home().record(declined(), lost())
    assert case.status is SurvivorStatus.LOST_CONTACT


def test_declined_support_until_a_later_service() -> None:
    """Declined support holds until she accepts a service."""
    case = returned_home().record(declined())
    assert case.status is SurvivorStatus.DECLINED_SUPPORT
    assert case.record(service()).status is SurvivorStatus.IN_AFTERCARE


def test_declined_support_until_contact_is_restored() -> None:
    """Declined support ends with restored contact."""
    case = returned_home().record(declined(), lost(), restored())
    assert case.status is SurvivorStatus.HOME


def test_a_service_recorded_on_an_operation_also_ends_declined_support() -> None:
    """A (v1) service on the operation counts as a later support too."""
    case, operation = a_case("VN")
    moved = operation.record(returned(case.survivor_id))
    case = case.seeing(moved, operation.state.version).record(declined())
    served = moved.record(supported(case.survivor_id))
    case = case.seeing(served, moved.state.version)
    assert case.status is SurvivorStatus.IN_AFTERCARE


def test_her_case_gives_the_standing_operations_judge_by() -> None:
    """The standing carries her registrations, her case status and her erasure."""
    case = returned_home().record(lost())
    standing = case.state.standing()
    assert standing.registered_by == case.state.operations
    assert standing.case_status is SurvivorStatus.LOST_CONTACT
    assert not standing.erased


# --- Consent ----------------------------------------------------------------------------------


def test_a_minor_s_consent_needs_her_guardian() -> None:
    """Sixteen at her rescue and a year later: her own consent is refused, her guardian's
    accepted."""
    case, _ = a_case(age=16)
    a_year_on = T0 + YEAR
    assert case.refusal(consent("survivor", at=a_year_on)) == (
        "ConsentRecorded for a minor needs given_by guardian; she was under 18 when the "
        "consent was given."
    )
    assert case.record(consent("guardian", at=a_year_on)).state.consent_for(
        ConsentPurpose.PROSECUTION
    )


def test_a_survivor_who_came_of_age_consents_herself() -> None:
    """Sixteen at her rescue and two years (and a bit) later: she consents herself."""
    case, _ = a_case(age=16)
    after = case.record(consent("survivor", at=T0 + 2 * YEAR + DAY))
    assert after.state.consent_for(ConsentPurpose.PROSECUTION)


def test_an_adult_consents_herself() -> None:
    """Twenty at her rescue: her own consent stands."""
    case, _ = a_case(age=20)
    assert case.record(consent("survivor")).state.consent_for(ConsentPurpose.PROSECUTION)


def test_withdrawal_needs_a_standing_consent() -> None:
    """ConsentWithdrawn without a standing consent for that purpose and recipient is refused;
    after a consent it withdraws it, once."""
    case, _ = a_case()
    expected = (
        "ConsentWithdrawn needs a standing consent for prosecution to 'Lao Cai court'; there is "
        "none."
    )
    assert case.refusal(withdrawal()) == expected
    given = case.record(consent())
    withdrawn = given.record(withdrawal())
    assert not withdrawn.state.consent_for(ConsentPurpose.PROSECUTION)
    assert withdrawn.refusal(withdrawal()) == expected
    assert given.refusal(withdrawal("media")).startswith(
        "ConsentWithdrawn needs a standing consent for media"
    )


# --- Contact and re-trafficking ---------------------------------------------------------------


def test_contact_restored_needs_lost_contact() -> None:
    """ContactRestored without lost contact is refused."""
    case, _ = a_case()
    assert case.refusal(restored()) == "ContactRestored needs contact to have been lost."


def test_contact_is_lost_once() -> None:
    """A second ContactLost while lost is refused."""
    case, _ = a_case()
    assert case.record(lost()).refusal(lost()) == (
        "ContactLost needs contact; it was lost already."
    )


def test_re_trafficking_cannot_name_an_operation_that_registered_her() -> None:
    """SurvivorRetrafficked names the operation that will look for her, not one that found her."""
    case, operation = a_case()
    assert case.refusal(retrafficked(operation.operation_id)) == (
        f"SurvivorRetrafficked names operation {operation.operation_id}, which registered her "
        f"already; name the operation that will look for her now."
    )


def test_independent_is_recorded_once() -> None:
    """A second SurvivorIndependent is refused."""
    case = returned_home().record(independent())
    assert case.refusal(independent()) == (
        "SurvivorIndependent is recorded once; she is independent already."
    )


# --- Registration and kinds -------------------------------------------------------------------


def test_a_case_nobody_registered_is_not_found() -> None:
    """Recording on the case of a survivor no operation registered answers not found."""
    nobody = Case(SurvivorCase(uuid4()), ())
    assert nobody.refusal(service(), error=NotFound).endswith("is not registered by any operation.")


def test_an_operation_event_is_refused_on_her_case() -> None:
    """Event types of an operation are not recorded on a case."""
    case, _ = a_case("VN")
    sentence = case.refusal(returned(case.survivor_id))
    assert sentence == "SurvivorReturned is not recorded on a survivor's case."


def test_an_empty_batch_is_refused() -> None:
    """A batch without events is refused."""
    case, _ = a_case()
    assert case.refusal() == "A batch records at least one event."


# --- Roles ------------------------------------------------------------------------------------


def test_legal_records_consents() -> None:
    """The legal team records and withdraws consents."""
    case, _ = a_case()
    assert (
        not case.record(consent(), actor=LEGAL)
        .record(withdrawal(), actor=LEGAL)
        .state.consent_for(ConsentPurpose.PROSECUTION)
    )


@pytest.mark.parametrize(
    "event",
    [service, lost, declined, independent, lambda: retrafficked(uuid4())],
    ids=["support", "contact-lost", "declined", "independent", "retrafficked"],
)
def test_legal_records_nothing_but_consents(event: Any) -> None:
    """Legal may not record her life after the rescue (403)."""
    case, _ = a_case()
    made = event()
    assert case.refusal(made, actor=LEGAL, error=Forbidden) == (
        f"Role legal may not record {made.type} on a survivor's case."
    )


@pytest.mark.parametrize(
    "event", [consent, service, lost], ids=["consent", "support", "contact-lost"]
)
def test_leadership_records_nothing_on_a_case(event: Any) -> None:
    """Leadership records nothing on her case (403)."""
    case, _ = a_case()
    made = event()
    assert case.refusal(made, actor=LEADER, error=Forbidden) == (
        f"Role leadership may not record {made.type} on a survivor's case."
    )


@pytest.mark.parametrize("actor", [FIELD, ADMIN], ids=["field", "admin"])
def test_field_and_admin_record_her_life_after_the_rescue(actor: Actor) -> None:
    """Field and admin record services, contact, consent and independence."""
    case = returned_home().record(service(), consent(), lost(), restored(), actor=actor)
    assert case.record(independent(), actor=actor).status is SurvivorStatus.INDEPENDENT


@pytest.mark.parametrize("actor", [FIELD, ADMIN], ids=["field", "admin"])
def test_personal_data_erased_is_not_posted_on_a_case(actor: Actor) -> None:
    """PersonalDataErased comes only through `erase`, not in a batch, even from admin."""
    case, _ = a_case()
    erasure = case_event("PersonalDataErased", reason="she asked")
    assert case.refusal(erasure, actor=actor, error=Forbidden) == (
        f"Role {actor.role} may not record PersonalDataErased on a survivor's case."
    )


def test_legal_corrects_only_consents() -> None:
    """Legal may correct a consent, not another event of her case."""
    case, _ = a_case()
    given, note = consent("survivor"), declined()
    case = case.record(given, note)
    fix_consent = case_event(
        "EventCorrected",
        corrects_event_id=str(given.event_id),
        reason="wrong recipient",
        corrected_data={"recipient": "Ha Noi court"},
    )
    assert case.record(fix_consent, actor=LEGAL).state.consents[0].recipient == "Ha Noi court"
    fix_note = case_event("EventCorrected", corrects_event_id=str(note.event_id), reason="typo")
    assert case.refusal(fix_note, actor=LEGAL, error=Forbidden) == (
        "Role legal may correct only consents on a survivor's case."
    )


# --- Erasure ----------------------------------------------------------------------------------


def erasure(survivor_id: UUID) -> EraseSurvivorData:
    return EraseSurvivorData(survivor_id, "she asked", uuid4(), T0 + DAY)


def test_admin_erases_her_personal_data() -> None:
    """`erase` records PersonalDataErased naming her; her case and standing say erased."""
    case, _ = a_case()
    (event,) = erase(case.state, erasure(case.survivor_id), ADMIN)
    assert isinstance(event.data, PersonalDataErased)
    assert event.data.survivor_id == case.survivor_id
    stored = DomainEvent(
        case.survivor_id, event.event_id, event.type, event.data, event.occurred_at, ADMIN, 1
    )
    after = evolve_case(case.state, stored)
    assert after.erased
    assert after.standing().erased
    assert after.version == 1


@pytest.mark.parametrize("actor", [FIELD, LEGAL, LEADER], ids=["field", "legal", "leadership"])
def test_only_admin_erases(actor: Actor) -> None:
    """Field, legal and leadership may not erase (403)."""
    case, _ = a_case()
    with pytest.raises(Forbidden, match=f"Role {actor.role} may not erase personal data"):
        erase(case.state, erasure(case.survivor_id), actor)


def test_erasing_twice_records_nothing() -> None:
    """Erasing an erased survivor's data again records no second event."""
    case, _ = a_case()
    (event,) = erase(case.state, erasure(case.survivor_id), ADMIN)
    stored = DomainEvent(
        case.survivor_id, event.event_id, event.type, event.data, event.occurred_at, ADMIN, 1
    )
    assert erase(evolve_case(case.state, stored), erasure(case.survivor_id), ADMIN) == []


def test_erasing_a_survivor_nobody_registered_is_not_found() -> None:
    """An unknown survivor's erasure answers not found."""
    nobody = uuid4()
    with pytest.raises(NotFound, match=f"No operation registered survivor {nobody}"):
        erase(SurvivorCase(nobody), erasure(nobody), ADMIN)


def test_an_erasure_recorded_on_an_older_operation_counts() -> None:
    """Older records hold PersonalDataErased on the operation: her case folds it too."""
    case, operation = a_case()
    older = DomainEvent(
        operation.operation_id,
        uuid4(),
        "PersonalDataErased",
        PersonalDataErased(survivor_id=case.survivor_id, reason="asked in 2021"),
        T0 + DAY,
        ADMIN,
        operation.state.version + 1,
    )
    assert evolve_case(case.state, older).erased


# --- The fold ---------------------------------------------------------------------------------


def test_fold_case_gives_what_judging_gave() -> None:
    """Folding every event that concerns her gives the state the judge returned."""
    case = returned_home().record(consent(), declined()).record(service(), lost())
    assert fold_case(case.survivor_id, list(case.history)) == case.state


def test_operation_events_naming_someone_else_leave_her_journey() -> None:
    """Another survivor's return on the same operation does not move her."""
    case, operation = a_case("VN")
    other = a_survivor("VN")
    (other_id,) = [UUID(other["survivor_id"])]
    moved = operation.record(recovery(other), returned(other_id))
    seen = case.seeing(moved, operation.state.version)
    assert seen.state.journey == case.state.journey
    assert seen.state.operations == (operation.operation_id,)
