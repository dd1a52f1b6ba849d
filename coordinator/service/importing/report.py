"""The import's report: a summary and every refusal with its reason, and the rejects file.

The rejects file holds every row that is not in the log after the run, with the cells of the
columns the importer reads after `row` and `reason` columns, so it can be fixed in a spreadsheet
and imported again (the importer ignores the two extra columns). Columns the importer does not
read (names, notes) are left out, as they may hold personal data, and the file is readable by
its owner alone (0600).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from coordinator.service.importing.outcomes import Disposition, ImportReport, OperationResult


def lines(report: ImportReport) -> Iterator[str]:
    """The printed report, line by line."""
    by: dict[Disposition, list[OperationResult]] = {each: [] for each in Disposition}
    for result in report.results:
        by[result.disposition].append(result)
    imported = by[Disposition.IMPORTED] + by[Disposition.WOULD_IMPORT]
    verb = "would import" if by[Disposition.WOULD_IMPORT] else "imported"
    survivors = sum(r.survivors for r in imported)
    events = sum(r.events for r in imported)
    skipped, changed = by[Disposition.SKIPPED], by[Disposition.CHANGED]
    yield f"import of {report.file_name} for {report.organisation!r} (run {report.run_id})"
    yield f"  {len(imported):>5} operations {verb} ({survivors} survivors, {events} events)"
    yield f"  {len(by[Disposition.ALREADY_IMPORTED]):>5} operations already imported"
    yield f"  {len(changed):>5} operations changed since imported (the log keeps the import)"
    yield (
        f"  {len(skipped):>5} operations skipped ({sum(len(r.rows) for r in skipped)} rows), "
        f"{len(report.rejected)} rows rejected"
    )
    if report.sheet.ignored:
        yield f"  columns ignored: {', '.join(report.sheet.ignored)}"
    if report.rejected:
        yield ""
        yield "rejected rows:"
        for rejected in report.rejected:
            reference = rejected.operation_ref or "no operation_ref"
            yield f"  row {rejected.row.number} ({reference}): {'; '.join(rejected.reasons)}"
    if skipped:
        yield ""
        yield "skipped operations (nothing of them imported):"
        for result in skipped:
            yield f"  {result.reference} (rows {_rows(result.rows)}): {'; '.join(result.details)}"
    if changed:
        yield ""
        yield "changed since imported (the log keeps the import; correct it with EventCorrected):"
        for result in changed:
            yield f"  {result.reference} (rows {_rows(result.rows)}):"
            for detail in result.details:
                yield f"    {detail}"


def _rows(rows: tuple[int, ...]) -> str:
    return ", ".join(map(str, rows))


def not_imported(report: ImportReport) -> dict[int, str]:
    """Every row not in the log after the run, with why."""
    reasons = {rejected.row.number: "; ".join(rejected.reasons) for rejected in report.rejected}
    for result in report.results:
        if result.disposition in {Disposition.SKIPPED, Disposition.CHANGED}:
            why = f"operation {result.reference} {result.disposition}: {'; '.join(result.details)}"
            for row in result.rows:
                reasons.setdefault(row, why)
    return dict(sorted(reasons.items()))


def write_rejects(report: ImportReport, path: Path) -> int:
    """Write the rows not imported to a CSV at `path`; returns how many."""
    rows = {row.number: row for row in report.sheet.rows}
    refused = not_imported(report)
    read = sorted(report.sheet.columns)  # positions of the columns the importer reads
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file was there before, with other modes
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["row", "reason", *(report.sheet.header[at] for at in read)])
        for number, reason in refused.items():
            raw = rows[number].raw
            writer.writerow([number, reason, *(raw[at] if at < len(raw) else "" for at in read)])
    return len(refused)
