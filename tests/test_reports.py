"""Impact reports: by month, province and ethnic group, times to rescue and home, as JSON, CSV
and `coordinator report`; small counts hidden from leadership, exact for admins."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.importing.outcomes import Disposition, ImportReport
from coordinator.service.small_counts import suppress_small_counts
from events.catalogue import Channel
from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.store.migrate import migrate
from projections.read_models.impact_reports import (
    duration_statistics,
    percentile,
    report_csv,
    spreadsheet_safe,
)
from tests.api import Caller, a_survivor, event, to_approval
from tests.commands import run_coordinator
from tests.databases import create_database, drop_database
from tests.test_http_projections import eventually
from tests.test_import_csv import SAMPLE, SAMPLE_OPERATIONS, import_file

# The crafted rescues of this module are all in 2004; the sample sheet's from 2008 to 2021.
CRAFTED = "?from=2004-01-01&to=2005-01-01"
SAMPLE_WINDOW = "?from=2005-01-01&to=2022-01-01"
FORMULA_PROVINCE = "=cmd|' /C calc'!A0"
# (rescued at, days from report, days to return or None, home province, ethnic group): the
# third is rescued at 02:00 in Vietnam on 1 March, still 29 February in UTC.
CRAFTED_RESCUES = (
    ("2004-01-10T08:00:00+07:00", 2, 1, "Lào Cai", "Hmong"),
    ("2004-01-20T08:00:00+07:00", 4, 3, "Lào Cai", "Hmong"),
    ("2004-03-01T02:00:00+07:00", 10, 5, "Lào Cai", "Hmong"),
    ("2004-03-15T08:00:00+07:00", 30, 7, FORMULA_PROVINCE, "@SUM(1+1)"),
    ("2004-03-25T08:00:00+07:00", 60, None, FORMULA_PROVINCE, "@SUM(1+1)"),
)
SEED_FIGURES = {
    ("totals", "operations"): "439",
    ("totals", "people_rescued"): "1000",
    ("by_country", "VN"): "453",
    ("by_country", "CN"): "535",
    ("by_country", "MM"): "12",
    ("by_gender", "male"): "230",
    ("by_gender", "female"): "770",
    ("totals", "minors"): "535",
    ("by_exploitation", "sexual"): "595",
    ("by_exploitation", "labour"): "405",
}
"""Blue Dragon's 1,000 rescues as published on 6 January 2021 (seed 000_73cbc1448b52d93a)."""


def at(moment: str, days: float) -> str:
    """`moment` moved by `days`, in its own zone."""
    return (datetime.fromisoformat(moment) + timedelta(days=days)).isoformat()


async def crafted_operation(
    callers: dict[Role, Caller], rescued_at: str, to_rescue: int, to_home: int | None, **who: Any
) -> None:
    """A girl found in Vietnam: reported `to_rescue` days before her rescue, back home
    `to_home` days after it (if at all), counselled once at home."""
    field = callers[Role.FIELD]
    response = await field.post(
        "/v1/operations",
        {"occurred_at": at(rescued_at, -to_rescue), "data": {"channel": "family"}},
    )
    assert response.status == 201, await response.text()
    operation = str((await response.json())["operation_id"])
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    girl = a_survivor(found_in_country="VN", **who)
    rescue = event("RescueExecuted", outcome="success", survivors=[girl])
    await field.record(operation, {**rescue, "occurred_at": rescued_at})
    if to_home is None:
        return
    home = event("SurvivorReturned", survivor_ids=[girl["survivor_id"]], destination="home")
    support = event("SupportProvided", survivor_id=girl["survivor_id"], service="counselling")
    await field.record(
        operation,
        {**home, "occurred_at": at(rescued_at, to_home)},
        {**support, "occurred_at": at(rescued_at, to_home + 1)},
    )


@pytest.fixture(scope="module")
async def crafted(callers: dict[Role, Caller]) -> None:
    """Five rescues of 2004 with known times, projected by the app."""
    for rescued_at, to_rescue, to_home, province, group in CRAFTED_RESCUES:
        await crafted_operation(
            callers, rescued_at, to_rescue, to_home, home_province=province, ethnic_group=group
        )
    admin = callers[Role.ADMIN]

    async def projected() -> bool:
        body = await (await admin.get(f"/v1/stats/impact{CRAFTED}")).json()
        return bool(
            body["people_rescued"] == len(CRAFTED_RESCUES)
            and body["rescue_to_home_days"]["people"] == len(CRAFTED_RESCUES) - 1
            and body["services"].get("counselling", {}).get("times") == len(CRAFTED_RESCUES) - 1
        )

    await eventually(projected)


@pytest.fixture(scope="module")
async def sample_import(store: EventStore, callers: dict[Role, Caller]) -> ImportReport:
    """The sample sheet imported into the module's database, and projected by the app."""
    report = await import_file(store, SAMPLE)

    async def projected() -> bool:
        body = await (await callers[Role.ADMIN].get(f"/v1/stats/impact{SAMPLE_WINDOW}")).json()
        return bool(body["operations"] == SAMPLE_OPERATIONS)

    await eventually(projected, seconds=30)
    return report


def parsed(text: str) -> list[tuple[str, str, str]]:
    """A CSV answer's rows, after its header."""
    header, *rows = csv.reader(io.StringIO(text))
    assert header == ["section", "key", "value"]
    return [(section, key, value) for section, key, value in rows]


def cell(value: Any) -> str:
    """A JSON value as the CSV should show it."""
    if value is None:
        return ""
    return str(value)


def expected_rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The rows the CSV should hold for the JSON `figures`, in the CSV's order."""
    rows = [("period", "from", cell(figures["from"])), ("period", "to", cell(figures["to"]))]
    for total in ("operations", "rescues", "people_rescued", "people_recovered", "minors"):
        rows.append(("totals", total, cell(figures[total])))
    for breakdown in (
        "by_year",
        "by_month",
        "by_home_province",
        "by_ethnic_group",
        "by_country",
        "by_gender",
        "by_exploitation",
        "by_form",
    ):
        rows += [(breakdown, spreadsheet_safe(k), cell(v)) for k, v in figures[breakdown].items()]
    for duration in ("report_to_rescue_days", "rescue_to_home_days"):
        rows += [(duration, k, cell(v)) for k, v in figures[duration].items()]
    for service, counts in figures["services"].items():
        rows += [(f"services_{measure}", service, cell(n)) for measure, n in counts.items()]
    rows += [("prosecutions", k, cell(v)) for k, v in figures["prosecutions"].items()]
    return rows


async def csv_of(caller: Caller, query: str) -> str:
    """GET the CSV report as a spreadsheet would save it, checked to be UTF-8 CSV."""
    response = await caller.get(f"/v1/stats/impact.csv{query}")
    assert response.status == 200, await response.text()
    assert response.content_type == "text/csv"
    assert response.charset == "utf-8"
    assert response.headers["Content-Disposition"].endswith('filename="homeward-impact.csv"')
    return (await response.read()).decode("utf-8-sig")


# Pure rules


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.5),
        ([float(day) for day in range(1, 11)], 0.9, 9.1),
        ([7.0], 0.9, 7.0),
        ([2.0, 4.0, 10.0, 30.0, 60.0], 0.9, 48.0),
    ],
)
def test_percentiles_interpolate_between_the_nearest_ranks(
    values: list[float], fraction: float, expected: float
) -> None:
    """As PostgreSQL's percentile_cont and a spreadsheet's PERCENTILE compute them."""
    assert percentile(values, fraction) == pytest.approx(expected)


@pytest.mark.unit
def test_a_statistic_over_fewer_than_five_people_is_withheld_from_leadership() -> None:
    """Four people: the count is "<5" and the median and p90 are null, with the reason; five are
    shown; nobody is 0, not a suppressed count."""
    four = {"rescue_to_home_days": duration_statistics([1.0, 3.0, 5.0, 7.0])}
    assert four["rescue_to_home_days"] == {"people": 4, "median": 4.0, "p90": 6.4, "withheld": None}
    assert suppress_small_counts(four)["rescue_to_home_days"] == {
        "people": "<5",
        "median": None,
        "p90": None,
        "withheld": "fewer than 5 people",
    }
    five = duration_statistics([2.0, 4.0, 10.0, 30.0, 60.0])
    assert suppress_small_counts(five) == five
    assert suppress_small_counts(duration_statistics([]))["people"] == 0


@pytest.mark.unit
@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_a_spreadsheet_would_run_is_quoted(text: str) -> None:
    """A cell starting =, +, -, @, tab or carriage return is prefixed with a quote."""
    assert spreadsheet_safe(text) == f"'{text}"
    assert spreadsheet_safe(f"Lào Cai {text}") == f"Lào Cai {text}"


@pytest.mark.unit
def test_counted_numbers_are_not_quoted_even_when_negative() -> None:
    """A number the report computed is a number in the spreadsheet; a text key is made safe."""
    figures: dict[str, Any] = {
        "from": None,
        "to": None,
        **dict.fromkeys(("operations", "rescues", "people_rescued", "people_recovered"), 1),
        "minors": 0,
        **{name: {} for name in ("by_year", "by_month", "by_ethnic_group", "by_country")},
        **{name: {} for name in ("by_gender", "by_exploitation", "by_form")},
        "by_home_province": {"-2": 1},
        "report_to_rescue_days": {"people": 1, "median": -1.5, "p90": -1.5, "withheld": None},
        "rescue_to_home_days": duration_statistics([]),
        "services": {},
        "prosecutions": {"opened": 0, "defendants_convicted": 0},
    }
    rows = parsed(report_csv(figures))
    assert ("by_home_province", "'-2", "1") in rows
    assert ("report_to_rescue_days", "median", "-1.5") in rows
    assert ("rescue_to_home_days", "withheld", "nobody has both times") in rows


# Through HTTP, against the real database


@pytest.mark.usefixtures("crafted")
async def test_admins_see_the_crafted_figures_by_month_province_and_ethnic_group(
    callers: dict[Role, Caller],
) -> None:
    """Months in Vietnam's time (1 March at 02:00 is March), each breakdown adding up."""
    body = await (await callers[Role.ADMIN].get(f"/v1/stats/impact{CRAFTED}")).json()
    assert body["people_rescued"] == len(CRAFTED_RESCUES)
    assert body["by_year"] == {"2004": 5}
    assert body["by_month"] == {"2004-01": 2, "2004-03": 3}
    assert body["by_home_province"] == {FORMULA_PROVINCE: 2, "Lào Cai": 3}
    assert body["by_ethnic_group"] == {"@SUM(1+1)": 2, "Hmong": 3}
    assert body["by_country"] == {"VN": 5}
    assert body["services"] == {"counselling": {"times": 4, "survivors": 4}}


@pytest.mark.usefixtures("crafted")
async def test_times_to_rescue_and_home_are_the_median_and_p90_computed_by_hand(
    callers: dict[Role, Caller],
) -> None:
    """Reports 2, 4, 10, 30 and 60 days before the rescues: median 10, p90 30 + 0.6 x 30 = 48.
    Home 1, 3, 5 and 7 days after (one not yet): median 4, p90 5 + 0.7 x 2 = 6.4."""
    body = await (await callers[Role.ADMIN].get(f"/v1/stats/impact{CRAFTED}")).json()
    assert body["report_to_rescue_days"] == {
        "people": 5,
        "median": 10.0,
        "p90": 48.0,
        "withheld": None,
    }
    assert body["rescue_to_home_days"] == {"people": 4, "median": 4.0, "p90": 6.4, "withheld": None}


@pytest.mark.usefixtures("crafted")
async def test_leadership_sees_small_counts_as_under_five_and_no_statistic_over_four_people(
    callers: dict[Role, Caller],
) -> None:
    """Every count from 1 to 4 is "<5", the time home (4 people) is withheld, the time to
    rescue (5 people) shown; the other roles may not read the report."""
    body = await (await callers[Role.LEADERSHIP].get(f"/v1/stats/impact{CRAFTED}")).json()
    assert body["people_rescued"] == len(CRAFTED_RESCUES)
    assert body["by_month"] == {"2004-01": "<5", "2004-03": "<5"}
    assert body["by_home_province"] == {FORMULA_PROVINCE: "<5", "Lào Cai": "<5"}
    assert body["by_ethnic_group"] == {"@SUM(1+1)": "<5", "Hmong": "<5"}
    assert body["services"] == {"counselling": {"times": "<5", "survivors": "<5"}}
    assert body["report_to_rescue_days"]["median"] == 10.0
    assert body["rescue_to_home_days"] == {
        "people": "<5",
        "median": None,
        "p90": None,
        "withheld": "fewer than 5 people",
    }
    for role in (Role.FIELD, Role.LEGAL):
        assert (await callers[role].get(f"/v1/stats/impact.csv{CRAFTED}")).status == 403
    assert (await callers[Role.ADMIN].get("/v1/stats/impact.csv?from=soon")).status == 422
    bad_period = "/v1/stats/impact.csv?from=2005-01-01&to=2004-01-01"
    assert (await callers[Role.ADMIN].get(bad_period)).status == 422


@pytest.mark.usefixtures("crafted")
@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEADERSHIP])
async def test_the_csv_holds_exactly_the_json_figures(
    callers: dict[Role, Caller], role: Role
) -> None:
    """Parsed with the csv module, the CSV is the JSON row by row, as each role sees it."""
    caller = callers[role]
    body = await (await caller.get(f"/v1/stats/impact{CRAFTED}")).json()
    assert parsed(await csv_of(caller, CRAFTED)) == expected_rows(body)


@pytest.mark.usefixtures("crafted")
async def test_a_province_written_as_a_formula_is_text_in_the_csv(
    callers: dict[Role, Caller],
) -> None:
    """A home province or ethnic group starting = or @ is quoted, never run by a spreadsheet."""
    rows = parsed(await csv_of(callers[Role.ADMIN], CRAFTED))
    assert ("by_home_province", f"'{FORMULA_PROVINCE}", "2") in rows
    assert ("by_ethnic_group", "'@SUM(1+1)", "2") in rows
    assert ("by_home_province", "Lào Cai", "3") in rows
    assert not [row for row in rows if row[1].startswith(("=", "+", "@"))]


async def test_the_imported_sample_sheet_reads_the_same_in_the_csv(
    sample_import: ImportReport, callers: dict[Role, Caller]
) -> None:
    """The sample sheet's rescues (2008 to 2021) through the CSV: the published breakdowns."""
    assert sample_import.count(Disposition.IMPORTED) == SAMPLE_OPERATIONS
    figures = {(s, k): v for s, k, v in parsed(await csv_of(callers[Role.ADMIN], SAMPLE_WINDOW))}
    assert figures[("totals", "operations")] == str(SAMPLE_OPERATIONS)
    assert figures[("totals", "people_rescued")] == "26"
    assert figures[("totals", "minors")] == "18"
    by = {
        section: {k: int(v) for (s, k), v in figures.items() if s == section}
        for section in ("by_country", "by_gender", "by_exploitation", "by_year")
    }
    assert by["by_country"] == {"CN": 10, "MM": 3, "VN": 13}
    assert by["by_gender"] == {"female": 13, "male": 13}
    assert by["by_exploitation"] == {"labour": 15, "sexual": 11}
    assert sum(by["by_year"].values()) == 26
    assert min(by["by_year"]) == "2008"
    assert figures[("report_to_rescue_days", "people")] == "26"


# The seed's 1,000 rescues, fed through the import, read with `coordinator report`

SEED_OPERATIONS = 439
SEED_HEADER = (
    "Case No,Survivor,Date Reported,Date Rescued,Date Returned,Country Found In,Sex,Age,"
    "Exploitation,Form,Home Province,Outcome"
)
PROVINCES = ("Lào Cai", "Hà Giang", "Nghệ An", "Điện Biên")


def seed_rows() -> Iterator[str]:
    """1,000 survivors in 439 operations from 2005 to 2020 with the seed's breakdowns: 453
    found in Vietnam, 535 in China, 12 in Myanmar; 230 male; 535 minors; 405 in labour."""
    survivor = 0
    for number in range(SEED_OPERATIONS):
        size = 3 if number < 1000 - 2 * SEED_OPERATIONS else 2
        rescued = datetime(2005, 1, 15, tzinfo=UTC) + timedelta(days=13 * number)
        reported = rescued - timedelta(days=5 + number % 40)
        returned = rescued + timedelta(days=1 + number % 20)
        for place in range(size):
            i = survivor
            country = "VN" if i < 453 else "CN" if i < 988 else "MM"
            labour = i < 405
            yield ",".join(
                (
                    f"BD-{rescued.year}-{number:03d}",
                    f"S{place + 1}",
                    f"{reported:%d/%m/%Y}" if place == 0 else "",
                    f"{rescued:%d/%m/%Y}",
                    f"{returned:%d/%m/%Y}",
                    country,
                    "M" if i < 230 else "F",
                    str(15 if i >= 465 else 19 + i % 10),
                    "labour" if labour else "sexual",
                    "garment factory" if labour else "brothel",
                    PROVINCES[i % len(PROVINCES)],
                    "returned home",
                )
            )
            survivor += 1


@pytest.fixture(scope="module")
async def seed_database(
    server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A database of its own holding the seed's 1,000 rescues, imported from a sheet."""
    url = await create_database(server_url)
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    sheet = tmp_path_factory.mktemp("seed") / "blue_dragon_1000.csv"
    sheet.write_text("\n".join([SEED_HEADER, *seed_rows()]) + "\n", encoding="utf-8")
    pool = await create_pool(url, min_size=1, max_size=8)
    try:
        report = await import_file(EventStore(pool), sheet, default_channel=Channel.FAMILY)
        assert report.count(Disposition.IMPORTED) == SEED_OPERATIONS, report.results[:3]
    finally:
        await pool.close()
    yield url
    await drop_database(server_url, url)


async def test_the_csv_report_of_the_seeds_1000_rescues_has_the_published_figures(
    seed_database: str, tmp_path: Path
) -> None:
    """`coordinator report --out FILE`: the file a spreadsheet opens (UTF-8 with a byte order
    mark) holds Blue Dragon's figures of January 2021."""
    out = tmp_path / "impact.csv"
    code, said, err = await run_coordinator(
        seed_database, "report", "--to", "2021-01-07", "--out", str(out)
    )
    assert code == 0, err
    assert str(out) in said
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    figures = {(s, k): v for s, k, v in parsed(raw.decode("utf-8-sig"))}
    assert {key: figures.get(key) for key in SEED_FIGURES} == SEED_FIGURES
    assert figures[("by_home_province", "Lào Cai")] == "250"


async def test_the_report_command_writes_the_same_figures_as_json(seed_database: str) -> None:
    """`coordinator report --format json` prints the exact figures the CSV holds."""
    code, said, err = await run_coordinator(seed_database, "report", "--format", "json")
    assert code == 0, err
    figures = json.loads(said)
    assert figures["people_rescued"] == 1000
    assert figures["by_country"] == {"CN": 535, "MM": 12, "VN": 453}
    assert figures["rescue_to_home_days"]["people"] == 1000
    code, said, err = await run_coordinator(seed_database, "report")
    assert code == 0, err
    assert parsed(said) == expected_rows(figures)


async def test_the_report_command_refuses_a_period_it_cannot_read(database_url: str) -> None:
    """A date it cannot read is one line on standard error and exit status 2."""
    code, _, err = await run_coordinator(database_url, "report", "--from", "last spring")
    assert code == 2
    assert err.startswith("error: from is an ISO 8601 date")
