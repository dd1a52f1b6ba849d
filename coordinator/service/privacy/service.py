"""The privacy service: seals new events' personal data, opens it for roles that may see it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from coordinator.domain.actors import Role
from coordinator.errors import InvalidInput
from coordinator.service.privacy.data_keys import DataKeys
from coordinator.service.privacy.kek import KeyEncryptionKeys
from coordinator.service.privacy.places import is_sealed, sealable_places
from coordinator.service.privacy.sealing import (
    Mac,
    Sealed,
    fingerprint,
    hide,
    open_sealed,
    sealed_with_fingerprint,
    subjects_of,
)
from events.catalogue import CORRECTED_FREE_TEXT, EVENT_TYPES, FREE_TEXT, EventType
from events.store.envelope import Recorded

PERSONAL_DATA_ROLES = frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})


def sealed_keys(event_type: str, data: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """Which names an event's data seals: its free-text fields at any depth (in a correction,
    those of `corrected_data`), and at the top level its own reason (a correction's) and every
    field the catalogue lacks."""
    model = EVENT_TYPES.get(event_type)
    if model is None:
        return frozenset(), frozenset()
    extra = frozenset(data) - frozenset(model.model_fields)
    if event_type == EventType.EVENT_CORRECTED:
        return CORRECTED_FREE_TEXT, extra | FREE_TEXT[event_type]
    return FREE_TEXT[event_type], extra


class Privacy:
    """Everything the shell needs to keep personal data sealed at rest."""

    def __init__(self, pool: asyncpg.Pool, keks: KeyEncryptionKeys) -> None:
        self.data_keys = DataKeys(pool, keks)
        self._fingerprint_key = keks.fingerprint_key
        self._fingerprint_mac = Mac(keks.fingerprint_key)

    async def sealed(
        self,
        stream_id: UUID,
        event_id: UUID,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> Sealed:
        """An event's data as stored, every `personal` object, free-text value and field the
        catalogue lacks sealed under its subject's data key, and the keyed identity of its plain
        content (for idempotent re-sends), keyed per stream and event and digesting each sealed
        value under its own subject's key, so that it dies with the subject
        (coordinator/service/privacy/sealing.py)."""
        places = sealable_places(data, stream_id, *sealed_keys(event_type, data))
        if any(is_sealed(container[key]) for container, key, _path, _subject in places):
            raise InvalidInput("personal data is sent in the clear; the server seals it")
        return await sealed_with_fingerprint(
            self._fingerprint_mac,
            data,
            places,
            stream_id=stream_id,
            event_id=event_id,
            event_type=event_type,
            schema_version=schema_version,
            key_for=self.data_keys.for_sealing,
        )

    def legacy_fingerprint(
        self, event_type: str, schema_version: int, data: dict[str, Any]
    ) -> bytes:
        """The fingerprint events were stored with before it was keyed per subject: to
        recognise a re-send of one of them."""
        return fingerprint(self._fingerprint_key, event_type, schema_version, data)

    async def readable(self, events: Sequence[Recorded], role: Role) -> dict[UUID, dict[str, Any]]:
        """Each event's data as `role` may read it: opened, marked erased, or personal hidden."""
        if role not in PERSONAL_DATA_ROLES:
            return {event.event_id: hide(event.data, event.stream_id) for event in events}
        subjects: set[UUID] = set()
        for event in events:
            subjects |= subjects_of(event.data, event.stream_id)
        keys = await self.data_keys.for_opening(subjects)
        return {
            event.event_id: open_sealed(
                event.data, event_id=event.event_id, operation_id=event.stream_id, keys=keys
            )
            for event in events
        }
