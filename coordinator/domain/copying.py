"""Copying the state's frozen records with some fields changed, fast: folds copy once per event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from events.store.slots import copier as slot_copier

T = TypeVar("T")
_COPIERS: dict[type, Callable[[Any, dict[str, object]], Any]] = {}


def replace(record: T, **changes: object) -> T:
    """`dataclasses.replace` for the state's frozen records: 1.6 us against 4.3 us per copy.

    Folding replays every event of the log on a rebuild and copies the state once per event
    (events/store/slots.py has the figures, tests/test_fast_paths.py pins it to `replace`).
    """
    cls = type(record)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = slot_copier(cls)
    copied: T = copier(record, changes)
    return copied
