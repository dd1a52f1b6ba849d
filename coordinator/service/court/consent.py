"""What a court page may carry of a survivor: her personal data only with her consent.

A court page leaves the organisation. A survivor's personal data (and that of the missing person
she is, in her mother's report) is opened on it only while her case holds a `ConsentRecorded` for
the purpose `prosecution` not withdrawn since (a guardian's for a minor); otherwise it stays
sealed on the page, marked as withheld. The hashes verify either way: they cover the sealed form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from coordinator.service.privacy.places import PERSONAL
from coordinator.service.survivor_cases import load_case
from events.catalogue import ConsentPurpose
from events.store.event_store import EventStore

WITHHELD = {"withheld": "no consent for prosecution"}
"""A personal object left sealed on the page for want of her consent."""


async def without_consent(store: EventStore, survivors: Iterable[UUID]) -> set[UUID]:
    """The subjects whose data must stay sealed: survivors without a standing consent for
    prosecution, and the missing persons they are."""
    withheld: set[UUID] = set()
    for survivor_id in set(survivors):
        case = await load_case(store, survivor_id)
        if case.state.consent_for(ConsentPurpose.PROSECUTION):
            continue
        withheld.add(survivor_id)
        for event in case.history:
            for survivor in getattr(event.data, "survivors", ()):
                if survivor.survivor_id == survivor_id and survivor.missing_person_id:
                    withheld.add(survivor.missing_person_id)
    return withheld


def withhold(opened: dict[str, Any], subjects: set[UUID]) -> dict[str, Any]:
    """`opened` (event data by event id) with the personal objects of `subjects` withheld."""
    return {event_id: _withheld(data, subjects) for event_id, data in opened.items()}


def _withheld(value: Any, subjects: set[UUID]) -> Any:
    if isinstance(value, list):
        return [_withheld(item, subjects) for item in value]
    if not isinstance(value, dict):
        return value
    named = {str(value.get(key)) for key in ("survivor_id", "missing_person_id")}
    withheld = PERSONAL in value and any(str(subject) in named for subject in subjects)
    return {
        key: dict(WITHHELD) if key == PERSONAL and withheld else _withheld(item, subjects)
        for key, item in value.items()
    }
