"""Payloads of the operation's opening: the report, the investigation and the partners engaged."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from events.catalogue.base import (
    MAX_LIST,
    Age,
    Country,
    EventData,
    FreePlace,
    FreeText,
    Part,
    Personal,
    ShortText,
)
from events.catalogue.vocabulary import (
    AgencyType,
    Channel,
    Gender,
    Reliability,
    SuspectedExploitation,
    Venue,
)


class Reporter(Part):
    """Who asked for help: their relationship to the missing and their (encrypted) details."""

    relationship: ShortText | None = None
    personal: Personal | None = None


class MissingPerson(Part):
    """A person reported missing; they get a survivor id only once rescued.

    `missing_person_id` (chosen by the client) lets the survivor found later say which missing
    person she is; her personal data here is sealed under that id, and erased with hers.
    """

    missing_person_id: UUID | None = None
    gender: Gender | None = None
    age: Age | None = None
    home_province: ShortText | None = None
    last_seen: FreePlace | None = None
    personal: Personal | None = None


class CaseReported(EventData):
    """Someone asked for help: the first event of every operation.

    `reference` is the organisation's own case number (`BD-2020-037`), shown on the board.
    """

    channel: Channel
    reference: ShortText | None = None
    reporter: Reporter | None = None
    missing_persons: Annotated[tuple[MissingPerson, ...], Field(max_length=MAX_LIST)] = ()
    suspected_exploitation: SuspectedExploitation = SuspectedExploitation.UNKNOWN
    suspected_country: Country | None = None


class InvestigationOpened(EventData):
    """An investigator took the case on."""

    lead_investigator: ShortText


class LeadRecorded(EventData):
    """A lead came in, graded by how reliable its source is."""

    source: ShortText
    reliability: Reliability
    summary: FreeText | None = None


class LocationConfirmed(EventData):
    """The country, place and kind of venue where the missing are held was confirmed."""

    country: Country
    place: FreePlace | None = None
    venue: Venue | None = None


class PartnerEngaged(EventData):
    """A police, border-guard, embassy or NGO partner joined the operation."""

    agency: ShortText
    agency_type: AgencyType
    country: Country
    contact_officer: FreePlace | None = None
