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
    LongText,
    Moment,
    Part,
    Personal,
    ShortText,
)
from events.catalogue.vocabulary import Exploitation, Form, Gender, Outcome, Risk


class RescuePlanned(EventData):
    """A rescue was planned: when, by which team, with which partners, at what risk."""

    planned_for: Moment
    team: Annotated[tuple[ShortText, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    partners: Annotated[tuple[ShortText, ...], Field(max_length=MAX_SHORT_LIST)] = ()
    risk: Risk


class RescueApproved(EventData):
    """Leadership approved the plan; the approver is whoever recorded this event."""

    note: LongText | None = None


class Survivor(Part):
    """A person freed in a rescue, registered under a pseudonymous id.

    `personal` conventionally holds `name`, `date_of_birth` and `family_contact` (all optional);
    it is free-form because it is encrypted as a whole before it is stored.
    """

    survivor_id: UUID
    gender: Gender
    age_at_rescue: Age
    exploitation: Exploitation
    form: Form | None = None
    found_in_country: Country
    home_province: ShortText | None = None
    personal: Personal | None = None


class RescueExecuted(EventData):
    """The rescue happened; a success or partial rescue frees at least one survivor.

    Version 2 renamed the survivors' `country` and `age` (version 1) to `found_in_country` and
    `age_at_rescue`; `upcast_rescue_executed_v1` reads version 1 payloads.
    """

    schema_version = 2

    outcome: Outcome
    survivors: Annotated[tuple[Survivor, ...], Field(max_length=MAX_LIST)] = ()

    @model_validator(mode="after")
    def _survivors_match_outcome(self) -> RescueExecuted:
        if self.outcome is Outcome.FAILED and self.survivors:
            raise ValueError("a failed rescue frees no survivors")
        if self.outcome is not Outcome.FAILED and not self.survivors:
            raise ValueError(f"a {self.outcome} rescue frees at least one survivor")
        return self


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

    reason: LongText
