"""What an import run did: each operation's outcome, and the report of the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from coordinator.service.importing.sheet import Sheet
from coordinator.service.importing.survivor_lines import Rejected


class Disposition(StrEnum):
    """What became of one operation of the sheet."""

    IMPORTED = "imported"
    WOULD_IMPORT = "would import"
    ALREADY_IMPORTED = "already imported"
    CHANGED = "changed since imported"
    SKIPPED = "skipped"


IN_THE_LOG = frozenset(
    {Disposition.IMPORTED, Disposition.WOULD_IMPORT, Disposition.ALREADY_IMPORTED}
)
"""The dispositions of an operation whose rows are (or, in a dry run, would be) in the log."""


@dataclass(frozen=True, slots=True)
class OperationResult:
    """What became of one operation, the rows it came from, and what was appended or found."""

    reference: str
    operation_id: UUID | None
    rows: tuple[int, ...]
    disposition: Disposition
    events: int = 0
    survivors: int = 0
    details: tuple[str, ...] = ()


@dataclass(slots=True)
class ImportReport:
    """Everything a run did and refused, for the printed report and the rejects file."""

    run_id: UUID
    file_name: str
    organisation: str
    sheet: Sheet
    rejected: list[Rejected] = field(default_factory=list)
    results: list[OperationResult] = field(default_factory=list)

    def count(self, disposition: Disposition) -> int:
        """How many operations ended with `disposition`."""
        return sum(1 for result in self.results if result.disposition is disposition)

    @property
    def clean(self) -> bool:
        """Whether every row is in the log (now or before): nothing rejected, skipped, changed."""
        return not self.rejected and all(r.disposition in IN_THE_LOG for r in self.results)
