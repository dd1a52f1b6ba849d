"""Factories for the helper processes of a parallel rebuild that fail on purpose.

A helper imports its factory by name, so these live in a module of their own. The rebuilding
process folds with the projection the test hands it, which works; only the helpers misbehave.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from coordinator.service.projection_folder import OperationFolder
from events.store.envelope import Recorded
from events.store.event_store import EventStore
from projections.read_models.board import BoardProjection

PERSONAL = "Nguyen Thi Lan, 16, from Ha Giang"


class _FailingBoard(BoardProjection):
    async def rows(self, _events: Sequence[Recorded]) -> list[tuple[Any, ...]]:
        # A message that quotes personal data must not travel with the failure.
        raise ValueError(f"cannot fold the record of {PERSONAL}")


class _DyingBoard(BoardProjection):
    async def rows(self, _events: Sequence[Recorded]) -> list[tuple[Any, ...]]:
        os._exit(7)


def failing(store: EventStore, _name: str) -> BoardProjection:
    """A board whose every fold raises."""
    return _FailingBoard(OperationFolder(), store, announce=False)


def dying(store: EventStore, _name: str) -> BoardProjection:
    """A board whose process ends in the middle of its first fold."""
    return _DyingBoard(OperationFolder(), store, announce=False)
