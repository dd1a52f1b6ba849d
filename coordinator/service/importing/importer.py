"""The import's shell: check every row, plan every operation, then append each one's stream.

Each operation is one append at expected version 0, so it is stored whole or not at all. An
operation already in the log is compared with what the sheet says now: the same events (by id,
content and date) are "already imported" and nothing is appended; any difference is reported
as "changed" and nothing is appended either, because the log is never rewritten (a correction
goes through the API as an `EventCorrected`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from coordinator.domain import Registration
from coordinator.domain.actors import Actor, Role
from coordinator.domain.standing import FIRST_REGISTRATION
from coordinator.errors import CoordinatorError, RuleBroken
from coordinator.service.importing.cells import DateReader
from coordinator.service.importing.history import Plan, PlannedEvent, plan
from coordinator.service.importing.outcomes import Disposition, ImportReport, OperationResult
from coordinator.service.importing.sheet import Sheet
from coordinator.service.importing.survivor_lines import (
    ImportedOperation,
    Rejected,
    SkippedOperation,
    SurvivorLine,
    group,
    read_line,
)
from coordinator.service.registrations import append_registering
from events.catalogue import Channel, EventType
from events.store.envelope import NewEvent, Recorded
from events.store.errors import VersionConflict
from events.store.event_store import EventStore


@dataclass(frozen=True, slots=True)
class Prepared:
    """The sheet checked and planned: operations ready to append, and what was refused."""

    planned: list[tuple[ImportedOperation, Plan]]
    skipped: list[SkippedOperation]
    rejected: list[Rejected]


def importer_of(file_name: str) -> Actor:
    """Who an import records as: the file, with the admin role (the only one that may import)."""
    return Actor(f"import:{file_name}", Role.ADMIN)


def prepare(
    sheet: Sheet,
    *,
    organisation: str,
    dates: DateReader,
    importer: Actor,
    default_channel: Channel | None = None,
) -> Prepared:
    """Check every row and plan every operation; pure, no database."""
    lines: list[SurvivorLine] = []
    rejected: list[Rejected] = []
    for row in sheet.rows:
        checked = read_line(row, dates)
        if isinstance(checked, Rejected):
            rejected.append(checked)
        else:
            lines.append(checked)
    operations, skipped = group(
        lines, rejected, organisation=organisation, default_channel=default_channel
    )
    planned: list[tuple[ImportedOperation, Plan]] = []
    for operation in operations:
        try:
            planned.append((operation, plan(operation, importer)))
        except (CoordinatorError, ValidationError) as error:
            refusal = f"refused by the operation's rules: {error}"
            skipped.append(SkippedOperation(operation.reference, operation.rows, (refusal,)))
    return Prepared(planned, skipped, rejected)


async def import_sheet(
    store: EventStore,
    sheet: Sheet,
    *,
    file_name: str,
    organisation: str,
    dates: DateReader,
    run_id: UUID,
    default_channel: Channel | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    concurrency: int = 8,
) -> ImportReport:
    """Import `sheet` into the log, operation by operation; the report says what happened."""
    importer = importer_of(file_name)
    prepared = prepare(
        sheet,
        organisation=organisation,
        dates=dates,
        importer=importer,
        default_channel=default_channel,
    )
    report = ImportReport(run_id, file_name, organisation, sheet, rejected=prepared.rejected)
    # Operations are independent streams: a few are appended at once (no common lock, invariant 2).
    slots = asyncio.Semaphore(concurrency)
    done = 0

    async def store_one(operation: ImportedOperation, planned: Plan) -> OperationResult:
        nonlocal done
        source = {"file": file_name, "organisation": organisation, "reference": operation.reference}
        new = [
            _new_event(each, importer, run_id, {**source, "rows": list(each.rows)})
            for each in planned.events
        ]
        async with slots:
            result = await _store(store, operation, planned, new, dry_run=dry_run)
        done += 1
        if progress is not None:
            progress(done, len(prepared.planned))
        return result

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(store_one(*each)) for each in prepared.planned]
    report.results.extend(task.result() for task in tasks)
    report.results.extend(
        OperationResult(skip.reference, None, skip.rows, Disposition.SKIPPED, details=skip.reasons)
        for skip in prepared.skipped
    )
    report.results.sort(key=lambda result: min(result.rows, default=0))
    return report


def _new_event(
    planned: PlannedEvent, importer: Actor, run_id: UUID, source: dict[str, Any]
) -> NewEvent:
    """The event as stored, with the metadata every recorded event has (who, which request), and
    where it was imported from: in the envelope, not the payload, for it is not a fact of the
    rescue. Imported payloads hold no personal data, so there is nothing to seal."""
    event = planned.event
    return NewEvent(
        event_id=event.event_id,
        type=event.type,
        schema_version=type(event.data).schema_version,
        data=event.data.model_dump(mode="json"),
        occurred_at=event.occurred_at,
        metadata={
            "recorded_by": importer.name,
            "role": importer.role.value,
            "request_id": str(run_id),
            "correlation_id": str(run_id),
            "import": source,
        },
    )


async def _store(
    store: EventStore,
    operation: ImportedOperation,
    planned: Plan,
    new: list[NewEvent],
    *,
    dry_run: bool,
) -> OperationResult:
    def result(
        disposition: Disposition, events: int = 0, details: Sequence[str] = ()
    ) -> OperationResult:
        return OperationResult(
            operation.reference,
            operation.operation_id,
            operation.rows,
            disposition,
            events=events,
            survivors=len(operation.survivors),
            details=tuple(details),
        )

    existing = await store.read_stream(operation.operation_id)
    if not existing:
        if dry_run:
            return result(Disposition.WOULD_IMPORT, len(new))
        try:
            appended = await append_registering(
                store,
                operation.operation_id,
                new,
                expected_version=0,
                registrations=_registrations(operation.operation_id, new),
            )
        except VersionConflict:  # another run imported it meanwhile: compare with theirs
            existing = await store.read_stream(operation.operation_id)
        except RuleBroken as refusal:  # a survivor id another operation registered
            return result(Disposition.SKIPPED, details=(str(refusal),))
        else:
            return result(Disposition.IMPORTED, len(appended.events))
    rows = {str(survivor.survivor_id): survivor.line.row for survivor in operation.survivors}
    changes = differences(existing, planned, new, rows)
    if changes:
        return result(Disposition.CHANGED, details=changes)
    return result(Disposition.ALREADY_IMPORTED)


def _registrations(operation_id: UUID, new: Sequence[NewEvent]) -> list[Registration]:
    """The survivors the imported rescue registers, each for the first time."""
    return [
        Registration(
            UUID(str(survivor["survivor_id"])), FIRST_REGISTRATION, operation_id, e.event_id
        )
        for e in new
        if e.type == EventType.RESCUE_EXECUTED
        for survivor in e.data.get("survivors", [])
    ]


def differences(
    existing: Sequence[Recorded],
    planned: Plan,
    new: Sequence[NewEvent],
    survivor_rows: dict[str, int],
) -> list[str]:
    """How the log's imported events differ from what the sheet says now (empty: the same)."""
    stored = {recorded.event_id: recorded for recorded in existing}
    changes: list[str] = []
    for each, event in zip(planned.events, new, strict=True):
        rows = ", ".join(map(str, each.rows))
        found = stored.get(event.event_id)
        if found is None:
            changes.append(f"{each.label} (rows {rows}) was not in the earlier import")
        elif (found.type, found.schema_version, found.data) != (
            event.type,
            event.schema_version,
            event.data,
        ):
            changes.extend(
                _changed_content(each.label, rows, found.data, event.data, survivor_rows)
            )
        elif found.occurred_at != event.occurred_at:
            changes.append(
                f"{each.label} (rows {rows}) was imported as of {found.occurred_at.date()}, "
                f"the sheet now says {event.occurred_at.date()}"
            )
    return changes


def _changed_content(
    label: str,
    rows: str,
    before: dict[str, Any],
    now: dict[str, Any],
    survivor_rows: dict[str, int],
) -> list[str]:
    if label != EventType.RESCUE_EXECUTED:
        return [f"{label} (rows {rows}) was imported with other content"]
    earlier = {s["survivor_id"]: s for s in before.get("survivors", [])}
    changes = []
    for survivor in now["survivors"]:
        was = earlier.pop(survivor["survivor_id"], None)
        if was is None:
            changes.append(
                f"row {survivor_rows[survivor['survivor_id']]}: a survivor new in the sheet"
            )
            continue
        fields = [
            f"{name} {was.get(name)} -> {value}"
            for name, value in survivor.items()
            if was.get(name) != value
        ]
        if fields:
            row = survivor_rows[survivor["survivor_id"]]
            changes.append(f"row {row}: {', '.join(fields)}")
    changes.extend(
        f"survivor {gone} was imported but is no longer in the sheet" for gone in earlier
    )
    return changes or [f"RescueExecuted (rows {rows}) was imported with other content"]
