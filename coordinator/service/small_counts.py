"""Small counts hidden from leadership: a cell from 1 to 4 could single out a girl.

Impact figures over a narrow window (one month, one province) can be small enough to point at
one person: leadership and donors see every count from 1 to 4 as "<5"; zero stays 0, and admins
see exact counts. A statistic over people (a median time to rescue) is withheld the same way
when fewer than 5 people make it: it would describe them as closely as their count.
"""

from __future__ import annotations

from typing import Any, Final

SUPPRESSED: Final = "<5"
SMALLEST_SHOWN = 5
STATISTIC_KEYS: Final = frozenset({"people", "median", "p90", "withheld"})
"""The shape of a statistic over people (projections/read_models/impact_reports.py)."""
WITHHELD: Final = "fewer than 5 people"


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < SMALLEST_SHOWN


def suppress_small_counts(figures: Any) -> Any:
    """`figures` with every count from 1 to 4 replaced by "<5", at any depth (times untouched),
    and every statistic over 1 to 4 people withheld (its values null, and why)."""
    if isinstance(figures, dict):
        if figures.keys() == STATISTIC_KEYS and _small(figures["people"]):
            return {"people": SUPPRESSED, "median": None, "p90": None, "withheld": WITHHELD}
        return {key: suppress_small_counts(value) for key, value in figures.items()}
    if isinstance(figures, list):
        return [suppress_small_counts(value) for value in figures]
    if _small(figures):
        return SUPPRESSED
    return figures
