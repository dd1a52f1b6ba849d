"""The board in Vietnamese and English: the catalogues, the reader's language, impact pushed over
the stream, and the page in a real headless Chromium at desktop and phone width, live."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import string
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright
from pydantic import BaseModel

from coordinator.domain.actors import Role
from coordinator.domain.state import Stage, SurvivorStatus
from coordinator.i18n import catalogues
from coordinator.i18n.catalogues import catalogue, languages, negotiate
from coordinator.service.court.wording import VOCABULARIES
from coordinator.service.trail_page import render_trail
from events.catalogue import EventType
from events.catalogue.registry import EVENT_TYPES
from events.catalogue.vocabulary import Exploitation, Form, Gender, Service
from tests.api import Caller, a_case_report, a_survivor, event, to_approval

CHROMIUM = os.environ.get("COORDINATOR_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("COORDINATOR_BOARD_SCREENSHOTS")
"""Where the browser test saves its screenshots: `docs/screenshots` refreshes the README's."""
WIDTHS = {"desktop": 1280, "phone": 390}
FLAGS = (
    "awaiting_approval",
    "no_update_7_days",
    "awaiting_review",
    "review_overdue",
    "survivor_abroad_30_days",
    "dormant",
)
ALERT_KINDS = (
    "no_update",
    "survivor_abroad_30_days",
    "in_transit_72_hours",
    "review_overdue",
    "aftercare_gap_90_days",
    "consent_needed",
)


# The catalogues, without a database.


@pytest.mark.unit
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_word_of_every_vocabulary_is_in_the_catalogue(language: str) -> None:
    """Stages, statuses, flags, alerts, genders, exploitation, forms and services each have their
    own words in both languages, read from the language's own file."""
    own = catalogues._read(language)
    vocabularies = {
        "stage": [s.value for s in Stage],
        "status": [s.value for s in SurvivorStatus],
        "flag": list(FLAGS),
        "alert": list(ALERT_KINDS),
        "gender": [g.value for g in Gender],
        "exploitation": [*(e.value for e in Exploitation), "unknown"],
        "form": [*(f.value for f in Form), "unknown"],
        "service": [s.value for s in Service],
    }
    missing = [
        f"{v}.{w}" for v, words in vocabularies.items() for w in words if f"{v}.{w}" not in own
    ]
    assert missing == []


@pytest.mark.unit
def test_vietnamese_has_its_own_word_for_every_english_message() -> None:
    """No message of the board falls back to English on the Vietnamese page (counts have only
    the `other` form in Vietnamese)."""
    english, vietnamese = catalogues._read("en"), catalogues._read("vi")
    missing = [k for k in english if k not in vietnamese and not k.endswith(".one")]
    assert missing == []
    assert catalogue("vi").text("stage.in_transit") == "Đang trên đường về"
    assert catalogue("vi").count("board.survivors", 1) == "1 nạn nhân"
    assert catalogue("en").count("board.survivors", 1) == "1 survivor"
    assert catalogue("en").count("board.survivors", 3) == "3 survivors"


def payload_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """The field names of an event payload and of the models nested in it."""
    names = set(model.model_fields)
    for info in model.model_fields.values():
        stack: list[Any] = [info.annotation]
        while stack:
            annotation = stack.pop()
            model_type = isinstance(annotation, type) and issubclass(annotation, BaseModel)
            if model_type and annotation not in seen:
                seen.add(annotation)
                names |= payload_fields(annotation, seen)
            stack.extend(typing.get_args(annotation))
    return names


@pytest.mark.unit
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_court_sentence_label_and_term_is_in_the_catalogue(language: str) -> None:
    """The court page's sentence for every event type, the label of every field of every
    payload (and of the personal data), and the words for every value of every vocabulary a
    field takes, each in the language's own file."""
    own = catalogues._read(language)
    sentences = [
        t.value for t in EventType if not any(k.startswith(f"event.{t.value}") for k in own)
    ]
    assert sentences == []
    seen: set[type[BaseModel]] = set()
    fields = {"name", "date_of_birth", "family_contact"}
    for model in EVENT_TYPES.values():
        fields |= payload_fields(model, seen)
    assert sorted(f for f in fields if f"field.{f}" not in own) == []
    terms = [
        f"term.{name}.{value.value}"
        for name, vocabularies in VOCABULARIES.items()
        for vocabulary in vocabularies
        for value in vocabulary
    ]
    assert [key for key in terms if key not in own] == []


@pytest.mark.unit
def test_each_translation_keeps_the_english_message_s_named_values() -> None:
    """A translated message names the same `{values}` as the English one (a count's forms may
    leave out `{count}`), so no value is lost and none is asked for that is not given."""
    english, vietnamese = catalogues._read("en"), catalogues._read("vi")

    def names(message: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(message) if name}

    differing = [
        key
        for key, message in vietnamese.items()
        if key in english and names(message) != names(english[key])
    ]
    assert differing == []


@pytest.mark.unit
def test_country_names_come_from_the_catalogue_then_cldr_then_the_code() -> None:
    """Codes of the region have the catalogue's names; others CLDR's; an unknown one stays."""
    assert catalogue("vi").country("CN") == "Trung Quốc"
    assert catalogue("en").country("KH") == "Cambodia"
    assert catalogue("vi").country("NP") == "Nepal"
    assert catalogue("vi").country("XX") == "XX"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("asked", "accept_language", "chosen"),
    [
        ("en", "vi", "en"),
        ("vi", "en-GB,en;q=0.9", "vi"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "fr-FR, en;q=0.5, vi;q=0.8", "vi"),
        (None, "fr", "vi"),
        (None, None, "vi"),
        ("xx", "en", "en"),
        ("<script>", "en;q=0", "vi"),
    ],
)
def test_the_language_is_asked_for_else_the_browser_s_else_vietnamese(
    asked: str | None, accept_language: str | None, chosen: str
) -> None:
    """`?lang=` first, then `Accept-Language` by its q-values, then Vietnamese."""
    assert negotiate(asked, accept_language) == chosen


@pytest.mark.unit
def test_a_third_language_is_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Thai catalogue dropped beside the others is a language: its words where it has them,
    English beneath."""
    for language in languages():
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        source = catalogues._locale_folder() / language / "LC_MESSAGES" / "homeward.po"
        (folder / "homeward.po").write_bytes(source.read_bytes())
    thai = tmp_path / "th" / "LC_MESSAGES"
    thai.mkdir(parents=True)
    (thai / "homeward.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: th\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "stage.rescued"\nmsgstr "ช่วยเหลือแล้ว"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(catalogues, "_locale_folder", lambda: tmp_path)
    catalogues.languages.cache_clear()
    catalogues.catalogue.cache_clear()
    try:
        assert languages() == ("en", "th", "vi")
        assert negotiate(None, "th-TH") == "th"
        assert catalogue("th").text("stage.rescued") == "ช่วยเหลือแล้ว"
        assert catalogue("th").text("stage.closed") == "Closed"
        assert catalogue("th").country("VN") == "Vietnam"
    finally:
        catalogues.languages.cache_clear()
        catalogues.catalogue.cache_clear()


# The page and the stream through the real app.


def page_messages(page: str) -> dict[str, str]:
    """The messages the page hands its script."""
    found = re.search(r'data-messages="([^"]*)"', page)
    assert found, "the page carries no messages"
    messages: dict[str, str] = json.loads(html.unescape(found.group(1)))
    return messages


async def test_the_board_page_is_served_in_the_reader_s_language(leadership: Caller) -> None:
    """`?lang=vi` and `?lang=en` choose; else the browser's language; else Vietnamese. The
    policy allows no inline script, so the words reach the script as an attribute."""
    client = leadership.client
    vietnamese = await client.get("/board?lang=vi")
    text = await vietnamese.text()
    assert '<html lang="vi"' in text
    assert "<h1>Bảng điều phối chiến dịch</h1>" in text
    assert page_messages(text)["stage.rescued"] == "Đã giải cứu"
    assert vietnamese.headers["Content-Language"] == "vi"
    assert "script-src 'self';" in vietnamese.headers["Content-Security-Policy"]
    assert "<script>" not in text
    english = await (await client.get("/board?lang=en")).text()
    assert "<h1>Operations board</h1>" in english
    assert page_messages(english)["status.abroad"] == "Abroad"
    browser = await client.get("/board", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert browser.headers["Content-Language"] == "en"
    assert (await client.get("/board")).headers["Content-Language"] == "vi"
    hostile = await (await client.get('/board?lang="><script>alert(1)</script>')).text()
    assert "alert(1)" not in hostile


async def read_sse(response: aiohttp.ClientResponse, wanted: str) -> dict[str, Any]:
    """The data of the next server-sent event of type `wanted`."""
    buffer = ""
    while True:
        while "\n\n" not in buffer:
            chunk = await asyncio.wait_for(response.content.readany(), 15)
            assert chunk, "the stream ended"
            buffer += chunk.decode()
        block, buffer = buffer.split("\n\n", 1)
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == wanted:
            assert "id" not in lines  # impact events leave the board's resume point alone
            data: dict[str, Any] = json.loads(lines["data"])
            return data


async def rescued(callers: dict[Role, Caller], *survivors: dict[str, Any], **report: Any) -> str:
    """An operation whose rescue freed `survivors`."""
    field = callers[Role.FIELD]
    operation = await field.open(**report)
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    await field.record(
        operation, event("RescueExecuted", outcome="success", survivors=list(survivors))
    )
    return operation


async def test_impact_figures_come_over_the_board_stream_when_they_change(
    callers: dict[Role, Caller],
) -> None:
    """With `?impact=1` the stream sends the figures after the snapshot, and again after a
    rescue, without the client asking; without it, only board rows."""
    admin = callers[Role.ADMIN]
    stream = await admin.get("/v1/board/stream?impact=1")
    assert stream.status == 200
    before = await read_sse(stream, "impact")
    await rescued(callers, a_survivor(), a_survivor(found_in_country="LA"))
    after = await read_sse(stream, "impact")
    while after["people_rescued"] == before["people_rescued"]:
        after = await read_sse(stream, "impact")
    assert after["people_rescued"] == before["people_rescued"] + 2
    assert after["by_country"].get("LA", 0) == before["by_country"].get("LA", 0) + 1
    stream.close()


# The page in a real browser.


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the module's pages."""
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"Chromium is needed at {CHROMIUM} (apt-get install chromium), or set "
            "COORDINATOR_TEST_CHROMIUM to its path"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
async def board_data(callers: dict[Role, Caller]) -> dict[str, str]:
    """Five girls rescued in China under the organisation's case BD-2020-037 (three H'Mông, two
    Dao; two handed over at the border), a new report from Laos, and a case from 2019 nobody
    touched since."""
    girls = [a_survivor(ethnic_group="H'Mông" if n < 3 else "Dao") for n in range(5)]
    rescue = await rescued(callers, *girls, reference="BD-2020-037", suspected_country="CN")
    handoff = event(
        "CustodyTransferred",
        survivor_ids=[girls[0]["survivor_id"], girls[1]["survivor_id"]],
        from_party={"agency": "Yunnan Public Security", "country": "CN"},
        to_party={"agency": "Border Guard Lao Cai", "country": "VN"},
    )
    await callers[Role.FIELD].record(rescue, handoff)
    reported = await callers[Role.FIELD].open(reference="BD-2021-112", suspected_country="LA")
    old = await callers[Role.FIELD].post(
        "/v1/operations",
        {
            "data": a_case_report(reference="BD-2019-004", suspected_country="CN"),
            "occurred_at": "2019-05-02T09:00:00+07:00",
        },
    )
    assert old.status == 201, await old.text()
    dormant = str((await old.json())["operation_id"])
    return {"rescue": rescue, "reported": reported, "dormant": dormant}


async def open_board(browser: Browser, url: str, width: int) -> Page:
    """A tab `width` pixels wide showing the board, live."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    live = await page.evaluate(
        "JSON.parse(document.documentElement.dataset.messages)['board.live']"
    )
    await page.wait_for_function(
        "live => document.getElementById('status').textContent === live", arg=live, timeout=15_000
    )
    assert errors == []
    return page


def card(operation: str) -> str:
    """The selector of an operation's card."""
    return f'[data-operation-id="{operation}"]'


async def figure(page: Page) -> str:
    """The number of people rescued, as the page shows it."""
    return str(await page.inner_text("#impact-people-rescued"))


async def year_figure(page: Page, leadership: Caller) -> tuple[str, str]:
    """The latest year of the report and its count of people rescued, once the page's chart by
    year shows what `GET /v1/stats/impact` says."""
    report = await (await leadership.get("/v1/stats/impact")).json()
    year = max(report["by_year"])
    expected = str(report["by_year"][year])
    await page.wait_for_function(
        "([year, expected]) => document.querySelector(`#chart-year [data-key='${year}'] .value`)"
        "?.textContent === expected",
        arg=[year, expected],
        timeout=10_000,
    )
    return year, expected


async def the_report_charts_read_in(page: Page, words: catalogues.Catalogue) -> None:
    """The report's charts with their captions in the page's language: small counts as "<5"
    drawn as short bars, and the time from report to rescue as a median and 90th percentile."""
    charts = await page.inner_text(".charts")
    for caption in ("by_year", "by_month", "durations", "by_home_province", "by_ethnic_group"):
        assert words.text(f"impact.{caption}") in charts, caption
    dao = page.locator("#chart-ethnic [data-key='Dao']")
    assert await dao.locator(".value").inner_text() == "<5"
    assert "few" in str(await dao.get_attribute("class"))
    short = await dao.locator(".fill").evaluate("fill => fill.getBoundingClientRect().width")
    track = await dao.locator(".track").evaluate("track => track.getBoundingClientRect().width")
    assert 0 < short <= track * 0.6
    to_rescue = page.locator("[data-duration='report_to_rescue_days']")
    assert words.text("impact.report_to_rescue_days") in await to_rescue.inner_text()
    assert await to_rescue.locator("[data-key='median'] .label").inner_text() == words.text(
        "impact.median"
    )
    assert await to_rescue.locator("[data-key='p90'] .value").count() == 1


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_the_board_reads_live_in_each_language_at_desktop_and_phone_width(
    browser: Browser,
    callers: dict[Role, Caller],
    board_data: dict[str, str],
    language: str,
    tmp_path: Path,
) -> None:
    """Leadership reads references, country names, each survivor's whereabouts, alerts and
    impact in their language; a new report and a rescue reach the open page without a reload;
    dormant operations stay folded away."""
    words = catalogue(language)
    leadership = callers[Role.LEADERSHIP]
    url = leadership.client.make_url(f"/board?lang={language}#token={leadership.token}")
    alerts_route = (await leadership.get("/v1/alerts")).status
    for device, width in WIDTHS.items():
        page = await open_board(browser, str(url), width)
        rescue = page.locator(card(board_data["rescue"]))
        await rescue.wait_for()
        assert await rescue.locator(".title").inner_text() == f"BD-2020-037 · {words.country('CN')}"
        assert await rescue.locator(".stage").inner_text() == words.text("stage.rescued")
        assert await rescue.locator('[data-status="abroad"]').inner_text() == (
            f"{words.text('status.abroad')}: 3"
        )
        assert await rescue.locator('[data-status="in_transit"]').inner_text() == (
            f"{words.text('status.in_transit')}: 2"
        )
        reported = page.locator(card(board_data["reported"]))
        assert (
            await reported.locator(".title").inner_text() == f"BD-2021-112 · {words.country('LA')}"
        )
        # The case from 2019 is folded away with the dormant ones.
        assert await page.locator(f"#operations {card(board_data['dormant'])}").count() == 0
        assert not await page.locator(
            f"#dormant-operations {card(board_data['dormant'])}"
        ).is_visible()
        await page.click("#dormant summary")
        assert await page.locator(f"#dormant-operations {card(board_data['dormant'])}").is_visible()
        await page.click("#dormant summary")
        # The alerts panel shows when the service has alerts, and stays hidden where it has not.
        if alerts_route == 200:
            await page.wait_for_selector("#alerts", state="visible")
            assert words.text("alerts.heading") in await page.inner_text("#alerts-heading")
            alerts = (await (await leadership.get("/v1/alerts")).json())["alerts"]
            shown = page.locator("#alert-list .alert strong")
            await page.wait_for_function(
                "n => document.querySelectorAll('#alert-list .alert').length === n",
                arg=len(alerts),
            )
            kinds = [words.word("alert", alert["kind"]) for alert in alerts]
            assert await shown.all_inner_texts() == kinds
        else:
            assert alerts_route == 404
            await page.wait_for_timeout(700)
            assert await page.locator("#alerts").is_hidden()
        body = await page.inner_text("body")
        assert "Survivor Name" not in body
        assert "Missing Girl" not in body
        await page.wait_for_selector("#impact-people-rescued")
        if device == "desktop":
            await page.evaluate("window.__sameDocument = true")
            before = await figure(page)
            year_before = await year_figure(page, leadership)
            reference = "BD-2026-101" if language == "vi" else "BD-2026-102"
            opened = await callers[Role.FIELD].open(reference=reference, suspected_country="TH")
            await page.locator(card(opened)).wait_for(timeout=10_000)
            assert words.country("TH") in await page.locator(card(opened)).inner_text()
            assert words.text("stage.reported") in await page.locator(card(opened)).inner_text()
            await callers[Role.FIELD].record(opened, *to_approval())
            await leadership.record(opened, event("RescueApproved"))
            await callers[Role.FIELD].record(
                opened, event("RescueExecuted", outcome="success", survivors=[a_survivor()])
            )
            await page.wait_for_function(
                "before => document.getElementById('impact-people-rescued').textContent !== before",
                arg=before,
                timeout=10_000,
            )
            assert int(await figure(page)) == int(before) + 1
            year, shown = await year_figure(page, leadership)
            assert year_before[1].isdigit(), "the module's rescues this year are at least 5"
            assert int(shown) == int(year_before[1]) + (year == year_before[0])
            await the_report_charts_read_in(page, words)
            assert await page.evaluate("window.__sameDocument === true")  # no reload happened
            await page.locator(card(opened)).locator('[data-status="abroad"]').wait_for()
        name = f"board-{language}.png" if device == "desktop" else f"board-{language}-phone.png"
        folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=folder / name, full_page=True)
        if device == "phone":
            scroll = await page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, "the page scrolls sideways on a phone"
        await page.context.close()


@pytest.mark.unit
def test_the_court_page_speaks_the_reader_s_language() -> None:
    """The court page's headings, verification and appendix in Vietnamese, days as Vietnamese
    write them; English stays the default."""
    bundle: dict[str, Any] = {
        "operation_id": "3f2a1b4c-0000-4000-8000-000000000000",
        "exported_at": "2020-10-14T03:00:00Z",
        "checkpoint": {"checkpoint": {"tree_size": 1, "key_id": "k1", "root_hash": "ab"}},
        "events": [
            {
                "event_id": "e1",
                "version": 1,
                "type": "CaseReported",
                "occurred_at": "2020-10-14T03:00:00Z",
                "recorded_at": "2020-10-14T03:05:00Z",
                "data": {"reference": "BD-2020-037", "suspected_country": "CN"},
                "metadata": {"recorded_by": "field-1", "role": "field"},
            }
        ],
    }
    vietnamese = render_trail(bundle, language="vi")
    assert "<html lang=vi>" in vietnamese
    assert "<h1>Hồ sơ tòa án: chiến dịch BD-2020-037</h1>" in vietnamese
    assert "Những gì đã được kiểm chứng" in vietnamese
    assert "14 thg 10, 2020, 10:00 giờ Hà Nội (03:00 UTC)" in vietnamese
    assert "Phụ lục: mã băm và khóa" in vietnamese
    english = render_trail(bundle)
    assert "<h1>Court file: operation BD-2020-037</h1>" in english
    assert "14 Oct 2020, 10:00 Hanoi time (03:00 UTC)" in english
