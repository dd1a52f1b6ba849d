"""Corrections take effect: `corrected_data` replaces the corrected event's fields in the fold,
within limits (ids stay, the result validates, the latest wins, later events must still hold)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from coordinator.domain import (
    DomainEvent,
    ProposedEvent,
    Standing,
    SurvivorStatus,
    fold_operation,
)
from coordinator.domain.case import evolve_case, fold_case
from coordinator.domain.prosecution import fold_prosecution
from events.catalogue import PersonalDataErased
from tests.test_domain_v2_case import Case, a_case, consent
from tests.test_domain_v2_operation import (
    ADMIN,
    FIELD,
    LEADER,
    T0,
    Stream,
    a_survivor,
    approved,
    emergency_rescue,
    ids_of,
    investigating,
    payload,
    proposed,
    reported,
    rescued,
    returned,
)
from tests.test_domain_v2_prosecution import a_prosecution, charged, verdict

pytestmark = pytest.mark.unit


def correcting(event_id: UUID, reason: str = "typo", **corrected: Any) -> ProposedEvent:
    """A correction of the event `event_id` replacing the fields `corrected`."""
    return proposed(
        "EventCorrected", corrects_event_id=str(event_id), reason=reason, corrected_data=corrected
    )


def event_of(stream: Stream, event_type: str) -> DomainEvent:
    """The last event of `event_type` in the stream."""
    return next(event for event in reversed(stream.events) if event.type == event_type)


def survivors_of(stream: Stream) -> list[dict[str, Any]]:
    """The survivors of the stream's last rescue, as JSON to edit in a correction."""
    dumped: list[dict[str, Any]] = event_of(stream, "RescueExecuted").data.model_dump(mode="json")[
        "survivors"
    ]
    return dumped


def imported(*events: tuple[str, dict[str, Any]]) -> Stream:
    """A stream as an import stores it: the events recorded as they were, rules unjudged."""
    operation_id = uuid4()
    stored = tuple(
        DomainEvent(operation_id, uuid4(), event_type, payload(event_type, **data), T0, ADMIN, n)
        for n, (event_type, data) in enumerate(events, start=1)
    )
    state = fold_operation(list(stored))
    assert state is not None
    return Stream(state, stored)


# --- Corrections take effect ------------------------------------------------------------------


def test_a_corrected_country_moves_her_from_abroad_to_in_transit() -> None:
    """Correcting found_in_country CN -> VN makes her in transit (found at home), in the judged
    state and in the fold of the stored events."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = rescued(hien)
    assert stream.survivor(hien_id) is SurvivorStatus.ABROAD
    fixed = [survivor | {"found_in_country": "VN"} for survivor in survivors_of(stream)]
    rescue_id = event_of(stream, "RescueExecuted").event_id
    after = stream.record(correcting(rescue_id, "she was found in Lao Cai", survivors=fixed))
    assert after.survivor(hien_id) is SurvivorStatus.IN_TRANSIT
    assert after.state.survivors[hien_id].found_in_country == "VN"
    assert fold_operation(list(after.events)) == after.state
    assert after.state.version == stream.state.version + 1


def test_a_corrected_reference_replaces_the_report_s() -> None:
    """Correcting the CaseReported's reference changes the operation's reference."""
    stream = reported(reference="BD-2020-37")
    after = stream.record(correcting(stream.events[0].event_id, reference="BD-2020-037"))
    assert after.state.reference == "BD-2020-037"
    assert fold_operation(list(after.events)) == after.state


def test_the_original_stays_in_the_stream() -> None:
    """The corrected event is still stored as it was; only the fold reads the correction."""
    stream = reported(reference="BD-1")
    after = stream.record(correcting(stream.events[0].event_id, reference="BD-2"))
    assert getattr(after.events[0].data, "reference", None) == "BD-1"


def test_a_correction_may_follow_its_event_in_the_same_batch() -> None:
    """A batch may record a report's note and correct it at once."""
    note = proposed("StatusNoted", note="arived Hekou")
    after = reported().record(note, correcting(note.event_id, note="arrived Hekou"))
    assert after.state.version == 3


def test_the_latest_correction_wins() -> None:
    """Two corrections of one event: the later one's fields are in effect."""
    stream = reported(reference="BD-1")
    report = stream.events[0].event_id
    after = stream.record(correcting(report, reference="BD-2")).record(
        correcting(report, reference="BD-3")
    )
    assert after.state.reference == "BD-3"
    assert fold_operation(list(after.events)) == after.state


# --- What a correction may not do -------------------------------------------------------------


def test_a_correction_cannot_change_an_id() -> None:
    """Replacing a survivor's id, or the survivor a reunion names, is refused."""
    hien = a_survivor("VN")
    stream = rescued(hien)
    other_id = [survivor | {"survivor_id": str(uuid4())} for survivor in survivors_of(stream)]
    expected = (
        "EventCorrected is refused: a correction cannot change an id; record a new event instead."
    )
    rescue_id = event_of(stream, "RescueExecuted").event_id
    assert stream.refusal(correcting(rescue_id, survivors=other_id)) == expected
    (hien_id,) = ids_of(hien)
    reunion = proposed("FamilyReunited", survivor_id=str(hien_id))
    stream = stream.record(reunion)
    assert stream.refusal(correcting(reunion.event_id, survivor_id=str(uuid4()))) == expected


def test_the_corrected_payload_must_validate() -> None:
    """A correction whose result is not a valid payload is refused with the reason."""
    note = proposed("StatusNoted", note="arrived")
    stream = reported().record(note)
    sentence = stream.refusal(correcting(note.event_id, note=""))
    assert sentence.startswith("EventCorrected is refused: the corrected StatusNoted is not valid")
    assert "note: String should have at least 1 character" in sentence


def test_a_corrected_rescue_must_still_be_a_valid_rescue() -> None:
    """A successful rescue corrected to `failed` with its survivors is not a valid payload."""
    stream = rescued(a_survivor())
    sentence = stream.refusal(
        correcting(event_of(stream, "RescueExecuted").event_id, outcome="failed")
    )
    assert sentence.startswith("EventCorrected is refused: the corrected RescueExecuted")
    assert "a failed rescue frees no survivors" in sentence


def test_a_correction_is_not_corrected() -> None:
    """Correcting a correction is refused; the original is corrected again instead."""
    stream = reported(reference="BD-1")
    fix = correcting(stream.events[0].event_id, reference="BD-2")
    stream = stream.record(fix)
    assert stream.refusal(correcting(fix.event_id, reason="again")) == (
        "EventCorrected cannot correct EventCorrected; correct the original event again (the "
        "latest correction wins)."
    )


def test_an_erasure_is_not_corrected_on_an_older_operation() -> None:
    """A PersonalDataErased that an older record holds on the operation cannot be corrected."""
    hien = a_survivor("VN")
    (hien_id,) = ids_of(hien)
    stream = imported(
        ("CaseReported", {"channel": "family"}),
        ("SurvivorRecovered", {"how": "escaped", "survivors": [hien]}),
        ("PersonalDataErased", {"survivor_id": str(hien_id), "reason": "she asked"}),
    )
    erasure = event_of(stream, "PersonalDataErased").event_id
    assert stream.refusal(correcting(erasure, reason="mistake")) == (
        "EventCorrected cannot correct PersonalDataErased; an erasure is final."
    )


def test_a_correction_that_breaks_a_later_return_is_refused() -> None:
    """Found in VN and returned without a crossing; correcting her country to CN would leave
    that return without a handoff: refused, naming the return and its rule."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    stream = rescued(mai).record(returned(mai_id))
    fixed = [survivor | {"found_in_country": "CN"} for survivor in survivors_of(stream)]
    sentence = stream.refusal(
        correcting(event_of(stream, "RescueExecuted").event_id, survivors=fixed)
    )
    version = event_of(stream, "SurvivorReturned").version
    assert sentence.startswith(
        f"EventCorrected is refused: with it, SurvivorReturned (version {version}) would break "
        f"a rule. SurvivorReturned needs a survivor found abroad to come through a "
        f"CustodyTransferred first"
    )


def test_correcting_an_emergency_away_without_approval_is_refused() -> None:
    """An emergency rescue while investigating cannot be corrected into an ordinary one: that
    rescue would then lack its approval."""
    stream = investigating().record(emergency_rescue(a_survivor()))
    rescue_event = event_of(stream, "RescueExecuted")
    sentence = stream.refusal(correcting(rescue_event.event_id, emergency=False))
    assert sentence.startswith(
        f"EventCorrected is refused: with it, RescueExecuted (version {rescue_event.version}) "
        f"would break a rule. RescueExecuted is allowed only once the rescue is approved"
    )


def test_correcting_an_emergency_away_after_its_review_is_refused() -> None:
    """An approved emergency rescue that leadership reviewed: with `emergency: false` the review
    would have had nothing to review."""
    stream = approved().record(emergency_rescue(a_survivor()))
    stream = stream.record(proposed("RescueReviewed", decision="endorsed"), actor=LEADER)
    review = event_of(stream, "RescueReviewed")
    sentence = stream.refusal(
        correcting(event_of(stream, "RescueExecuted").event_id, emergency=False)
    )
    assert sentence == (
        f"EventCorrected is refused: with it, RescueReviewed (version {review.version}) would "
        f"break a rule. RescueReviewed needs an emergency rescue that awaits review."
    )


def test_an_imported_history_past_a_rule_still_takes_corrections() -> None:
    """An import recorded a rescue without approval and a return without handoff; correcting
    the report's reference is allowed, since those events broke their rules before."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = imported(
        ("CaseReported", {"channel": "family", "reference": "BD-2019-01"}),
        ("RescueExecuted", {"outcome": "success", "survivors": [hien]}),
        ("SurvivorReturned", {"survivor_ids": [str(hien_id)], "destination": "home"}),
    )
    after = stream.record(correcting(stream.events[0].event_id, reference="BD-2019-001"))
    assert after.state.reference == "BD-2019-001"
    assert after.survivor(hien_id) is SurvivorStatus.HOME


def test_an_imported_history_refuses_a_correction_that_breaks_a_rule_anew() -> None:
    """On an imported history, a correction that makes an event break a rule it did not break
    before is still refused."""
    mai = a_survivor("VN")
    (mai_id,) = ids_of(mai)
    stream = imported(
        ("CaseReported", {"channel": "family"}),
        ("RescueExecuted", {"outcome": "success", "survivors": [mai]}),
        ("SurvivorReturned", {"survivor_ids": [str(mai_id)], "destination": "home"}),
    )
    rescue_event = event_of(stream, "RescueExecuted")
    fixed = [survivor | {"found_in_country": "CN"} for survivor in survivors_of(stream)]
    sentence = stream.refusal(correcting(rescue_event.event_id, survivors=fixed))
    assert sentence.startswith("EventCorrected is refused: with it, SurvivorReturned (version 3)")


def test_a_correction_needs_the_stream_s_history() -> None:
    """Judging a correction without the stored events is a programming error, not a refusal."""
    stream = reported(reference="BD-1")
    without_history = Stream(stream.state, ())
    with pytest.raises(ValueError, match="needs the stream's history"):
        without_history.record(correcting(stream.events[0].event_id, reference="BD-2"))


def test_a_rescue_corrected_to_partial_opens_a_new_attempt() -> None:
    """A success corrected to partial: the operation may start a new attempt."""
    stream = rescued(a_survivor())
    after = stream.record(
        correcting(event_of(stream, "RescueExecuted").event_id, outcome="partial")
    )
    assert after.state.phase == "investigating"
    lead = proposed("LeadRecorded", source="neighbour", reliability="B")
    assert after.record(lead, actor=FIELD).state.version == after.state.version + 1


# --- On a survivor's case and a prosecution ---------------------------------------------------


def test_a_case_correction_takes_effect() -> None:
    """Correcting a consent's purpose changes which consent stands."""
    case, _ = a_case()
    given = consent(purpose="media")
    case = case.record(given)
    fixed = case.record(correcting(given.event_id, purpose="research"))
    assert [each.purpose for each in fixed.state.consents] == ["research"]
    assert fold_case(case.survivor_id, list(fixed.history)) == fixed.state


def test_a_case_correction_that_breaks_a_minor_s_consent_is_refused() -> None:
    """A minor's guardian's consent corrected to her own is refused, naming the consent."""
    case, _ = a_case(age=15)
    given = consent("guardian")
    case = case.record(given)
    sentence = case.refusal(correcting(given.event_id, given_by="survivor"))
    assert sentence.startswith("EventCorrected is refused: with it, ConsentRecorded (version 1)")
    assert "needs given_by guardian" in sentence


def test_an_erasure_on_her_case_is_not_corrected() -> None:
    """Her case's PersonalDataErased cannot be corrected."""
    case, _ = a_case()
    erased = ProposedEvent.of(PersonalDataErased(reason="she asked"), occurred_at=T0)
    stored = DomainEvent(case.survivor_id, erased.event_id, erased.type, erased.data, T0, ADMIN, 1)
    case = Case(evolve_case(case.state, stored), (*case.history, stored))
    assert case.refusal(correcting(erased.event_id, reason="mistake"), actor=ADMIN) == (
        "EventCorrected cannot correct PersonalDataErased; an erasure is final."
    )


def test_a_case_correction_names_an_event_of_her_case() -> None:
    """Her rescue is corrected on its operation, not on her case."""
    case, operation = a_case()
    rescue_id = event_of(operation, "RescueExecuted").event_id
    assert case.refusal(correcting(rescue_id, reason="age")).startswith(
        f"EventCorrected must name an event of this case; {rescue_id} is not one"
    )


def test_a_prosecution_correction_takes_effect() -> None:
    """Correcting a verdict's sentence changes the defendant's standing sentence."""
    case = a_prosecution().record(charged())
    judged = verdict()
    case = case.record(judged)
    after = case.record(correcting(judged.event_id, sentence_months=120))
    (defendant,) = after.state.defendants.values()
    assert defendant.sentence_months == 120
    assert fold_prosecution(list(after.events)) == after.state


def test_a_prosecution_s_links_are_not_corrected() -> None:
    """The operations and survivors a prosecution concerns stay as recorded."""
    case = a_prosecution()
    opening = case.events[0].event_id
    assert case.refusal(correcting(opening, survivor_ids=[])) == (
        "EventCorrected cannot correct ProsecutionOpened that way; ids and links stay as recorded."
    )


def test_a_prosecution_correction_that_breaks_a_later_verdict_is_refused() -> None:
    """A verdict corrected onto another defendant id is an id change: refused."""
    case = a_prosecution().record(charged())
    judged = verdict()
    case = case.record(judged)
    assert case.refusal(correcting(judged.event_id, defendant_id=str(uuid4()))).startswith(
        "EventCorrected is refused: a correction cannot change an id"
    )


def test_a_rescue_event_outside_the_stream_cannot_be_corrected() -> None:
    """A correction of an id the operation does not hold is refused."""
    stranger = uuid4()
    assert reported().refusal(correcting(stranger)) == (
        f"EventCorrected must name an event of this operation; {stranger} is not one."
    )


def test_a_partial_correction_keeps_the_other_fields() -> None:
    """Only the keys of corrected_data change; the rest of the payload stays."""
    stream = reported(reference="BD-1", channel="hotline")
    after = stream.record(correcting(stream.events[0].event_id, suspected_country="LA"))
    assert (after.state.reference, after.state.country) == ("BD-1", "LA")


def test_a_correction_that_undoes_an_earlier_one_under_a_later_event_is_refused() -> None:
    """Found in CN, corrected to VN, then returned without a crossing (valid: found at home). A
    new correction of the rescue replaces the earlier one (the latest wins), so she is found in
    CN again and that return breaks its rule: refused. The return was not let in past a rule;
    it is only the uncorrected record that would not have allowed it."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = rescued(hien)
    rescue_id = event_of(stream, "RescueExecuted").event_id
    in_vietnam = [survivor | {"found_in_country": "VN"} for survivor in survivors_of(stream)]
    stream = stream.record(correcting(rescue_id, survivors=in_vietnam))
    stream = stream.record(returned(hien_id))
    sentence = stream.refusal(correcting(rescue_id, reason="wording", outcome="success"))
    version = event_of(stream, "SurvivorReturned").version
    assert sentence.startswith(
        f"EventCorrected is refused: with it, SurvivorReturned (version {version}) would break "
        f"a rule."
    )


def test_a_correction_cannot_bring_back_erased_personal_data() -> None:
    """Her personal data was erased (her standing says so): a correction of her rescue that
    carries `personal` for her again is refused, as a new registration with it would be."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = rescued(hien)
    erased = {hien_id: Standing(registered_by=(stream.operation_id,), erased=True)}
    renamed = [survivor | {"personal": {"name": "Hien Vu"}} for survivor in survivors_of(stream)]
    rescue_id = event_of(stream, "RescueExecuted").event_id
    sentence = stream.refusal(correcting(rescue_id, survivors=renamed), standings=erased)
    assert "personal data" in sentence
    assert str(hien_id) in sentence


def test_an_older_invalid_correction_leaves_the_original_in_effect() -> None:
    """Version 1 stored any `corrected_data`; one that gives no valid payload leaves the original
    in effect, so the stream still folds."""
    hien = a_survivor("CN")
    (hien_id,) = ids_of(hien)
    stream = imported(
        ("CaseReported", {"channel": "family"}),
        ("RescueExecuted", {"outcome": "success", "survivors": [hien]}),
    )
    rescue_id = event_of(stream, "RescueExecuted").event_id
    invalid = DomainEvent(
        stream.operation_id,
        uuid4(),
        "EventCorrected",
        payload(
            "EventCorrected",
            corrects_event_id=str(rescue_id),
            reason="v1",
            corrected_data={"survivors": []},
        ),
        T0,
        ADMIN,
        3,
    )
    state = fold_operation([*stream.events, invalid])
    assert state is not None
    assert set(state.survivors) == {hien_id}


def test_her_case_follows_a_correction_of_her_rescue() -> None:
    """A correction recorded on the operation takes effect in her case too: found in VN after
    all, she is in transit there as well."""
    case, operation = a_case("CN")
    assert case.status is SurvivorStatus.ABROAD
    fixed = [survivor | {"found_in_country": "VN"} for survivor in survivors_of(operation)]
    rescue_id = event_of(operation, "RescueExecuted").event_id
    after = operation.record(correcting(rescue_id, survivors=fixed))
    history = [*case.history, after.events[-1]]
    assert fold_case(case.survivor_id, history).status is SurvivorStatus.IN_TRANSIT
