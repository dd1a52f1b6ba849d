"""From sheet rows to operations: each row checked on its own, then rows grouped by reference.

A row with a bad cell is rejected with every reason found in it; an operation with any rejected
row, or whose rows disagree about the operation (two rescue dates), is skipped whole, so that no
operation is ever half imported. Ids are derived, never random, so a re-run finds its own work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, TypeVar
from uuid import UUID, uuid5

from coordinator.service.importing import cells
from coordinator.service.importing.cells import BadCell, DateReader, Outcome
from coordinator.service.importing.sheet import Column, SheetRow
from events.catalogue import Channel, Exploitation, Form, Gender

IMPORT_NAMESPACE = UUID("6f1d3b52-8a4e-5c1e-9d0b-3a7c2e4f9b10")
"""The root of every imported id. Changing it would make every re-run import everything again."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SurvivorLine:
    """One valid row: a survivor and what the row says about their operation."""

    row: int
    operation_ref: str
    survivor_ref: str | None
    channel: Channel | None
    reported_at: datetime | None
    rescued_at: datetime
    returned_at: datetime | None
    reunited_at: datetime | None
    closed_at: datetime | None
    found_in_country: str
    gender: Gender
    age_at_rescue: int
    exploitation: Exploitation
    form: Form | None
    home_province: str | None
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that cannot be imported, and every reason found in it."""

    row: SheetRow
    operation_ref: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportedSurvivor:
    """A survivor of an imported operation, with the ids the import gives them."""

    survivor_id: UUID
    key: str
    line: SurvivorLine


@dataclass(frozen=True, slots=True)
class ImportedOperation:
    """An operation as the sheet tells it, ready to become a stream."""

    operation_id: UUID
    reference: str
    channel: Channel
    reported_at: datetime
    rescued_at: datetime
    closed_at: datetime | None
    survivors: tuple[ImportedSurvivor, ...]

    @property
    def rows(self) -> tuple[int, ...]:
        """The sheet rows it came from."""
        return tuple(survivor.line.row for survivor in self.survivors)

    def event_id(self, key: str) -> UUID:
        """The id of this operation's imported event named `key` (e.g. `RescueExecuted`)."""
        return uuid5(self.operation_id, f"event:{key}")


@dataclass(frozen=True, slots=True)
class SkippedOperation:
    """An operation left out whole, the rows it has, and why."""

    reference: str
    rows: tuple[int, ...]
    reasons: tuple[str, ...]


def operation_id(organisation: str, reference: str) -> UUID:
    """The id an operation of `organisation` with sheet reference `reference` is imported under."""
    return uuid5(IMPORT_NAMESPACE, f"operation:{organisation}\n{reference}")


def read_line(row: SheetRow, dates: DateReader) -> SurvivorLine | Rejected:
    """Check one row on its own: a survivor line, or every reason it is rejected."""
    reasons: list[str] = []

    def cell(parse: Callable[[str], object], column: Column, *, required: bool = False) -> Any:
        text = row.get(column)
        if required and not text:
            reasons.append(f"{column.value} is empty")
            return None
        try:
            return parse(text)
        except BadCell as error:
            reasons.append(str(error))
            return None

    def date(column: Column, *, required: bool = False) -> Any:
        return cell(lambda text: dates.read(text, column.value), column, required=required)

    reference = row.get(Column.OPERATION_REF) or None
    if reference is None:
        reasons.append("operation_ref is empty")
    if row.extra_cells:
        reasons.append("the row has more cells than the header")
    line: dict[str, Any] = {
        "channel": cell(cells.channel, Column.CHANNEL),
        "reported_at": date(Column.REPORTED_ON),
        "rescued_at": date(Column.RESCUED_ON, required=True),
        "returned_at": date(Column.RETURNED_ON),
        "reunited_at": date(Column.REUNITED_ON),
        "closed_at": date(Column.CLOSED_ON),
        "found_in_country": cell(cells.country, Column.FOUND_IN_COUNTRY, required=True),
        "gender": cell(cells.gender, Column.GENDER, required=True),
        "age_at_rescue": cell(cells.age, Column.AGE_AT_RESCUE, required=True),
        "exploitation": cell(cells.exploitation, Column.EXPLOITATION, required=True),
        "form": cell(cells.form, Column.FORM),
        "outcome": cell(cells.outcome, Column.OUTCOME),
    }
    if not reasons:
        reasons.extend(_date_order(line))
    if reasons or reference is None:
        return Rejected(row, reference, tuple(reasons))
    return SurvivorLine(
        row=row.number,
        operation_ref=reference,
        survivor_ref=row.get(Column.SURVIVOR_REF) or None,
        home_province=row.get(Column.HOME_PROVINCE)[:200] or None,
        **line,
    )


_ORDER = ("reported_at", "rescued_at", "returned_at", "reunited_at", "closed_at")
_COLUMN_OF = {
    "reported_at": "reported_on",
    "rescued_at": "rescued_on",
    "returned_at": "returned_on",
    "reunited_at": "reunited_on",
    "closed_at": "closed_on",
}


def _date_order(line: dict[str, object]) -> list[str]:
    reasons = []
    known = [(name, line[name]) for name in _ORDER if isinstance(line[name], datetime)]
    for (earlier, first), (later, second) in pairwise(known):
        if isinstance(first, datetime) and isinstance(second, datetime) and second < first:
            reasons.append(
                f"{_COLUMN_OF[later]} {second.date()} is before {_COLUMN_OF[earlier]} "
                f"{first.date()}"
            )
    returned = line["outcome"] in {Outcome.RETURNED_HOME, Outcome.SHELTER, Outcome.REUNITED}
    if returned and line["returned_at"] is None:
        reasons.append(f"returned_on is empty, but the outcome says {line['outcome']}")
    if line["outcome"] is Outcome.RESCUED and line["returned_at"] is not None:
        reasons.append("returned_on is set, but the outcome does not say where they returned")
    if line["reunited_at"] is not None and line["outcome"] is not Outcome.REUNITED:
        reasons.append("reunited_on is set, but the outcome is not reunited")
    return reasons


def group(
    lines: Sequence[SurvivorLine],
    rejected: Sequence[Rejected],
    *,
    organisation: str,
    default_channel: Channel | None,
) -> tuple[list[ImportedOperation], list[SkippedOperation]]:
    """Group rows by operation reference; skip every operation that has a rejected row."""
    by_reference: dict[str, list[SurvivorLine]] = {}
    for line in lines:
        by_reference.setdefault(line.operation_ref, []).append(line)
    rejected_by_reference: dict[str, list[Rejected]] = {}
    for row in rejected:
        if row.operation_ref is not None:
            rejected_by_reference.setdefault(row.operation_ref, []).append(row)
    operations: list[ImportedOperation] = []
    skipped: list[SkippedOperation] = []
    for reference in dict.fromkeys([*by_reference, *rejected_by_reference]):
        good = by_reference.get(reference, [])
        bad = rejected_by_reference.get(reference, [])
        if bad:
            rows = sorted([line.row for line in good] + [r.row.number for r in bad])
            listed = ", ".join(str(r.row.number) for r in bad)
            reason = f"row{'s' if len(bad) > 1 else ''} {listed} rejected"
            skipped.append(SkippedOperation(reference, tuple(rows), (reason,)))
            continue
        assembled = _operation(reference, good, organisation, default_channel)
        if isinstance(assembled, SkippedOperation):
            skipped.append(assembled)
        else:
            operations.append(assembled)
    return operations, skipped


def _agreed(
    lines: Sequence[SurvivorLine],
    field: Callable[[SurvivorLine], T | None],
    column: str,
    reasons: list[str],
) -> T | None:
    """The value the rows give for an operation field; empty cells take the others' value."""
    values: dict[T, list[int]] = {}
    for line in lines:
        value = field(line)
        if value is not None:
            values.setdefault(value, []).append(line.row)
    if len(values) > 1:
        told = "; ".join(
            f"{value.date() if isinstance(value, datetime) else value} "
            f"(row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))})"
            for value, rows in values.items()
        )
        reasons.append(f"the rows disagree on {column}: {told}")
        return None
    return next(iter(values), None)


def _operation(
    reference: str,
    lines: Sequence[SurvivorLine],
    organisation: str,
    default_channel: Channel | None,
) -> ImportedOperation | SkippedOperation:
    reasons: list[str] = []
    channel = _agreed(lines, lambda line: line.channel, "channel", reasons) or default_channel
    reported_at = _agreed(lines, lambda line: line.reported_at, "reported_on", reasons)
    rescued_at = _agreed(lines, lambda line: line.rescued_at, "rescued_on", reasons)
    closed_at = _agreed(lines, lambda line: line.closed_at, "closed_on", reasons)
    if channel is None and not reasons:
        reasons.append(
            "channel is empty: say who asked for help, in the sheet or with --default-channel"
        )
    survivors: list[ImportedSurvivor] = []
    keys: dict[str, int] = {}
    identity = operation_id(organisation, reference)
    for position, line in enumerate(lines, start=1):
        # Without a survivor reference a row is known by its place among the operation's rows.
        key = f"ref:{line.survivor_ref}" if line.survivor_ref else f"row:{position}"
        if key in keys:
            reasons.append(
                f"survivor_ref {line.survivor_ref!r} comes twice (rows {keys[key]}, {line.row})"
            )
        keys[key] = line.row
        survivors.append(ImportedSurvivor(uuid5(identity, f"survivor:{key}"), key, line))
    last = max(
        (moment for line in lines for moment in (line.returned_at, line.reunited_at) if moment),
        default=None,
    )
    if closed_at is not None and last is not None and closed_at < last:
        reasons.append(f"closed_on {closed_at.date()} is before a survivor's {last.date()}")
    rows = tuple(line.row for line in lines)
    if reasons or channel is None or rescued_at is None:
        return SkippedOperation(reference, rows, tuple(reasons))
    return ImportedOperation(
        operation_id=identity,
        reference=reference,
        channel=channel,
        # The stream must open with the report; a sheet without its date dates it to the rescue.
        reported_at=reported_at or rescued_at,
        rescued_at=rescued_at,
        closed_at=closed_at,
        survivors=tuple(survivors),
    )
