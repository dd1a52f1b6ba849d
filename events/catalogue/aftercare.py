"""Payloads of the journey home and after: custody handoffs, return, reunion and support."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from events.catalogue.base import (
    MAX_LIST,
    MAX_SHORT_LIST,
    Country,
    EventData,
    FreePlace,
    FreeText,
    Part,
    ShortText,
)
from events.catalogue.vocabulary import Crossing, Destination, Service

SurvivorIds = Annotated[tuple[UUID, ...], Field(min_length=1, max_length=MAX_LIST)]


class Party(Part):
    """One side of a custody handoff: the agency, its country and the officer."""

    agency: ShortText
    country: Country
    officer: FreePlace | None = None


class CustodyTransferred(EventData):
    """Named survivors were handed from one agency to another, across a border or not."""

    survivor_ids: SurvivorIds
    from_party: Party
    to_party: Party
    place: FreePlace | None = None


class SurvivorReturned(EventData):
    """Named survivors arrived home or in a shelter, and how they crossed.

    Without `crossing`, a survivor found abroad is taken to have crossed in the handoff recorded
    for her, and one found at home not to have crossed a border.
    """

    survivor_ids: SurvivorIds
    place: FreePlace | None = None
    destination: Destination
    crossing: Crossing | None = None


class FamilyReunited(EventData):
    """A survivor met her family again, at home or already at the border gate."""

    survivor_id: UUID
    place: FreePlace | None = None
    family_present: Annotated[tuple[ShortText, ...], Field(max_length=MAX_SHORT_LIST)] = ()


class SupportProvided(EventData):
    """A survivor received a service; on her case, `survivor_id` is the stream's and optional."""

    survivor_id: UUID | None = None
    service: Service
    note: FreeText | None = None
