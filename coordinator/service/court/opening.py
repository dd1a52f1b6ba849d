"""Opening a bundle's personal data for the court page, through the privacy service.

The bundle holds personal data sealed, as stored; the page shows it as the reader's role may
read it (opened, or marked erased where the key was destroyed). The caller logs the read first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from coordinator.domain.actors import Role
from coordinator.service.privacy.places import is_sealed

if TYPE_CHECKING:
    from coordinator.service.privacy.service import Privacy
    from events.store.event_store import EventStore


def _holds_sealed(value: Any) -> bool:
    if isinstance(value, dict):
        return is_sealed(value) or any(_holds_sealed(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_sealed(item) for item in value)
    return False


def bundle_events(bundle: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every event of a one-stream bundle or a bundle of several."""
    if isinstance(bundle.get("streams"), list):
        for stream in bundle["streams"]:
            yield from stream.get("events") or []
    else:
        yield from bundle.get("events") or []


async def opened_for(
    store: EventStore, privacy: Privacy, bundle: dict[str, Any], role: Role
) -> dict[str, dict[str, Any]]:
    """Each event's data with personal data as `role` may read it, by event id (only the events
    that hold any)."""
    sealed = [UUID(e["event_id"]) for e in bundle_events(bundle) if _holds_sealed(e.get("data"))]
    if not sealed:
        return {}
    recorded = await store.find_events(sealed)
    readable = await privacy.readable(recorded, role)
    return {str(event_id): data for event_id, data in readable.items()}
