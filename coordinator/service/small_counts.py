"""Small counts hidden from leadership: a cell from 1 to 4 could single out a girl.

Impact figures over a narrow window (one month, one province) can be small enough to point at
one person: leadership and donors see every count from 1 to 4 as "<5"; zero stays 0, and admins
see exact counts.
"""

from __future__ import annotations

from typing import Any, Final

SUPPRESSED: Final = "<5"
SMALLEST_SHOWN = 5


def suppress_small_counts(figures: Any) -> Any:
    """`figures` with every count from 1 to 4 replaced by "<5", at any depth (times untouched)."""
    if isinstance(figures, dict):
        return {key: suppress_small_counts(value) for key, value in figures.items()}
    if isinstance(figures, list):
        return [suppress_small_counts(value) for value in figures]
    if isinstance(figures, int) and not isinstance(figures, bool) and 0 < figures < SMALLEST_SHOWN:
        return SUPPRESSED
    return figures
