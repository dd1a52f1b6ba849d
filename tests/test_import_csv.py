"""`coordinator import-csv`: historical rescue records from a spreadsheet become streams."""

from __future__ import annotations

import asyncio
import csv
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest

from coordinator.domain import ProposedEvent, RecordEvents, Stage, decide
from coordinator.domain.actors import Actor, Role
from coordinator.domain.stored import fold
from coordinator.errors import RuleBroken
from coordinator.service.importing import cells
from coordinator.service.importing.cells import BadCell, DateReader
from coordinator.service.importing.importer import import_sheet
from coordinator.service.importing.outcomes import Disposition, ImportReport
from coordinator.service.importing.report import write_rejects
from coordinator.service.importing.sheet import Column, SheetError, match_header, read_sheet
from coordinator.service.importing.survivor_lines import operation_id
from coordinator.service.projection_set import build_projections
from events.catalogue import (
    Channel,
    CloseReason,
    Exploitation,
    FamilyReunited,
    Form,
    Gender,
    OperationClosed,
    Service,
    SupportProvided,
)
from events.store.event_store import EventStore
from projections.engine.rebuild import rebuild
from projections.read_models.impact_figures import impact_figures
from tests.commands import run_coordinator

SAMPLE = Path(__file__).resolve().parent.parent / "ops" / "samples" / "legacy_rescues.csv"
VIETNAM = timezone(timedelta(hours=7))
SAMPLE_ORGANISATION = "default"
# The sample's rescues end in January 2021; the small sheets of these tests rescue in 2023.
SAMPLE_PERIOD_END = datetime(2022, 1, 1, tzinfo=UTC)
SAMPLE_OPERATIONS = 13
HEADER = (
    "Case No,Survivor,Date Reported,Date Rescued,Date Returned,Date Closed,Reported By,"
    "Country,Sex,Age,Exploitation,Form,Home Province,Outcome"
)


def noon(day: str) -> datetime:
    """A sheet's calendar day as the import records it."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), VIETNAM).replace(hour=12)


def a_sheet(folder: Path, *rows: str, header: str = HEADER) -> Path:
    """A small CSV export with `rows` under `header`."""
    path = folder / f"sheet-{uuid.uuid4().hex[:6]}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


async def import_file(
    store: EventStore,
    path: Path,
    organisation: str = SAMPLE_ORGANISATION,
    default_channel: Channel | None = None,
) -> ImportReport:
    """Run the import of `path` as the command does."""
    return await import_sheet(
        store,
        read_sheet(path),
        file_name=path.name,
        organisation=organisation,
        dates=DateReader(VIETNAM, datetime.now(VIETNAM).date()),
        run_id=uuid.uuid4(),
        default_channel=default_channel,
    )


async def event_count(pool: asyncpg.Pool) -> int:
    """How many events the log holds."""
    return int(await pool.fetchval("SELECT count(*) FROM events"))


async def log_readable(store: EventStore) -> None:
    """Wait until readers see the whole log: a transaction open anywhere on the server (another
    test run, say) holds them back until it ends, and a rebuild reads only what they see."""
    deadline = asyncio.get_running_loop().time() + 30
    while await store.has_unreadable(await store.head()):
        assert asyncio.get_running_loop().time() < deadline, "the log stayed held back"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def sample_import(store: EventStore) -> ImportReport:
    """The sample sheet imported once into the module's database."""
    return await import_file(store, SAMPLE)


# Reading a sheet (no database)


@pytest.mark.unit
def test_headers_are_matched_in_their_common_spellings_whatever_the_case() -> None:
    """A sheet's own headers map to the import's columns; unknown ones are ignored."""
    header = ["CASE NO", "date_rescued", "Country-Found-In", "SEX", "Age", "Trafficked For", "Name"]
    columns, ignored = match_header(header)
    assert list(columns.values()) == [
        Column.OPERATION_REF,
        Column.RESCUED_ON,
        Column.FOUND_IN_COUNTRY,
        Column.GENDER,
        Column.AGE_AT_RESCUE,
        Column.EXPLOITATION,
    ]
    assert ignored == ("Name",)


@pytest.mark.unit
def test_a_header_without_a_required_column_is_refused_naming_it() -> None:
    """Nothing is imported from a sheet that lacks a required column."""
    with pytest.raises(SheetError, match="age_at_rescue, exploitation"):
        match_header(["Case No", "Date Rescued", "Country", "Sex"])


@pytest.mark.unit
def test_two_headers_meaning_one_column_are_refused() -> None:
    """`Age` and `Age at rescue` in one sheet cannot both be read."""
    with pytest.raises(SheetError, match="both mean age_at_rescue"):
        match_header(["Case No", "Date Rescued", "Country", "Sex", "Age", "Age at rescue"])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (cells.gender, "F", Gender.FEMALE),
        (cells.gender, "Nữ", Gender.FEMALE),
        (cells.gender, " boy ", Gender.MALE),
        (cells.country, "vn", "VN"),
        (cells.country, "Viet Nam", "VN"),
        (cells.country, "Burma", "MM"),
        (cells.age, "17.0", 17),
        (cells.age, "0", 0),
        (cells.exploitation, "Forced labor", Exploitation.LABOUR),
        (cells.form, "Sold as a bride", Form.FORCED_MARRIAGE),
        (cells.form, "sweatshop", Form.GARMENT_FACTORY),
        (cells.form, "", None),
        (cells.outcome, "Reunited with family", cells.Outcome.REUNITED),
        (cells.outcome, "", cells.Outcome.RESCUED),
        (cells.channel, "School early-warning", Channel.SCHOOL_EARLY_WARNING),
    ],
)
def test_cells_accept_common_spellings(parse: object, text: str, expected: object) -> None:
    """Each vocabulary reads the ways sheets write it, case-insensitively."""
    assert callable(parse)
    assert parse(text) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (cells.gender, "?", "gender '?' is not one of"),
        (cells.country, "CHN", "not an ISO 3166-1 alpha-2 code"),
        (cells.country, "XX", "not an ISO 3166-1 alpha-2 code"),
        (cells.age, "170", "age 170 is out of range"),
        (cells.age, "-1", "age -1 is out of range"),
        (cells.age, "16.5", "not a whole number"),
        (cells.age, "about 15", "not a number"),
        (cells.exploitation, "unknown", "exploitation 'unknown' is not one of"),
        (cells.outcome, "missing", "outcome 'missing' is not one of"),
    ],
)
def test_bad_cells_are_refused_with_a_reason(parse: object, text: str, reason: str) -> None:
    """A cell that is not a value of its column says what was found and what is accepted."""
    assert callable(parse)
    with pytest.raises(BadCell, match=re.escape(reason)):
        parse(text)


@pytest.mark.unit
@pytest.mark.parametrize("text", ["2019-03-14", "14/03/2019", "14.03.2019", "14 Mar 2019"])
def test_a_calendar_day_is_noon_in_the_organisations_zone(text: str) -> None:
    """Every accepted way of writing a day gives the same moment."""
    assert DateReader(VIETNAM, date(2026, 1, 1)).read(text, "rescued_on") == noon("2019-03-14")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "reason"),
    [("31/02/2019", "is not a date"), ("03/14/2019", "is not a date"), ("2030-01-01", "future")],
)
def test_bad_dates_are_refused(text: str, reason: str) -> None:
    """Impossible, month-first and future dates are refused."""
    with pytest.raises(BadCell, match=reason):
        DateReader(VIETNAM, date(2026, 1, 1)).read(text, "rescued_on")


# Importing the sample


async def test_the_sample_becomes_one_stream_per_valid_operation(
    sample_import: ImportReport, store: EventStore
) -> None:
    """A girl rescued from a brothel in China and two others: report, rescue, return, closing."""
    assert sample_import.count(Disposition.IMPORTED) == SAMPLE_OPERATIONS
    events = await store.read_stream(operation_id(SAMPLE_ORGANISATION, "BD-2008-003"))
    assert [e.type for e in events] == [
        "CaseReported",
        "LocationConfirmed",
        "RescueExecuted",
        "SurvivorReturned",
        "SurvivorReturned",
        "SurvivorReturned",
        "FamilyReunited",
        "FamilyReunited",
        "OperationClosed",
    ]
    assert [e.occurred_at for e in events[:3]] == [noon("2008-05-02"), *[noon("2008-06-12")] * 2]
    assert events[-1].occurred_at == noon("2010-12-20")
    assert events[0].data["channel"] == "family"
    survivors = events[2].data["survivors"]
    assert [(s["gender"], s["age_at_rescue"], s["form"]) for s in survivors] == [
        ("female", 16, "brothel"),
        ("female", 17, "brothel"),
        ("female", 19, "brothel"),
    ]
    assert all("personal" not in s or s["personal"] is None for s in survivors)
    assert [e.data["destination"] for e in events[3:6]] == ["home", "home", "shelter"]
    for event in events:
        assert event.metadata["recorded_by"] == "import:legacy_rescues.csv"
        assert event.metadata["role"] == "admin"
        assert event.metadata["request_id"] == str(sample_import.run_id)
        assert event.metadata["import"]["reference"] == "BD-2008-003"


async def test_imported_operations_end_at_the_stage_the_sheet_tells(
    sample_import: ImportReport, store: EventStore
) -> None:
    """Closed, reunited, in shelter, or on the way home, as each operation's rows say (a survivor
    found in Vietnam and not yet returned is in transit)."""
    assert sample_import.results
    expected = {
        "BD-2008-003": Stage.CLOSED,
        "BD-2012-027": Stage.REUNITED,
        "BD-2013-004": Stage.RETURNED,
        "BD-2020-040": Stage.IN_TRANSIT,
    }
    for reference, stage in expected.items():
        state = fold(await store.read_stream(operation_id(SAMPLE_ORGANISATION, reference)))
        assert state is not None
        assert state.stage is stage, reference
        assert state.approved_by is None  # no approval is invented
    vietnam = fold(await store.read_stream(operation_id(SAMPLE_ORGANISATION, "BD-2016-041")))
    assert vietnam is not None
    assert vietnam.country == "VN"
    assert len(vietnam.survivors) == 3  # three rows without survivor numbers, kept apart


async def test_impact_figures_count_the_imported_survivors(
    sample_import: ImportReport, store: EventStore, database_url: str, pool: asyncpg.Pool
) -> None:
    """The rebuilt impact projection counts the sample as the NGO publishes its figures."""
    assert sample_import.count(Disposition.IMPORTED) == SAMPLE_OPERATIONS
    await log_readable(store)
    (impact,) = [p for p in build_projections(store, live=False) if p.name == "impact"]
    assert await rebuild(impact, store, database_url) == await event_count(pool)
    async with pool.acquire() as connection:
        figures = await impact_figures(connection, None, SAMPLE_PERIOD_END)
    assert figures["operations"] == SAMPLE_OPERATIONS
    assert figures["people_rescued"] == 26
    assert figures["by_country"] == {"CN": 10, "MM": 3, "VN": 13}
    assert figures["by_gender"] == {"female": 13, "male": 13}
    assert figures["minors"] == 18
    assert figures["by_exploitation"] == {"labour": 15, "sexual": 11}


async def test_the_live_rules_take_over_after_the_import(
    sample_import: ImportReport, store: EventStore
) -> None:
    """Imported operations go on under the live rules: support after return; a reunion before
    her return is recorded and leaves her journey where it is; closing as handed to aftercare
    waits for her return."""
    assert sample_import.results
    field_team = Actor("field-team", Role.FIELD)
    returned = fold(await store.read_stream(operation_id(SAMPLE_ORGANISATION, "BD-2013-004")))
    assert returned is not None
    survivor = next(iter(returned.survivors))
    support = ProposedEvent.of(SupportProvided(survivor_id=survivor, service=Service.COUNSELLING))
    command = RecordEvents(returned.operation_id, [support])
    assert decide(returned, command, field_team) == [support]
    rescued = fold(await store.read_stream(operation_id(SAMPLE_ORGANISATION, "BD-2020-040")))
    assert rescued is not None
    girl = next(iter(rescued.survivors))
    reunion = ProposedEvent.of(FamilyReunited(survivor_id=girl))
    assert decide(rescued, RecordEvents(rescued.operation_id, [reunion]), field_team) == [reunion]
    closing = ProposedEvent.of(OperationClosed(reason=CloseReason.HANDED_TO_AFTERCARE))
    with pytest.raises(RuleBroken, match="needs each survivor to have returned"):
        decide(rescued, RecordEvents(rescued.operation_id, [closing]), field_team)


async def test_a_second_run_appends_nothing_and_says_already_imported(
    sample_import: ImportReport, store: EventStore, pool: asyncpg.Pool
) -> None:
    """Re-running the same sheet finds every operation by its derived id."""
    assert sample_import.count(Disposition.IMPORTED) == SAMPLE_OPERATIONS
    before = await event_count(pool)
    again = await import_file(store, SAMPLE)
    assert await event_count(pool) == before
    assert again.count(Disposition.ALREADY_IMPORTED) == SAMPLE_OPERATIONS
    assert again.count(Disposition.IMPORTED) == 0
    assert len(again.rejected) == len(sample_import.rejected)


async def test_bad_rows_are_rejected_with_reasons_and_their_operations_left_out(
    sample_import: ImportReport, store: EventStore
) -> None:
    """Each bad row says why; its operation, good rows included, has no stream at all."""
    reasons = {r.row.number: "; ".join(r.reasons) for r in sample_import.rejected}
    assert reasons == {
        29: "country 'CHN' is not an ISO 3166-1 alpha-2 code such as VN, CN, MM",
        30: "gender '?' is not one of female, male, other",
        31: "age 170 is out of range (0 to 120)",
        33: "operation_ref is empty",
        34: "rescued_on '31/02/2018' is not a date (write 2019-03-14 or 14/03/2019, day first, "
        "or a time with its zone)",
        35: "returned_on 2019-04-16 is before rescued_on 2019-04-18",
    }
    skipped = {
        r.reference: r for r in sample_import.results if r.disposition is Disposition.SKIPPED
    }
    assert set(skipped) == {
        "BD-2011-009",
        "BD-2015-017",
        "BD-2017-030",
        "BD-2018-013",
        "BD-2019-021",
        "BD-2014-026",
    }
    assert skipped["BD-2011-009"].rows == (28, 29)  # the good row 28 waits for its partner
    assert "needs every survivor to have returned first" in skipped["BD-2014-026"].details[0]
    for reference in skipped:
        assert await store.read_stream(operation_id(SAMPLE_ORGANISATION, reference)) == []


async def test_the_rejects_file_holds_every_row_not_imported_ready_to_fix(
    sample_import: ImportReport, tmp_path: Path
) -> None:
    """The rejects CSV has the row number, the reason and the cells the importer reads; only its
    owner may read it, and the columns the importer ignores (notes, names) stay out of it."""
    path = tmp_path / "rejects.csv"
    path.write_text("an older file anyone could read", encoding="utf-8")
    path.chmod(0o644)
    assert write_rejects(sample_import, path) == 10
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text(encoding="utf-8")
    with path.open(encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0][:3] == ["row", "reason", "Case No"]
    assert "Notes" not in rows[0]
    assert "Country typed as a three-letter code" not in text  # row 29's note
    assert "Gender not filled in" not in text
    by_row = {row[0]: row for row in rows[1:]}
    assert by_row["28"][1] == "operation BD-2011-009 skipped: row 29 rejected"
    assert by_row["29"][2:4] == ["BD-2011-009", "S2"]
    assert read_sheet(path).ignored == ("row", "reason")  # fix it and import it again


async def test_a_changed_row_is_reported_and_nothing_is_appended(
    sample_import: ImportReport, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A survivor's age corrected in the sheet after the import is reported, never duplicated."""
    assert sample_import.results
    text = SAMPLE.read_text(encoding="utf-8")
    changed = text.replace(
        "BD-2016-008,S1,09/03/2016,25/03/2016,28/03/2016,,family,CN,F,14,",
        "BD-2016-008,S1,09/03/2016,25/03/2016,28/03/2016,,family,CN,F,15,",
    )
    assert changed != text
    path = tmp_path / "legacy_rescues.csv"
    path.write_text(changed, encoding="utf-8")
    before = await event_count(pool)
    report = await import_file(store, path)
    assert await event_count(pool) == before
    (result,) = [r for r in report.results if r.disposition is Disposition.CHANGED]
    assert result.reference == "BD-2016-008"
    assert result.details == ("row 16: age_at_rescue 14 -> 15",)
    assert report.count(Disposition.ALREADY_IMPORTED) == SAMPLE_OPERATIONS - 1


# Smaller sheets


async def test_rows_that_disagree_about_their_operation_skip_it(
    store: EventStore, tmp_path: Path
) -> None:
    """Two rescue dates for one operation cannot both be true: nothing of it is imported."""
    path = a_sheet(
        tmp_path,
        "T-1,S1,,02/03/2023,,,family,VN,F,15,labour,garment,Hue,rescued",
        "T-1,S2,,03/03/2023,,,family,VN,F,16,labour,garment,Hue,rescued",
    )
    report = await import_file(store, path, organisation="disagreeing")
    (result,) = report.results
    assert result.disposition is Disposition.SKIPPED
    assert result.details == (
        "the rows disagree on rescued_on: 2023-03-02 (row 2); 2023-03-03 (row 3)",
    )
    assert await store.read_stream(operation_id("disagreeing", "T-1")) == []


async def test_a_sheet_without_channels_needs_a_default_channel(
    store: EventStore, tmp_path: Path
) -> None:
    """Who asked for help is part of every report: the sheet or --default-channel says it."""
    header = "Case No,Date Rescued,Country,Sex,Age,Exploitation,Outcome,Date Returned"
    path = a_sheet(
        tmp_path, "T-2,05/04/2023,VN,M,14,labour,returned home,06/04/2023", header=header
    )
    refused = await import_file(store, path, organisation="channels")
    assert refused.results[0].disposition is Disposition.SKIPPED
    assert "channel is empty" in refused.results[0].details[0]
    imported = await import_file(
        store, path, organisation="channels", default_channel=Channel.POLICE
    )
    assert imported.results[0].disposition is Disposition.IMPORTED
    events = await store.read_stream(operation_id("channels", "T-2"))
    assert events[0].data["channel"] == "police"
    assert events[0].occurred_at == noon("2023-04-05")  # no report date: the rescue day


# The command line


async def run_cli(database_url: str, *arguments: str) -> tuple[int, str]:
    """Run `coordinator --database-url URL import-csv ...`: exit status and stdout."""
    status, out, _ = await run_coordinator(database_url, "import-csv", *arguments)
    return status, out


async def test_the_command_exits_0_for_a_clean_sheet_and_again_on_a_rerun(
    database_url: str, tmp_path: Path
) -> None:
    """A sheet whose every row imports exits 0, and a re-run reports it already imported."""
    path = a_sheet(
        tmp_path,
        "C-1,S1,01/05/2023,20/05/2023,22/05/2023,,family,China,F,16,sexual,bride,Ha Giang,reunited",
    )
    status, out = await run_cli(database_url, str(path), "--organisation", "command-line")
    assert status == 0, out
    assert "1 operations imported (1 survivors, 5 events)" in out
    status, out = await run_cli(database_url, str(path), "--organisation", "command-line")
    assert status == 0, out
    assert "1 operations already imported" in out


async def test_the_command_exits_1_with_the_report_when_rows_were_rejected(
    sample_import: ImportReport, database_url: str, tmp_path: Path
) -> None:
    """The sample's bad rows make the run exit 1, with the report and the rejects file."""
    assert sample_import.results
    rejects = tmp_path / "rejects.csv"
    status, out = await run_cli(database_url, str(SAMPLE), "--rejects", str(rejects))
    assert status == 1, out
    assert f"{SAMPLE_OPERATIONS} operations already imported" in out
    assert "row 30 (BD-2015-017): gender '?' is not one of female, male, other" in out
    assert rejects.exists()


async def test_the_command_exits_2_when_the_sheet_cannot_be_read(
    database_url: str, tmp_path: Path
) -> None:
    """A sheet without the required columns imports nothing."""
    path = a_sheet(tmp_path, "x,y", header="Name,Village")
    status, _out = await run_cli(database_url, str(path))
    assert status == 2
