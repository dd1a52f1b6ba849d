"""Reading the exported sheet: its header matched to our columns, then its rows as text.

Headers compare case-insensitively with spaces, hyphens and underscores alike, and each column
has the spellings sheets commonly use (`Case No`, `Date Rescued`, `Sex`...). Columns the importer
does not know (notes, names) are ignored and listed in the report: personal data is never read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from coordinator.service.importing.cells import words


class Column(StrEnum):
    """A column of the import format; the value is its canonical header."""

    OPERATION_REF = "operation_ref"
    SURVIVOR_REF = "survivor_ref"
    REPORTED_ON = "reported_on"
    RESCUED_ON = "rescued_on"
    RETURNED_ON = "returned_on"
    REUNITED_ON = "reunited_on"
    CLOSED_ON = "closed_on"
    CHANNEL = "channel"
    FOUND_IN_COUNTRY = "found_in_country"
    GENDER = "gender"
    AGE_AT_RESCUE = "age_at_rescue"
    EXPLOITATION = "exploitation"
    FORM = "form"
    HOME_PROVINCE = "home_province"
    OUTCOME = "outcome"


REQUIRED = (
    Column.OPERATION_REF,
    Column.RESCUED_ON,
    Column.FOUND_IN_COUNTRY,
    Column.GENDER,
    Column.AGE_AT_RESCUE,
    Column.EXPLOITATION,
)
"""Columns a sheet must have; the others may be left out."""

SPELLINGS: dict[Column, tuple[str, ...]] = {
    Column.OPERATION_REF: (
        "operation",
        "operation reference",
        "operation no",
        "operation number",
        "op ref",
        "case",
        "case ref",
        "case reference",
        "case no",
        "case number",
        "reference",
        "ref",
    ),
    Column.SURVIVOR_REF: (
        "survivor",
        "survivor reference",
        "survivor no",
        "survivor number",
        "survivor id",
        "person ref",
        "person no",
        "victim ref",
        "victim no",
    ),
    Column.REPORTED_ON: ("reported", "date reported", "reported date", "report date"),
    Column.RESCUED_ON: ("rescued", "date rescued", "rescued date", "rescue date"),
    Column.RETURNED_ON: ("returned", "date returned", "returned date", "return date"),
    Column.REUNITED_ON: ("reunited", "date reunited", "reunited date", "reunion date"),
    Column.CLOSED_ON: ("date closed", "closed date", "case closed on", "close date"),
    Column.CHANNEL: ("reported by", "referred by", "referral", "source"),
    Column.FOUND_IN_COUNTRY: (
        "country found in",
        "country",
        "found in",
        "rescued in",
        "rescue country",
        "country of rescue",
    ),
    Column.GENDER: ("sex",),
    Column.AGE_AT_RESCUE: ("age", "age rescued", "age when rescued"),
    Column.EXPLOITATION: ("exploitation type", "type of exploitation", "trafficked for"),
    Column.FORM: ("exploitation form", "form of exploitation", "sold into"),
    Column.HOME_PROVINCE: ("province", "home", "hometown", "home town", "province of origin"),
    Column.OUTCOME: ("result", "current status", "survivor status"),
}
"""Other headers each column is known by, besides its own name."""

_BY_HEADER: dict[str, Column] = {
    words(spelling): column
    for column in Column
    for spelling in (column.value, *SPELLINGS.get(column, ()))
}


class SheetError(Exception):
    """The file cannot be imported at all: unreadable, empty, or its header lacks a column."""


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One data row: its number as the spreadsheet shows it (the header is row 1), and cells."""

    number: int
    cells: dict[Column, str]
    raw: tuple[str, ...]
    extra_cells: bool = False

    def get(self, column: Column) -> str:
        """The cell's text, stripped; empty when the sheet lacks the column."""
        return self.cells.get(column, "").strip()


@dataclass(frozen=True, slots=True)
class Sheet:
    """A read sheet: the header as written, which columns it maps to, and its rows."""

    header: tuple[str, ...]
    columns: dict[int, Column]
    ignored: tuple[str, ...]
    rows: tuple[SheetRow, ...]


def match_header(header: list[str]) -> tuple[dict[int, Column], tuple[str, ...]]:
    """Each header cell's column by position, and the headers ignored; `SheetError` if unusable."""
    columns: dict[int, Column] = {}
    ignored: list[str] = []
    seen: dict[Column, str] = {}
    for position, text in enumerate(header):
        column = _BY_HEADER.get(words(text))
        if column is None:
            if text.strip():
                ignored.append(text.strip())
            continue
        if column in seen:
            raise SheetError(
                f"columns {seen[column]!r} and {text.strip()!r} both mean {column.value}"
            )
        seen[column] = text.strip()
        columns[position] = column
    missing = [column.value for column in REQUIRED if column not in seen]
    if missing:
        raise SheetError(
            f"the header lacks required columns: {', '.join(missing)} "
            f"(found: {', '.join(h.strip() for h in header if h.strip()) or 'nothing'})"
        )
    return columns, tuple(ignored)


def _records(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        sample = file.read(64 * 1024)
        file.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t")
        except csv.Error:
            dialect = csv.excel
        yield from csv.reader(file, dialect)


def read_sheet(path: Path) -> Sheet:
    """Read a CSV export (UTF-8, comma, semicolon or tab separated); `SheetError` if unusable."""
    try:
        records = list(_records(path))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SheetError(f"cannot read {path}: {error}") from error
    if not records:
        raise SheetError(f"{path} is empty")
    header = records[0]
    columns, ignored = match_header(header)
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank line between blocks of rows
        cells = {
            column: record[position]
            for position, column in columns.items()
            if position < len(record)
        }
        extra = any(cell.strip() for cell in record[len(header) :])
        rows.append(SheetRow(number, cells, tuple(record), extra_cells=extra))
    return Sheet(tuple(header), columns, ignored, tuple(rows))
