"""The service's projections by name, and how they are built: for the runners and for rebuilds.

Light to import (no web stack): a rebuild's helper processes build their projection from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coordinator.service.projection_folder import CaseFolder, OperationFolder
from projections.read_models.alerts import AlertsProjection
from projections.read_models.board import BoardProjection
from projections.read_models.impact import ImpactProjection
from projections.read_models.operation_status import OperationStatusProjection
from projections.read_models.survivor_status import SurvivorStatusProjection

if TYPE_CHECKING:  # the runner brings the logging stack, which a helper does not need
    from events.store.event_store import EventStore
    from projections.engine.runner import Projection

PROJECTION_NAMES = ("alerts", "board", "impact", "operation_status", "survivor_status")


def build_projections(
    store: EventStore, *, live: bool = True, cache_size: int = 5_000
) -> list[Projection]:
    """Every projection of the service, by name order (`live=False` for rebuilds).

    `cache_size` is how many operation states (and survivors' cases) each folding projection
    keeps (setting `projection_cache_operations`).
    """
    folder = OperationFolder()
    return [
        AlertsProjection(folder, store, cache_size=cache_size),
        BoardProjection(folder, store, announce=live, cache_size=cache_size),
        ImpactProjection(store),
        OperationStatusProjection(folder, store, cache_size=cache_size),
        SurvivorStatusProjection(CaseFolder(), store, cache_size=cache_size),
    ]


def rebuilt_projection(store: EventStore, name: str) -> Projection:
    """Projection `name` as a rebuild builds it (the factory of a rebuild's helper processes)."""
    for projection in build_projections(store, live=False):
        if projection.name == name:
            return projection
    raise LookupError(f"no projection is named {name!r}")
