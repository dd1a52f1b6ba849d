"""The event catalogue: one frozen pydantic model per event type of a rescue operation's stream.

Import from here; the submodules group the payloads by the part of the operation they record.
"""

from __future__ import annotations

from events.catalogue.aftercare import (
    CustodyTransferred,
    FamilyReunited,
    Party,
    SupportProvided,
    SurvivorReturned,
)
from events.catalogue.base import EventData
from events.catalogue.countries import ISO_3166_ALPHA_2
from events.catalogue.event_type import EventType
from events.catalogue.investigation import (
    CaseReported,
    InvestigationOpened,
    LeadRecorded,
    LocationConfirmed,
    MissingPerson,
    PartnerEngaged,
    Reporter,
)
from events.catalogue.record import (
    EventCorrected,
    EvidenceLogged,
    OperationClosed,
    PersonalDataErased,
    ProsecutionUpdated,
    StatusNoted,
    TestimonyRecorded,
)
from events.catalogue.registry import (
    EVENT_TYPES,
    LEGAL_EVENT_TYPES,
    UPCASTERS,
    UnknownEventType,
    UnknownSchemaVersion,
    Upcaster,
    event_json_schemas,
    is_legal_event,
    parse_event,
)
from events.catalogue.rescue import (
    RescueAborted,
    RescueApproved,
    RescueExecuted,
    RescuePlanned,
    Survivor,
)
from events.catalogue.vocabulary import (
    AgencyType,
    Channel,
    CloseReason,
    Destination,
    Exploitation,
    Form,
    Gender,
    Outcome,
    Phase,
    Reliability,
    Risk,
    Service,
    SuspectedExploitation,
    Venue,
)

__all__ = [
    "EVENT_TYPES",
    "ISO_3166_ALPHA_2",
    "LEGAL_EVENT_TYPES",
    "UPCASTERS",
    "AgencyType",
    "CaseReported",
    "Channel",
    "CloseReason",
    "CustodyTransferred",
    "Destination",
    "EventCorrected",
    "EventData",
    "EventType",
    "EvidenceLogged",
    "Exploitation",
    "FamilyReunited",
    "Form",
    "Gender",
    "InvestigationOpened",
    "LeadRecorded",
    "LocationConfirmed",
    "MissingPerson",
    "OperationClosed",
    "Outcome",
    "PartnerEngaged",
    "Party",
    "PersonalDataErased",
    "Phase",
    "ProsecutionUpdated",
    "Reliability",
    "Reporter",
    "RescueAborted",
    "RescueApproved",
    "RescueExecuted",
    "RescuePlanned",
    "Risk",
    "Service",
    "StatusNoted",
    "SupportProvided",
    "Survivor",
    "SurvivorReturned",
    "SuspectedExploitation",
    "TestimonyRecorded",
    "UnknownEventType",
    "UnknownSchemaVersion",
    "Upcaster",
    "Venue",
    "event_json_schemas",
    "is_legal_event",
    "parse_event",
]
