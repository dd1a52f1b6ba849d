"""The court file: the printable page a judge reads, opened through a signed link with no token.

A whole rescue of 23 events reads as one sentence per event with its fields beneath, personal
data opened for legal (or marked erased), local times with UTC, a correction beside its
original, and no JSON; it prints on a few A4 pages and reads on a phone. The link opens
without a header, is logged, expires, and every forgery of it is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from coordinator.domain.actors import Actor, Role
from coordinator.http.court import COURT_LINKS
from coordinator.i18n.catalogues import catalogue, languages
from coordinator.service.court.fields import definitions
from coordinator.service.court.narrative import SENTENCES, People, what_happened
from coordinator.service.court.times import Clock
from coordinator.service.court_links import CourtLinks
from coordinator.service.tokens import create_token, revoke_token
from events.catalogue import EventType
from tests.api import Caller, Client, a_case_report, a_survivor, event, to_approval
from tests.test_board_page import CHROMIUM

SHA = "ab" * 32
REPORTED = "2020-10-14T10:00:00+07:00"


def at(moment: str, text_type: str, **data: Any) -> dict[str, Any]:
    """An event that happened at `moment`."""
    return {**event(text_type, **data), "occurred_at": moment}


async def a_whole_rescue(callers: dict[Role, Caller]) -> tuple[str, list[str]]:
    """From the mother's report to the verdict: 23 events, one corrected; the operation and the
    two girls' survivor ids."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    leadership, admin = callers[Role.LEADERSHIP], callers[Role.ADMIN]
    report = a_case_report(reference="BD-2020-037")
    report["missing_persons"][0]["personal"] = {"name": "Lan"}
    opened = await field.post("/v1/operations", {"data": report, "occurred_at": REPORTED})
    assert opened.status == 201, await opened.text()
    operation = str((await opened.json())["operation_id"])
    located = await field.record(
        operation,
        at("2020-10-15T09:00:00+07:00", "InvestigationOpened", lead_investigator="Investigator A"),
        at("2020-10-16T09:00:00+07:00", "LeadRecorded", source="informant", reliability="B"),
        at("2020-10-17T09:00:00+07:00", "LocationConfirmed", country="CN", place="Hekou"),
        at(
            "2020-10-18T09:00:00+07:00",
            "PartnerEngaged",
            agency="Yunnan Public Security",
            agency_type="police",
            country="CN",
        ),
        at(
            "2020-10-19T09:00:00+07:00",
            "RescuePlanned",
            planned_for="2020-10-20T06:00:00+07:00",
            team=["Rescuer A"],
            risk="high",
        ),
    )
    await leadership.record(operation, at("2020-10-19T15:00:00+07:00", "RescueApproved"))
    girls = [
        a_survivor(personal={"name": "Lan"}),
        a_survivor(personal={"name": "Mai"}, age_at_rescue=17),
    ]
    ids = [girl["survivor_id"] for girl in girls]
    await field.record(
        operation,
        at("2020-10-20T06:30:00+07:00", "RescueExecuted", outcome="success", survivors=girls),
        at(
            "2020-10-20T12:00:00+07:00",
            "CustodyTransferred",
            survivor_ids=ids,
            from_party={"agency": "Yunnan Public Security", "country": "CN"},
            to_party={"agency": "Border Guard Lao Cai", "country": "VN"},
        ),
        at(
            "2020-10-20T16:00:00+07:00",
            "SurvivorReturned",
            survivor_ids=ids,
            place="Lao Cai",
            destination="shelter",
        ),
    )
    await legal.record(
        operation,
        at("2020-10-21T09:00:00+07:00", "TestimonyRecorded", survivor_id=ids[0],
           recorded_by="Lawyer D", sha256=SHA),
        at("2020-10-21T10:00:00+07:00", "EvidenceLogged", description="phone records",
           sha256=SHA, custodian="Lawyer D"),
        at("2020-10-22T09:00:00+07:00", "ProsecutionUpdated", phase="complaint_filed"),
    )  # fmt: skip
    await field.record(
        operation,
        at("2020-10-24T09:00:00+07:00", "StatusNoted", note="both girls in the shelter",
           place="Lao Cai"),
        at("2020-10-25T09:00:00+07:00", "FamilyReunited", survivor_id=ids[0],
           family_present=["mother"]),
        at("2020-10-25T10:00:00+07:00", "FamilyReunited", survivor_id=ids[1]),
        at("2020-10-26T09:00:00+07:00", "SupportProvided", survivor_id=ids[0],
           service="counselling"),
        at("2020-10-26T10:00:00+07:00", "SupportProvided", survivor_id=ids[1], service="shelter"),
        at("2020-10-27T09:00:00+07:00", "StatusNoted", note="both girls settled"),
        at("2020-10-28T09:00:00+07:00", "EventCorrected",
           corrects_event_id=located["events"][2]["event_id"],
           reason="the brothel was in Hekou's old town",
           corrected_data={"place": "Hekou old town"}),
    )  # fmt: skip
    await legal.record(operation, at("2021-03-01T09:00:00+07:00", "ProsecutionUpdated",
                                     phase="trial"))  # fmt: skip
    await admin.record(operation, at("2021-06-01T09:00:00+07:00", "OperationClosed",
                                     reason="survivors_independent"))  # fmt: skip
    last = await legal.record(
        operation,
        at("2021-06-02T09:00:00+07:00", "ProsecutionUpdated", phase="verdict",
           summary="traffickers convicted"),
    )  # fmt: skip
    assert last["version"] == 23
    for survivor_id in ids:  # minors: their guardians consent to the prosecution's use
        await consent(legal, survivor_id)
    return operation, ids


async def consent(legal: Caller, survivor_id: str, *, withdrawn: bool = False) -> None:
    """Her guardian's consent to the prosecution's use of her record (or its withdrawal)."""
    data = {"purpose": "prosecution", "recipient": "Procuracy"}
    if withdrawn:
        change = event("ConsentWithdrawn", **data)
    else:
        change = event("ConsentRecorded", **data, given_by="guardian")
    response = await legal.post(f"/v1/survivors/{survivor_id}/events", {"events": [change]})
    assert response.status == 201, await response.text()


@pytest.fixture(scope="module")
async def rescue(callers: dict[Role, Caller]) -> tuple[str, list[str]]:
    """One whole rescue, shared by the tests that only read it."""
    return await a_whole_rescue(callers)


async def link_of(caller: Caller, operation: str, **body: Any) -> dict[str, Any]:
    """A signed link made by `caller`."""
    response = await caller.post(f"/v1/operations/{operation}/audit-trail/links", body)
    assert response.status == 201, await response.text()
    made: dict[str, Any] = await response.json()
    return made


async def page_of(client: Client, url: str, status: int = 200) -> str:
    """The page behind a link, fetched with no header at all."""
    response = await client.get(url)
    assert response.status == status, await response.text()
    return await response.text()


# --- the page -------------------------------------------------------------------------------


async def test_the_court_page_tells_the_whole_rescue_in_plain_sentences(
    client: Client, callers: dict[Role, Caller], legal: Caller, rescue: tuple[str, list[str]]
) -> None:
    """One sentence per event in local time with UTC, names opened for legal, no JSON."""
    operation, _ids = rescue
    page = await page_of(client, (await link_of(legal, operation))["url"])
    field_name = re.escape(await name_of(callers[Role.FIELD], operation))
    assert re.search(
        r"14 Oct 2020, 10:00 Hanoi time \(03:00 UTC\): the mother reported Lan missing "
        rf"\(by family\); suspected sexual exploitation in China; case BD-2020-037; "
        rf"recorded by {field_name} \(field\)\.",
        page,
    )
    assert "the rescue succeeded; 2 freed: Lan and Mai" in page
    assert "Lan and Mai handed from Yunnan Public Security (China) to Border Guard Lao Cai" in page
    assert "the prosecution reached the verdict stage: traffickers convicted" in page
    assert page.count("<article") == 23
    assert page.index("What was verified") < page.index("<article")
    for absent in ("{&quot;", '{"', "`", "ciphertext", "AES-256-GCM", "sealed"):
        assert absent not in page, absent
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", page), "no microseconds"
    assert "Checkpoint signature" in page
    assert "Appendix: hashes and keys" in page


async def test_the_court_page_tells_the_rescue_in_vietnamese_when_asked(
    client: Client, callers: dict[Role, Caller], legal: Caller, rescue: tuple[str, list[str]]
) -> None:
    """`?lang=vi` (or a Vietnamese browser) gives the same record in Vietnamese: sentences,
    field labels and vocabularies; names, references and free text as recorded."""
    operation, _ids = rescue
    url = (await link_of(legal, operation))["url"]
    field_name = re.escape(await name_of(callers[Role.FIELD], operation))
    for page in (
        await page_of(client, url + "?lang=vi"),
        await (await client.get(url, headers={"Accept-Language": "vi-VN,vi;q=0.9"})).text(),
    ):
        assert re.search(
            r"14 thg 10, 2020, 10:00 giờ Hà Nội \(03:00 UTC\): người mẹ trình báo Lan mất tích "
            r"\(qua kênh gia đình\); nghi bị bóc lột tình dục tại Trung Quốc; hồ sơ số "
            rf"BD-2020-037; người ghi: {field_name} \(hiện trường\)\.",
            page,
        )
        assert "cuộc giải cứu thành công; 2 người được giải thoát: Lan và Mai" in page
        assert (
            "Lan và Mai được bàn giao từ Yunnan Public Security (Trung Quốc) cho Border Guard "
            "Lao Cai (Việt Nam)" in page
        )
        assert "phiên bản 4 đã được đính chính: the brothel was in Hekou&#x27;s old town" in page
        assert "vụ án chuyển sang giai đoạn tuyên án: traffickers convicted" in page
        assert "<dt>Kênh tiếp nhận</dt>" in page
        assert page.count("<article") == 23
        for english in ("reported", "handed from", "was corrected", "Channel", "recorded by"):
            assert english not in page, english


async def name_of(caller: Caller, operation: str) -> str:
    """The token name the service recorded for `caller`'s events."""
    view = await (await caller.get(f"/v1/operations/{operation}")).json()
    return str(view["timeline"][0]["recorded_by"])


async def test_a_correction_is_shown_beside_the_event_it_corrects(
    client: Client, legal: Caller, rescue: tuple[str, list[str]]
) -> None:
    """The location's article holds the correction's reason and corrected place."""
    operation, _ = rescue
    page = await page_of(client, (await link_of(legal, operation))["url"])
    original = page[page.index("<article class='' id=v4>") :]
    original = original[: original.index("</article>")]
    assert "Corrected</strong> by version 20" in original
    assert "the brothel was in Hekou&#x27;s old town" in original
    assert "Hekou old town" in original
    assert "version 4 was corrected: the brothel was in Hekou&#x27;s old town" in page


async def test_personal_data_is_marked_erased_after_an_erasure(
    client: Client, callers: dict[Role, Caller]
) -> None:
    """Erasing one girl leaves her sister's name and shows hers as erased."""
    legal, admin = callers[Role.LEGAL], callers[Role.ADMIN]
    operation, ids = await a_whole_rescue(callers)
    before = await page_of(client, (await link_of(legal, operation))["url"])
    assert "Mai" in before
    response = await admin.client.delete(
        f"/v1/survivors/{ids[1]}/personal-data",
        json={"reason": "she asked"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 200, await response.text()
    after = await page_of(client, (await link_of(legal, operation))["url"])
    assert "Mai" not in after
    assert "Lan" in after
    assert "<strong class=erased>erased</strong>" in after
    assert f"survivor {ids[1][:8]} (name erased)" in after


@pytest.mark.unit
@pytest.mark.parametrize("language", languages())
def test_every_event_type_of_every_stream_has_a_sentence(language: str) -> None:
    """No type of the catalogue falls back to the generic sentence, in any language, and no
    sentence of another language than English is left in English; an unknown type gets the
    generic one."""
    assert set(SENTENCES) == set(EventType)
    people = People({}, frozenset(), str(uuid.uuid4()))
    clock = dataclasses.replace(Clock.of(), language=language)
    english = dataclasses.replace(clock, language="en")
    generic = catalogue(language).messages["event.unknown"].split("{type}")[0]
    for event_type, data in EXAMPLES.items():
        sentence = what_happened(event_type, data, people, clock=clock, versions={})
        assert not sentence.startswith(generic), (event_type, sentence)
        assert "{" not in sentence, (event_type, sentence)
        if language != "en":
            in_english = what_happened(event_type, data, people, clock=english, versions={})
            assert sentence != in_english, (event_type, sentence)
    assert set(EXAMPLES) == set(EventType)
    unknown = what_happened("Teleported", {}, people, clock=clock, versions={})
    assert unknown == catalogue(language).text("event.unknown", type="Teleported")
    if language == "en":
        assert unknown == "an event of type Teleported was recorded"


@pytest.mark.unit
def test_the_sentences_and_fields_read_in_vietnamese() -> None:
    """A Vietnamese court reads the events in Vietnamese: people, vocabularies, counts and field
    labels from the catalogue; names, references and free text as recorded."""
    people = People({SID: "Lan"}, frozenset(), SID)
    clock = dataclasses.replace(Clock.of(), language="vi", name="giờ Hà Nội")
    report = a_case_report(reference="BD-2020-037")
    report["missing_persons"][0]["personal"] = {"name": "Lan"}

    def said(event_type: str, **data: Any) -> str:
        return what_happened(event_type, data, people, clock=clock, versions={SID: 4})

    assert said("CaseReported", **report) == (
        "người mẹ trình báo Lan mất tích (qua kênh gia đình); nghi bị bóc lột tình dục tại "
        "Trung Quốc; hồ sơ số BD-2020-037"
    )
    girl = a_survivor(age_at_rescue=16, home_province="Hà Giang")
    del girl["personal"]
    assert said("RescueExecuted", outcome="success", survivors=[girl]) == (
        "cuộc giải cứu thành công; 1 người được giải thoát: một bé gái 16 tuổi quê ở Hà Giang"
    )
    assert (
        said(
            "CustodyTransferred",
            survivor_ids=[SID],
            from_party={"agency": "Công an Vân Nam", "country": "CN"},
            to_party={"agency": "Đồn Biên phòng Lào Cai", "country": "VN"},
        )
        == "Lan được bàn giao từ Công an Vân Nam (Trung Quốc) cho Đồn Biên phòng Lào Cai (Việt Nam)"
    )
    assert said("EventCorrected", corrects_event_id=SID, reason="sai địa chỉ") == (
        "phiên bản 4 đã được đính chính: sai địa chỉ"
    )
    defendant = str(uuid.uuid4())
    assert (
        said("VerdictReached", defendant_id=defendant, verdict="convicted", sentence_months=150)
        == f"bị cáo {defendant[:8]} bị tuyên có tội, với mức án 12 năm và 6 tháng"
    )
    assert said("HearingHeld", held_on="2026-11-02T09:00:00+07:00", kind="appeal") == (
        "phiên tòa phúc thẩm đã diễn ra vào 2 thg 11, 2026, 09:00 giờ Hà Nội (02:00 UTC)"
    )
    fields = definitions(
        {"channel": "family", "home_province": "Hà Giang", "emergency": True}, clock
    )
    assert "<dt>Kênh tiếp nhận</dt><dd>gia đình</dd>" in fields
    assert "<dt>Quê quán (tỉnh)</dt><dd>Hà Giang</dd>" in fields
    assert "<dt>Khẩn cấp</dt><dd>có</dd>" in fields
    sealed = definitions({"personal": {"withheld": "no consent for prosecution"}}, clock)
    assert "không hiển thị: chưa có sự đồng ý cho việc truy tố" in sealed


SID = str(uuid.uuid4())
EXAMPLES: dict[str, dict[str, Any]] = {
    "CaseReported": a_case_report(),
    "InvestigationOpened": {"lead_investigator": "A"},
    "LeadRecorded": {"source": "informant", "reliability": "B"},
    "LocationConfirmed": {"country": "CN"},
    "PartnerEngaged": {"agency": "P", "agency_type": "police", "country": "CN"},
    "RescuePlanned": {"planned_for": "2026-10-20", "risk": "low"},
    "RescueApproved": {},
    "RescueExecuted": {"outcome": "failed"},
    "RescueAborted": {"reason": "the venue moved"},
    "RescueReviewed": {"decision": "concerns"},
    "SurvivorRecovered": {"how": "escaped", "survivors": [a_survivor()]},
    "CustodyTransferred": {
        "survivor_ids": [SID],
        "from_party": {"agency": "A", "country": "CN"},
        "to_party": {"agency": "B", "country": "VN"},
    },
    "SurvivorReturned": {"survivor_ids": [SID], "destination": "home"},
    "FamilyReunited": {"survivor_id": SID},
    "SupportProvided": {"service": "healthcare"},
    "TestimonyRecorded": {"witness": "police", "recorded_by": "D", "sha256": SHA},
    "EvidenceLogged": {"description": "a ledger", "sha256": SHA},
    "ProsecutionUpdated": {"phase": "arrest"},
    "StatusNoted": {"note": "all well"},
    "EventCorrected": {"corrects_event_id": SID, "reason": "typo"},
    "PersonalDataErased": {"reason": "she asked"},
    "OperationClosed": {"reason": "unfounded"},
    "ConsentRecorded": {"purpose": "prosecution", "recipient": "Procuracy", "given_by": "guardian"},
    "ConsentWithdrawn": {"purpose": "media", "recipient": "VTV"},
    "SupportDeclined": {},
    "ContactLost": {},
    "ContactRestored": {"note": "she called"},
    "SurvivorRetrafficked": {"operation_id": SID},
    "SurvivorIndependent": {},
    "ProsecutionOpened": {"case_number": "12/2026", "court": "Court", "operation_ids": [SID]},
    "DefendantCharged": {"defendant_id": SID, "role": "recruiter", "charges": [{"article": "150"}]},
    "HearingHeld": {"held_on": "2026-11-02T09:00:00+07:00", "kind": "trial"},
    "VerdictReached": {"defendant_id": SID, "verdict": "convicted", "sentence_months": 150},
    "AppealFiled": {"defendant_id": SID, "by": "defence"},
    "ProsecutionClosed": {"reason": "verdict final"},
    "AlertAcknowledged": {"alert_id": SID, "note": "seen by the director"},
    "TeamAssigned": {"team": "Lao Cai team"},
    "TeamUnassigned": {"team": "Lao Cai team"},
}


# --- the signed link ------------------------------------------------------------------------


async def test_the_link_opens_without_a_header_and_each_opening_is_logged(
    client: Client, legal: Caller, rescue: tuple[str, list[str]]
) -> None:
    """Two openings, two access-log entries under the link's maker, format html."""
    operation, _ = rescue
    made = await link_of(legal, operation, minutes=5)
    assert made["url"].startswith("/court/")
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5)
    log = f"/v1/audit/access-log?operation_id={operation}&limit=1000"
    entries_before = (await (await legal.get(log)).json())["entries"]
    for _ in range(2):
        response = await client.get(made["url"])
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
    entries = (await (await legal.get(log)).json())["entries"][len(entries_before) :]
    assert [(e["what"], e["format"], e["actor_role"]) for e in entries] == [
        ("audit_trail", "html", "legal")
    ] * 2
    assert all(e["actor_name"].startswith("link by legal-") for e in entries)


async def test_only_legal_and_admin_make_links_within_the_limits(
    client: Client, callers: dict[Role, Caller], rescue: tuple[str, list[str]]
) -> None:
    """Field and leadership may not; no token is a 401; minutes 1 to 1440; a real operation."""
    operation, _ = rescue
    path = f"/v1/operations/{operation}/audit-trail/links"
    for role in (Role.FIELD, Role.LEADERSHIP):
        assert (await callers[role].post(path, {})).status == 403
    assert (await client.post(path, json={})).status == 401
    admin = callers[Role.ADMIN]
    assert (await admin.post(path, {})).status == 201
    no_body = await admin.client.post(path, headers={"Authorization": f"Bearer {admin.token}"})
    assert no_body.status == 201
    for body in ({"minutes": 0}, {"minutes": 1441}, {"minutes": "60"}, {"hours": 1}):
        assert (await admin.post(path, body)).status == 422, body
    assert (await admin.post(path, {"minutes": 1440})).status == 201
    missing = f"/v1/operations/{uuid.uuid4()}/audit-trail/links"
    assert (await admin.post(missing, {})).status == 404


async def test_a_link_answers_410_once_it_expired(
    client: Client, legal: Caller, rescue: tuple[str, list[str]]
) -> None:
    """With the service's clock an hour on, the hour-long link is gone."""
    operation, _ = rescue
    made = await link_of(legal, operation)
    links = client.server.app[COURT_LINKS]
    real_clock = links.clock
    links.clock = lambda: real_clock() + timedelta(minutes=60)
    try:
        page = await page_of(client, made["url"], status=410)
    finally:
        links.clock = real_clock
    assert "expired" in page
    await page_of(client, made["url"])


def _flip(text: str, index: int) -> str:
    """`text` with the base64url character at `index` changed."""
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_every_forgery_of_a_link_is_refused_and_nothing_is_logged(
    client: Client,
    callers: dict[Role, Caller],
    legal: Caller,
    rescue: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    """Altered, spliced, re-dated, re-targeted, foreign-key and malformed links all answer 404."""
    operation, _ = rescue
    other = await callers[Role.FIELD].open()
    token = (await link_of(legal, operation))["url"].removeprefix("/court/")
    other_token = (await link_of(legal, other))["url"].removeprefix("/court/")
    claim_text, mac_text = token.split(".")
    claim = json.loads(_decode(claim_text))
    retargeted = _encode(json.dumps({**claim, "operation_id": other}).encode())
    redated = _encode(json.dumps({**claim, "expires_at": claim["expires_at"] + 86400}).encode())
    as_admin = _encode(json.dumps({**claim, "role": "admin"}).encode())
    foreign, _ = CourtLinks(tmp_path).make(uuid.UUID(operation), Actor(claim["by"], Role.LEGAL), 60)
    forgeries = {
        "random": _encode(b"x" * 40) + "." + _encode(b"y" * 32),
        "claim altered": _flip(claim_text, 5) + "." + mac_text,
        "mac altered": claim_text + "." + _flip(mac_text, 3),
        "other operation's mac": claim_text + "." + other_token.split(".")[1],
        "other operation's claim": other_token.split(".")[0] + "." + mac_text,
        "re-targeted": retargeted + "." + mac_text,
        "re-dated": redated + "." + mac_text,
        "role raised": as_admin + "." + mac_text,
        "another service's key": foreign,
        "padded": claim_text + "=." + mac_text,
        "mac cut short": claim_text + "." + mac_text[:-2],
        "no mac": claim_text,
        "three parts": token + ".x",
        "overlong": claim_text + "." + mac_text + "A" * 600,
    }
    log = f"/v1/audit/access-log?operation_id={operation}&limit=1000"
    logged = len((await (await legal.get(log)).json())["entries"])
    for name, forged in forgeries.items():
        response = await client.get(f"/court/{forged}")
        assert response.status == 404, name
        assert response.headers["Cache-Control"] == "no-store", name
    assert len((await (await legal.get(log)).json())["entries"]) == logged
    # A court link is no bearer token either.
    trail = f"/v1/operations/{operation}/audit-trail?format=html"
    response = await client.get(trail, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401


async def test_revoking_the_token_that_made_a_link_ends_the_link(
    client: Client, pool: asyncpg.Pool, rescue: tuple[str, list[str]]
) -> None:
    """A lawyer who leaves takes her links with her: 410 once her token is revoked."""
    operation, _ = rescue
    name = f"leaving-{uuid.uuid4().hex[:6]}"
    lawyer = Caller(client, await create_token(pool, name, Role.LEGAL))
    made = await link_of(lawyer, operation)
    await page_of(client, made["url"])
    await revoke_token(pool, name)
    assert "revoked" in await page_of(client, made["url"], status=410)


# --- on paper and on a phone ----------------------------------------------------------------


async def test_the_whole_rescue_prints_on_a_few_a4_pages(
    client: Client, legal: Caller, rescue: tuple[str, list[str]], tmp_path: Path
) -> None:
    """Headless Chromium prints the 23-event court page on at most 6 pages."""
    operation, _ = rescue
    url = str(client.make_url((await link_of(legal, operation))["url"]))
    pdf = tmp_path / "court.pdf"
    process = await asyncio.create_subprocess_exec(
        chromium_path(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--print-to-pdf={pdf}",
        url,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(process.wait(), 120) == 0
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
    assert 1 <= pages <= 6, f"{pages} pages"


def chromium_path() -> str:
    """The Chromium the tests drive, or a failure that says how to get it."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is needed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@contextlib.asynccontextmanager
async def phone(url: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A headless Chromium 390 pixels wide showing `url`, and its tab's DevTools socket."""
    profile = tempfile.mkdtemp(prefix="homeward-phone-")
    process = await asyncio.create_subprocess_exec(
        chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--window-size=390,844", "--remote-debugging-port=0", f"--user-data-dir={profile}", url,
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        devtools = None
        while devtools is None:
            line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            assert line, "Chromium exited before opening its DevTools port"
            found = re.search(r"DevTools listening on ws://([^/]+)/", line)
            devtools = found.group(1) if found else None
        async with aiohttp.ClientSession() as session:
            targets = await (await session.get(f"http://{devtools}/json/list")).json()
            tab = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                yield socket
    finally:
        process.kill()
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def send(socket: aiohttp.ClientWebSocketResponse, method: str, **params: Any) -> Any:
    """The result of one DevTools command in the tab."""
    await socket.send_json({"id": 1, "method": method, "params": params})
    while True:
        message = await asyncio.wait_for(socket.receive_json(), 10)
        if message.get("id") == 1:
            return message["result"]


async def evaluate(socket: aiohttp.ClientWebSocketResponse, expression: str) -> Any:
    """The value of a JavaScript expression in the tab."""
    result = await send(socket, "Runtime.evaluate", expression=expression, returnByValue=True)
    return result["result"].get("value")


async def test_the_court_page_reads_on_a_390_pixel_phone(
    client: Client, legal: Caller, rescue: tuple[str, list[str]]
) -> None:
    """Nothing is wider than the screen, and the text is at least 15 px."""
    operation, _ = rescue
    url = str(client.make_url((await link_of(legal, operation))["url"]))
    async with phone(url) as socket:
        for _ in range(100):
            if await evaluate(socket, "document.readyState") == "complete":
                break
            await asyncio.sleep(0.1)
        # A phone's screen: headless windows are never narrower than 500 pixels.
        await send(
            socket,
            "Emulation.setDeviceMetricsOverride",
            width=390, height=844, deviceScaleFactor=3, mobile=True,
        )  # fmt: skip
        for _ in range(50):  # the emulated screen takes a frame or two to apply
            if await evaluate(socket, "window.innerWidth") == 390:
                break
            await asyncio.sleep(0.1)
        assert await evaluate(socket, "window.innerWidth") == 390
        assert await evaluate(socket, "document.querySelectorAll('article').length") == 23
        assert await evaluate(socket, "document.documentElement.scrollWidth") <= 390
        size = await evaluate(socket, "parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 15


async def test_a_survivor_s_data_stays_sealed_on_the_page_without_her_consent(
    callers: dict[Role, Caller], client: Client
) -> None:
    """The page leaves the organisation: her name (and her mother's report of her) is opened
    only while her case holds a consent for prosecution, and withheld again once withdrawn."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    missing = str(uuid.uuid4())
    report = a_case_report()
    report["missing_persons"][0].update(missing_person_id=missing, personal={"name": "Hoa"})
    operation = await field.open(**report)
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    girl = a_survivor(personal={"name": "Hoa"}, missing_person_id=missing, age_at_rescue=19)
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))

    async def page() -> str:
        return await page_of(client, (await link_of(legal, operation))["url"] + "?lang=en")

    withheld = await page()
    assert "Hoa" not in withheld
    assert "withheld: no consent for prosecution" in withheld
    await consent(legal, girl["survivor_id"])
    assert "Hoa" in await page()
    await consent(legal, girl["survivor_id"], withdrawn=True)
    assert "Hoa" not in await page()
