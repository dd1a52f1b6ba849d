"""A survivor's journey within the operation that registered her, as a pure record update.

Shared by the operation's fold and her case's fold, so both tell the same story: registered
(abroad, or in transit when found at home), handed over, returned home or to a shelter, then
reunited or in aftercare. Reunion and care before her return are recorded but move nothing.
"""

from __future__ import annotations

from datetime import datetime

from coordinator.domain.copying import replace
from coordinator.domain.state import SurvivorRecord
from events.catalogue import (
    CustodyTransferred,
    EventData,
    FamilyReunited,
    Recovery,
    SupportProvided,
    Survivor,
    SurvivorReturned,
)


def registered(survivor: Survivor, at: datetime, recovered: Recovery | None) -> SurvivorRecord:
    """Her record as a rescue (or, with `recovered`, a recovery) registers her."""
    return SurvivorRecord(
        survivor_id=survivor.survivor_id,
        gender=survivor.gender,
        age_at_rescue=survivor.age_at_rescue,
        exploitation=survivor.exploitation,
        form=survivor.form,
        found_in_country=survivor.found_in_country,
        home_province=survivor.home_province,
        age_estimated=survivor.age_estimated,
        ethnic_group=survivor.ethnic_group,
        missing_person_id=survivor.missing_person_id,
        recovered=recovered,
        registered_at=at,
    )


def journey_after(record: SurvivorRecord, data: EventData) -> SurvivorRecord:
    """Her record after an event that names her (a handoff, her return, a reunion, a service)."""
    match data:
        case CustodyTransferred() if not record.returned:
            return replace(record, handed_off=True)
        case SurvivorReturned(destination=destination) if not record.returned:
            return replace(record, returned_to=destination)
        case FamilyReunited() if record.returned:
            return replace(record, reunited=True)
        case SupportProvided() if record.returned:
            return replace(record, supported=True)
        case _:
            return record
