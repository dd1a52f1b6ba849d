"""Payloads of the rescue itself: plan, approval, execution or abort, and the survivors freed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from events.catalogue.base import (
    MAX_LIST,
    MAX_SHORT_LIST,
    Age,
    Country,
    EventData,
    FreeText,
    Moment,
    Part,
    Personal,
    ShortText,
)
from events.catalogue.vocabulary import (
    Exploitation,
    Form,
    Gender,
    Outcome,
    Recovery,
    ReviewDecision,
    Risk,
)


class RescuePlanned(EventData):
    """A rescue was planned: when, by which team, with which partners, at what risk."""

    planned_for: Moment
    team: Annotated[tuple[ShortText, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    partners: Annotated[tuple[ShortText, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    risk: Risk


class RescueApproved(EventData):
    """Leadership approved the plan; the approver is whoever recorded this event."""

    note: FreeText | None = None


class Survivor(Part):
    """A person freed in a rescue or recovered otherwise, registered under a pseudonymous id.

    `personal` conventionally holds `name`, `date_of_birth` and `family_contact` (all optional);
    it is free-form because it is encrypted as a whole before it is stored. `age_at_rescue` is
    null when nobody knows it, and `age_estimated` says it was judged, not read from papers.
    `missing_person_id` names the missing person of the report she is.
    """

    survivor_id: UUID
    missing_person_id: UUID | None = None
    gender: Gender
    age_at_rescue: Age | None
    age_estimated: bool = False
    exploitation: Exploitation
    form: Form | None = None
    found_in_country: Country
    home_province: ShortText | None = None
    ethnic_group: ShortText | None = None
    personal: Personal | None = None


Survivors = Annotated[tuple[Survivor, ...], Field(max_length=MAX_LIST)]


class RescueExecuted(EventData):
    """The rescue happened; a success or partial rescue frees at least one survivor.

    An `emergency` rescue (a child crying for help cannot wait for a plan's approval) says why in
    `emergency_reason`, and awaits leadership's `RescueReviewed`. Version 2 renamed the
    survivors' `country` and `age` (version 1) to `found_in_country` and `age_at_rescue`;
    `upcast_rescue_executed_v1` reads version 1 payloads.
    """

    schema_version = 2

    outcome: Outcome
    survivors: Survivors = ()
    emergency: bool = False
    emergency_reason: FreeText | None = None

    @model_validator(mode="after")
    def _survivors_match_outcome(self) -> RescueExecuted:
        if self.outcome is Outcome.FAILED and self.survivors:
            raise ValueError("a failed rescue frees no survivors")
        if self.outcome is not Outcome.FAILED and not self.survivors:
            raise ValueError(f"a {self.outcome} rescue frees at least one survivor")
        if self.emergency and self.emergency_reason is None:
            raise ValueError("an emergency rescue says why in emergency_reason")
        return self


class RescueReviewed(EventData):
    """Leadership reviewed an emergency rescue after the fact: endorsed, or with concerns."""

    decision: ReviewDecision
    note: FreeText | None = None


class SurvivorRecovered(EventData):
    """Survivors came to the organisation without its rescue: escaped, freed in a police raid,
    brought by a partner, came forward themselves or were deported; registered as a rescue
    registers them, without a plan or an approval."""

    how: Recovery
    survivors: Annotated[tuple[Survivor, ...], Field(min_length=1, max_length=MAX_LIST)]


def upcast_rescue_executed_v1(data: dict[str, object]) -> dict[str, object]:
    """Rename version 1's `survivors[].country` and `survivors[].age` to their version 2 names."""
    survivors = data.get("survivors")
    if not isinstance(survivors, list):
        return dict(data)
    renamed: list[object] = []
    for stored in survivors:
        if not isinstance(stored, dict):
            renamed.append(stored)
            continue
        survivor = dict(stored)
        if "country" in survivor and "found_in_country" not in survivor:
            survivor["found_in_country"] = survivor.pop("country")
        if "age" in survivor and "age_at_rescue" not in survivor:
            survivor["age_at_rescue"] = survivor.pop("age")
        renamed.append(survivor)
    return {**data, "survivors": renamed}


class RescueAborted(EventData):
    """An approved rescue was called off, and why."""

    reason: FreeText
