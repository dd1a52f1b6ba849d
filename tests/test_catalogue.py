"""The event catalogue: field names as the design's contract, strict validation, upcasting."""

from __future__ import annotations

import json
import math
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from events.catalogue import (
    EVENT_TYPES,
    ISO_3166_ALPHA_2,
    KIND_EVENT_TYPES,
    LEGAL_EVENT_TYPES,
    OPENED_BY,
    UPCASTERS,
    CaseReported,
    EventData,
    EventType,
    MissingPerson,
    RescueExecuted,
    StatusNoted,
    StreamKind,
    Survivor,
    UnknownEventType,
    UnknownSchemaVersion,
    event_json_schemas,
    is_legal_event,
    kind_opened_by,
    parse_event,
)

pytestmark = pytest.mark.unit

SHA = "ab" * 32

DESIGN_FIELDS: dict[str, set[str]] = {
    "CaseReported": {
        "channel",
        "reference",  # v2
        "reporter",
        "missing_persons",
        "suspected_exploitation",
        "suspected_country",
    },
    "InvestigationOpened": {"lead_investigator"},
    "LeadRecorded": {"source", "reliability", "summary"},
    "LocationConfirmed": {"country", "place", "venue"},
    "PartnerEngaged": {"agency", "agency_type", "country", "contact_officer"},
    "RescuePlanned": {"planned_for", "team", "partners", "risk"},
    "RescueApproved": {"note"},
    "RescueExecuted": {"outcome", "survivors", "emergency", "emergency_reason"},  # v2
    "RescueAborted": {"reason"},
    "RescueReviewed": {"decision", "note"},
    "SurvivorRecovered": {"how", "survivors"},
    "CustodyTransferred": {"survivor_ids", "from_party", "to_party", "place"},
    "SurvivorReturned": {"survivor_ids", "place", "destination", "crossing"},  # v2
    "FamilyReunited": {"survivor_id", "place", "family_present"},
    "SupportProvided": {"survivor_id", "service", "note"},
    "TestimonyRecorded": {"witness", "survivor_id", "recorded_by", "location", "sha256"},  # v2
    "EvidenceLogged": {"description", "sha256", "custodian", "storage"},
    "ProsecutionUpdated": {"phase", "summary", "court"},
    "StatusNoted": {"note", "place"},
    "EventCorrected": {"corrects_event_id", "reason", "corrected_data"},
    "PersonalDataErased": {"survivor_id", "reason"},
    "OperationClosed": {"reason", "note"},
    # A survivor's case (v2).
    "ConsentRecorded": {"purpose", "recipient", "given_by"},
    "ConsentWithdrawn": {"purpose", "recipient"},
    "SupportDeclined": {"note"},
    "ContactLost": set(),
    "ContactRestored": set(),
    "SurvivorRetrafficked": {"operation_id"},
    "SurvivorIndependent": {"note"},
    # A prosecution (v2).
    "ProsecutionOpened": {"case_number", "court", "province", "operation_ids", "survivor_ids"},
    "DefendantCharged": {"defendant_id", "role", "charges", "personal"},
    "HearingHeld": {"held_on", "kind", "outcome"},
    "VerdictReached": {"defendant_id", "verdict", "sentence_months", "compensation"},
    "AppealFiled": {"defendant_id", "by"},
    "ProsecutionClosed": {"reason"},
    # Alerts (issue 16), on the operation an alert concerns.
    "AlertAcknowledged": {"alert_id", "note"},
    "TeamAssigned": {"team"},
    "TeamUnassigned": {"team"},
}
"""The design's field names of every event type (v1's table and v2's additions). Fields not
shown are allowed (v2: "other fields are allowed"), but only as optional ones."""

SURVIVOR_FIELDS = {
    "survivor_id",
    "missing_person_id",  # v2
    "gender",
    "age_at_rescue",
    "age_estimated",  # v2
    "exploitation",
    "form",
    "found_in_country",
    "home_province",
    "ethnic_group",  # v2
    "personal",
}
MISSING_PERSON_FIELDS = {
    "missing_person_id",  # v2
    "gender",
    "age",
    "home_province",
    "last_seen",
    "personal",
}


def a_survivor(**overrides: Any) -> dict[str, Any]:
    """A survivor of a rescue as a client sends it."""
    return {
        "survivor_id": str(uuid4()),
        "gender": "female",
        "age_at_rescue": 17,
        "exploitation": "sexual",
        "form": "forced_marriage",
        "found_in_country": "CN",
        "home_province": "Lao Cai",
        "personal": {"name": "Hien", "date_of_birth": "2003-04-01", "family_contact": None},
    } | overrides


def a_rescue(survivors: int | list[dict[str, Any]] = 2, **overrides: Any) -> dict[str, Any]:
    """A successful rescue's payload freeing `survivors` people (a count or the survivors)."""
    if isinstance(survivors, int):
        survivors = [a_survivor() for _ in range(survivors)]
    return {"outcome": "success", "survivors": survivors} | overrides


def a_case(**overrides: Any) -> dict[str, Any]:
    """A report from a family about one missing daughter."""
    return {
        "channel": "family",
        "reporter": {"relationship": "mother", "personal": {"name": "Lan"}},
        "missing_persons": [{"gender": "female", "age": 16, "home_province": "Dien Bien"}],
        "suspected_exploitation": "sexual",
        "suspected_country": "CN",
    } | overrides


def test_catalogue_holds_every_event_type_of_the_design() -> None:
    """The registry names exactly the event types of the design (v1's twenty and v2's)."""
    assert set(EVENT_TYPES) == set(DESIGN_FIELDS) == set(EventType)


@pytest.mark.parametrize("event_type", sorted(DESIGN_FIELDS))
def test_payload_field_names_are_the_design_s(event_type: str) -> None:
    """Each payload has the design's fields; any other field it has is optional."""
    fields = EVENT_TYPES[event_type].model_fields
    assert DESIGN_FIELDS[event_type] <= set(fields)
    extra = {name for name in set(fields) - DESIGN_FIELDS[event_type] if fields[name].is_required()}
    assert not extra, f"{event_type} requires fields the design does not name: {extra}"


def test_survivor_and_missing_person_fields_are_the_design_s() -> None:
    """A survivor and a missing person have exactly the design's fields (v2 adds the ids that
    link them, the estimate flag and the ethnic group)."""
    assert set(Survivor.model_fields) == SURVIVOR_FIELDS
    assert set(MissingPerson.model_fields) == MISSING_PERSON_FIELDS


def test_v2_fields_are_optional() -> None:
    """`reference`, `missing_person_id`, `age_estimated`, `ethnic_group`, `emergency` and
    `crossing` may be left out; `age_at_rescue` may be null."""
    survivor = a_survivor(age_at_rescue=None)
    rescue = parse_event("RescueExecuted", 2, a_rescue(survivors=[survivor]))
    assert isinstance(rescue, RescueExecuted)
    assert rescue.emergency is False
    assert rescue.survivors[0].age_at_rescue is None
    assert rescue.survivors[0].age_estimated is False
    assert (rescue.survivors[0].missing_person_id, rescue.survivors[0].ethnic_group) == (None, None)
    case = parse_event("CaseReported", 1, a_case())
    assert isinstance(case, CaseReported)
    assert case.reference is None
    returned = parse_event(
        "SurvivorReturned", 1, {"survivor_ids": [str(uuid4())], "destination": "home"}
    )
    assert getattr(returned, "crossing", "missing") is None


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("CaseReported", {"channel": "social_media", "reference": "BD-2020-037"}),
        *[
            ("PartnerEngaged", {"agency": "a", "agency_type": kind, "country": "VN"})
            for kind in ["womens_union", "procuracy", "court", "social_affairs"]
        ],
        ("OperationClosed", {"reason": "handed_to_aftercare"}),
        (
            "SurvivorReturned",
            {"survivor_ids": [str(uuid4())], "destination": "home", "crossing": "on_own"},
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_v2_vocabulary_parses(event_type: str, data: dict[str, Any]) -> None:
    """The v2 channel, agency types, closing reason and crossings are accepted."""
    parsed = parse_event(event_type, EVENT_TYPES[event_type].schema_version, data)
    assert isinstance(parsed, EVENT_TYPES[event_type])


def test_every_event_type_belongs_to_a_kind() -> None:
    """Each event type is recorded on at least one kind of stream; corrections and notes on
    every kind; the openers on their own kind only."""
    kinds = KIND_EVENT_TYPES.values()
    assert set().union(*kinds) == set(EVENT_TYPES)
    assert all({"EventCorrected", "StatusNoted"} <= types for types in kinds)
    assert OPENED_BY[StreamKind.OPERATION] == "CaseReported"
    assert OPENED_BY[StreamKind.PROSECUTION] == "ProsecutionOpened"
    assert "CaseReported" not in KIND_EVENT_TYPES[StreamKind.SURVIVOR_CASE]
    assert "ProsecutionOpened" not in KIND_EVENT_TYPES[StreamKind.OPERATION]


@pytest.mark.parametrize(
    ("first", "kind"),
    [
        ("CaseReported", StreamKind.OPERATION),
        ("ProsecutionOpened", StreamKind.PROSECUTION),
        ("ConsentRecorded", StreamKind.SURVIVOR_CASE),
        ("SupportProvided", StreamKind.SURVIVOR_CASE),
    ],
)
def test_a_stream_s_kind_is_fixed_by_its_first_event(first: str, kind: StreamKind) -> None:
    """CaseReported opens an operation, ProsecutionOpened a prosecution, anything else a case."""
    assert kind_opened_by(first) is kind


@pytest.mark.parametrize("event_type", sorted(DESIGN_FIELDS))
def test_every_type_has_a_schema_version_and_a_json_schema(event_type: str) -> None:
    """Every payload declares its schema version and publishes a JSON schema."""
    assert EVENT_TYPES[event_type].schema_version >= 1
    assert event_json_schemas()[event_type]["title"] == event_type


def test_json_schemas_serialise() -> None:
    """The JSON schemas are plain JSON, ready for the OpenAPI document."""
    assert json.loads(json.dumps(event_json_schemas())) == event_json_schemas()


def test_payloads_are_frozen() -> None:
    """A parsed payload cannot be changed afterwards."""
    note = StatusNoted(note="arrived at the border")
    with pytest.raises(ValidationError):
        note.note = "changed"  # type: ignore[misc]


def test_a_full_case_report_parses() -> None:
    """A report with reporter, missing person and personal data parses."""
    case = parse_event("CaseReported", 1, a_case())
    assert isinstance(case, CaseReported)
    assert case.missing_persons[0].age == 16


def test_unknown_top_level_fields_are_kept() -> None:
    """Fields the catalogue does not show are allowed at the top of `data` and kept."""
    note = parse_event("StatusNoted", 1, {"note": "safe", "weather": {"rain": True}})
    assert note.model_dump(mode="json")["weather"] == {"rain": True}


def test_unknown_nested_fields_are_refused() -> None:
    """Nested objects are closed: an unknown field in a survivor is refused."""
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        parse_event("RescueExecuted", 2, a_rescue(survivors=[a_survivor(nickname="x")]))


def test_personal_objects_are_free_form() -> None:
    """A `personal` object may hold any flat keys, as it is encrypted as a whole."""
    survivor = a_survivor(personal={"name": "Mai", "ciphertext": "abc", "village_code": 7})
    rescue = parse_event("RescueExecuted", 2, a_rescue(survivors=[survivor]))
    assert isinstance(rescue, RescueExecuted)
    assert rescue.survivors[0].personal == {"name": "Mai", "ciphertext": "abc", "village_code": 7}


def test_v1_rescue_reads_through_the_v2_model() -> None:
    """A v1 RescueExecuted with `country` and `age` reads as `found_in_country`/`age_at_rescue`."""
    survivor = a_survivor()
    v1 = dict(survivor)
    v1["country"] = v1.pop("found_in_country")
    v1["age"] = v1.pop("age_at_rescue")
    stored = {"outcome": "partial", "survivors": [v1]}
    rescue = parse_event("RescueExecuted", 1, stored)
    assert isinstance(rescue, RescueExecuted)
    assert rescue.survivors[0].found_in_country == "CN"
    assert rescue.survivors[0].age_at_rescue == 17
    assert "country" in stored["survivors"][0], "the upcaster must not change what is stored"


def test_v1_rescue_with_v2_names_is_refused_as_v1_only_when_invalid() -> None:
    """The v2 schema does not accept v1 names: read as v2, `country` is an unknown field."""
    v1 = a_survivor()
    v1["country"] = v1.pop("found_in_country")
    with pytest.raises(ValidationError):
        parse_event("RescueExecuted", 2, {"outcome": "success", "survivors": [v1]})


def test_rescue_executed_is_at_version_2_with_an_upcaster_from_1() -> None:
    """RescueExecuted's current schema is 2 and an upcaster leads from 1."""
    assert RescueExecuted.schema_version == 2
    assert ("RescueExecuted", 1) in UPCASTERS


def test_unknown_event_type_is_refused_clearly() -> None:
    """An event type outside the catalogue raises an error naming it."""
    with pytest.raises(UnknownEventType, match="'RescueCelebrated'"):
        parse_event("RescueCelebrated", 1, {})


@pytest.mark.parametrize("version", [0, 3])
def test_unknown_schema_version_is_refused(version: int) -> None:
    """A schema version below 1 or above the current one is refused."""
    with pytest.raises(UnknownSchemaVersion, match=f"no schema version {version}"):
        parse_event("RescueExecuted", version, a_rescue())


def test_legal_events_are_testimony_evidence_and_prosecution() -> None:
    """The legal events are testimony, evidence and prosecution (v2: every event of a
    prosecution stream too), and corrections of those."""
    assert {
        "TestimonyRecorded",
        "EvidenceLogged",
        "ProsecutionUpdated",
        "ProsecutionOpened",
        "DefendantCharged",
        "HearingHeld",
        "VerdictReached",
        "AppealFiled",
        "ProsecutionClosed",
    } == LEGAL_EVENT_TYPES
    assert is_legal_event("EventCorrected", "EvidenceLogged")
    assert not is_legal_event("EventCorrected", "StatusNoted")
    assert not is_legal_event("StatusNoted")


def test_country_list_is_iso_3166_alpha_2() -> None:
    """The country list holds the 249 assigned codes, among them Vietnam, China and Myanmar."""
    assert len(ISO_3166_ALPHA_2) == 249
    assert {"VN", "CN", "MM", "LA", "KH", "TH"} <= ISO_3166_ALPHA_2


def test_failed_rescue_frees_nobody() -> None:
    """A failed rescue with survivors is refused."""
    with pytest.raises(ValidationError, match="failed rescue frees no survivors"):
        parse_event("RescueExecuted", 2, a_rescue(outcome="failed"))


def test_emergency_rescue_says_why() -> None:
    """An emergency rescue without `emergency_reason` is refused; with it, it parses."""
    with pytest.raises(ValidationError, match="emergency rescue says why"):
        parse_event("RescueExecuted", 2, a_rescue(emergency=True))
    urgent = parse_event("RescueExecuted", 2, a_rescue(emergency=True, emergency_reason="a call"))
    assert isinstance(urgent, RescueExecuted)
    assert urgent.emergency


def test_a_survivor_s_testimony_names_her() -> None:
    """A testimony by a survivor names her; another witness's need not."""
    with pytest.raises(ValidationError, match="survivor's testimony names her survivor_id"):
        parse_event("TestimonyRecorded", 1, {"recorded_by": "Chi", "sha256": SHA})
    family = {"witness": "family", "recorded_by": "Chi", "sha256": SHA}
    assert parse_event("TestimonyRecorded", 1, family).model_dump()["survivor_id"] is None


def test_a_recovery_registers_somebody() -> None:
    """SurvivorRecovered without survivors is refused."""
    with pytest.raises(ValidationError, match="survivors"):
        parse_event("SurvivorRecovered", 1, {"how": "escaped", "survivors": []})


def test_a_charge_names_an_article() -> None:
    """DefendantCharged needs at least one charge; an article is text."""
    with pytest.raises(ValidationError, match="charges"):
        parse_event(
            "DefendantCharged", 1, {"defendant_id": str(uuid4()), "role": "buyer", "charges": []}
        )
    charged = parse_event(
        "DefendantCharged",
        1,
        {"defendant_id": str(uuid4()), "role": "buyer", "charges": [{"article": "151.2.a"}]},
    )
    assert charged.model_dump()["charges"][0]["article"] == "151.2.a"


def test_successful_rescue_frees_somebody() -> None:
    """A successful rescue without survivors is refused."""
    with pytest.raises(ValidationError, match="at least one survivor"):
        parse_event("RescueExecuted", 2, a_rescue(survivors=0))


NAN = math.nan


def freeing(**survivor: Any) -> dict[str, Any]:
    """A rescue freeing one survivor with these fields changed."""
    return a_rescue(survivors=[a_survivor(**survivor)])


def reported_by(personal: dict[str, Any]) -> dict[str, Any]:
    """A case whose reporter's personal object is `personal`."""
    return a_case(reporter={"personal": personal})


PARTY = {"agency": "Border guard post 3", "country": "CN"}
TRANSFER = {"survivor_ids": [str(uuid4())], "to_party": PARTY}
ROW = dict[str, Any]

INVALID: list[tuple[str, str, str, ROW]] = [
    ("lower-case country", "suspected_country", "CaseReported", a_case(suspected_country="vn")),
    ("unassigned country", "suspected_country", "CaseReported", a_case(suspected_country="XX")),
    ("three-letter country", "country", "LocationConfirmed", {"country": "VNM"}),
    ("bad channel", "channel", "CaseReported", a_case(channel="telegram")),
    ("bad crossing", "crossing", "SurvivorReturned", {"crossing": "swam"}),
    ("bad recovery", "how", "SurvivorRecovered", {"how": "lucky"}),
    ("bad review", "decision", "RescueReviewed", {"decision": "meh"}),
    ("bad consent purpose", "purpose", "ConsentRecorded", {"purpose": "marketing"}),
    ("bad given_by", "given_by", "ConsentRecorded", {"given_by": "neighbour"}),
    ("bad verdict", "verdict", "VerdictReached", {"verdict": "guilty"}),
    ("long sentence", "sentence_months", "VerdictReached", {"sentence_months": 1201}),
    ("bad witness", "witness", "TestimonyRecorded", {"witness": "dog"}),
    ("bad gender", "survivors.0.gender", "RescueExecuted", freeing(gender="f")),
    ("bad exploitation", "survivors.0.exploitation", "RescueExecuted", freeing(exploitation="x")),
    ("bad reliability", "reliability", "LeadRecorded", {"source": "hotline", "reliability": "G"}),
    ("bad close reason", "reason", "OperationClosed", {"reason": "bored"}),
    ("bad survivor uuid", "survivor_id", "FamilyReunited", {"survivor_id": "survivor-1"}),
    ("bad event uuid", "corrects_event_id", "EventCorrected", {"corrects_event_id": "12"}),
    ("age over 120", "survivors.0.age_at_rescue", "RescueExecuted", freeing(age_at_rescue=121)),
    ("negative age", "survivors.0.age_at_rescue", "RescueExecuted", freeing(age_at_rescue=-1)),
    ("age as text", "survivors.0.age_at_rescue", "RescueExecuted", freeing(age_at_rescue="17")),
    (
        "age as bool",
        "missing_persons.0.age",
        "CaseReported",
        a_case(missing_persons=[{"age": True}]),
    ),
    ("no survivor id", "survivors.0.survivor_id", "RescueExecuted", freeing(survivor_id=None)),
    ("upper-case sha256", "sha256", "EvidenceLogged", {"description": "a", "sha256": SHA.upper()}),
    ("short sha256", "sha256", "EvidenceLogged", {"description": "a", "sha256": SHA[:-2]}),
    ("oversize note", "note", "StatusNoted", {"note": "x" * 2001}),
    ("oversize place", "place", "StatusNoted", {"note": "ok", "place": "x" * 201}),
    ("empty note", "note", "StatusNoted", {"note": ""}),
    ("too many survivors", "survivors", "RescueExecuted", a_rescue(survivors=201)),
    ("no survivors named", "survivor_ids", "SurvivorReturned", {"survivor_ids": []}),
    ("naive time", "planned_for", "RescuePlanned", {"planned_for": "2024-05-01T10:00:00"}),
    ("NaN in personal", "reporter.personal.w", "CaseReported", reported_by({"w": NAN})),
    ("object in personal", "reporter.personal.a", "CaseReported", reported_by({"a": {"b": 1}})),
    ("oversize personal", "reporter.personal.a", "CaseReported", reported_by({"a": "x" * 2001})),
    (
        "51 personal keys",
        "reporter.personal",
        "CaseReported",
        reported_by({f"k{i}": i for i in range(51)}),
    ),
    ("NaN in an extra field", "", "StatusNoted", {"note": "ok", "temperature": NAN}),
    ("oversize extra field", "", "StatusNoted", {"note": "ok", "blob": "x" * 10_001}),
    ("51 extra fields", "", "StatusNoted", {"note": "ok"} | {f"f{i}": i for i in range(51)}),
    ("NaN correction", "corrected_data", "EventCorrected", {"corrected_data": {"age": NAN}}),
    (
        "unknown party field",
        "from_party.rank",
        "CustodyTransferred",
        TRANSFER | {"from_party": PARTY | {"rank": 3}},
    ),
]


@pytest.mark.parametrize(
    ("where", "event_type", "data"),
    [pytest.param(where, event_type, data, id=name) for name, where, event_type, data in INVALID],
)
def test_invalid_payloads_are_refused(where: str, event_type: str, data: dict[str, Any]) -> None:
    """Bad countries, enums, UUIDs, ages, digests, sizes and NaN are refused where they are."""
    model = EVENT_TYPES[event_type]
    with pytest.raises(ValidationError) as refused:
        parse_event(event_type, model.schema_version, data)
    places = [
        ".".join(str(part) for part in error["loc"] if part != "plain")  # the personal union's tag
        for error in refused.value.errors()
    ]
    assert any(place.startswith(where) for place in places), places


def test_every_payload_is_an_event_data() -> None:
    """Every registered model derives from the shared frozen base."""
    assert all(issubclass(model, EventData) for model in EVENT_TYPES.values())
    assert all(model.model_config.get("frozen") for model in EVENT_TYPES.values())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"temperature": NAN}, "extra field 'temperature' is not finite JSON"),
        ({"blob": "x" * 10_001}, "extra field 'blob' is over 10000 characters"),
        ({f"f{i}": i for i in range(51)}, "at most 50 fields the catalogue lacks"),
        ({"schema_version": 3}, "extra field 'schema_version' shadows a name"),
        ({"_secret": 1}, "extra field '_secret' shadows a name"),
    ],
    ids=["nan", "oversize", "too-many", "shadows-class-var", "private"],
)
def test_extra_field_refusals_say_why(data: dict[str, Any], message: str) -> None:
    """A refused extra field is named, with the bound it broke."""
    with pytest.raises(ValidationError, match=message):
        parse_event("StatusNoted", 1, {"note": "ok"} | data)
