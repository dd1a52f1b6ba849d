"""Rows as the column arrays of a many-row `INSERT ... SELECT * FROM unnest($1::type[], ...)`.

One statement for a batch's rows instead of one per row: a single round trip and plan, which for
the log's appends and the projections' writes cost more than the rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def columns(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """The rows' values column by column (every row the same length)."""
    return [list(column) for column in zip(*rows, strict=True)]
