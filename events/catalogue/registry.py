"""Event types by name, the upcasters that read old schema versions, and the one parse entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.catalogue.aftercare import (
    CustodyTransferred,
    FamilyReunited,
    SupportProvided,
    SurvivorReturned,
)
from events.catalogue.alerts import AlertAcknowledged
from events.catalogue.base import EventData, clear_fields, sealable_fields
from events.catalogue.case import (
    ConsentRecorded,
    ConsentWithdrawn,
    ContactLost,
    ContactRestored,
    SupportDeclined,
    SurvivorIndependent,
    SurvivorRetrafficked,
)
from events.catalogue.event_type import EventType
from events.catalogue.investigation import (
    CaseReported,
    InvestigationOpened,
    LeadRecorded,
    LocationConfirmed,
    PartnerEngaged,
)
from events.catalogue.prosecution import (
    AppealFiled,
    DefendantCharged,
    HearingHeld,
    ProsecutionClosed,
    ProsecutionOpened,
    VerdictReached,
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
from events.catalogue.rescue import (
    RescueAborted,
    RescueApproved,
    RescueExecuted,
    RescuePlanned,
    RescueReviewed,
    SurvivorRecovered,
    upcast_rescue_executed_v1,
)
from events.catalogue.teams import TeamAssigned, TeamUnassigned

EVENT_TYPES: dict[str, type[EventData]] = {
    EventType(event_type.__name__): event_type
    for event_type in (
        CaseReported,
        InvestigationOpened,
        LeadRecorded,
        LocationConfirmed,
        PartnerEngaged,
        RescuePlanned,
        RescueApproved,
        RescueExecuted,
        RescueAborted,
        RescueReviewed,
        SurvivorRecovered,
        CustodyTransferred,
        SurvivorReturned,
        FamilyReunited,
        SupportProvided,
        TestimonyRecorded,
        EvidenceLogged,
        ProsecutionUpdated,
        StatusNoted,
        EventCorrected,
        PersonalDataErased,
        OperationClosed,
        ConsentRecorded,
        ConsentWithdrawn,
        SupportDeclined,
        ContactLost,
        ContactRestored,
        SurvivorRetrafficked,
        SurvivorIndependent,
        ProsecutionOpened,
        DefendantCharged,
        HearingHeld,
        VerdictReached,
        AppealFiled,
        ProsecutionClosed,
        AlertAcknowledged,
        TeamAssigned,
        TeamUnassigned,
    )
}
"""Every event type of every kind of stream, by the name stored with it."""

if set(EVENT_TYPES) != set(EventType):  # pragma: no cover -- a model or a name was left out
    raise RuntimeError("every EventType needs its payload model, and every model its EventType")

FREE_TEXT: dict[str, frozenset[str]] = {
    name: sealable_fields(model) for name, model in EVENT_TYPES.items()
}
"""Per event type, the names of its free-text fields (notes, places...), which the service seals
under their subject's key before storing them (coordinator/service/privacy)."""

CORRECTED_FREE_TEXT: frozenset[str] = frozenset().union(*FREE_TEXT.values()) - frozenset().union(
    *(clear_fields(model) for model in EVENT_TYPES.values())
)
"""The names sealed inside a correction's `corrected_data`: free text in every event type that
has them (a name that is free text in one type and a vocabulary value in another, `reason` or
`outcome`, stays clear there)."""

LEGAL_EVENT_TYPES: frozenset[str] = frozenset(
    {
        EventType.TESTIMONY_RECORDED,
        EventType.EVIDENCE_LOGGED,
        EventType.PROSECUTION_UPDATED,
        EventType.PROSECUTION_OPENED,
        EventType.DEFENDANT_CHARGED,
        EventType.HEARING_HELD,
        EventType.VERDICT_REACHED,
        EventType.APPEAL_FILED,
        EventType.PROSECUTION_CLOSED,
    },
)
"""The events the legal team records; an `EventCorrected` of one of these is a legal event too."""

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (EventType.RESCUE_EXECUTED, 1): upcast_rescue_executed_v1,
}
"""(event type, version) to a function giving the payload of the next version."""


class UnknownEventType(ValueError):
    """An event type the catalogue does not hold."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        known = ", ".join(EVENT_TYPES)
        super().__init__(f"unknown event type {event_type!r}; the catalogue holds {known}")


class UnknownSchemaVersion(ValueError):
    """A schema version that no upcaster leads from, or newer than this code knows."""

    def __init__(self, event_type: str, schema_version: int) -> None:
        self.event_type = event_type
        self.schema_version = schema_version
        current = EVENT_TYPES[event_type].schema_version
        super().__init__(
            f"{event_type} has no schema version {schema_version}; this code reads versions "
            f"up to {current}",
        )


def is_legal_event(event_type: str, corrected_type: str | None = None) -> bool:
    """Whether an event is a legal one; a correction is legal when what it corrects is."""
    if event_type == EventType.EVENT_CORRECTED:
        return corrected_type in LEGAL_EVENT_TYPES
    return event_type in LEGAL_EVENT_TYPES


def parse_event(event_type: str, schema_version: int, data: dict[str, Any]) -> EventData:
    """Upcast a stored or received payload to the current version and validate it.

    Raises `UnknownEventType`, `UnknownSchemaVersion` or pydantic's `ValidationError`.
    """
    model = EVENT_TYPES.get(event_type)
    if model is None:
        raise UnknownEventType(event_type)
    if not 1 <= schema_version <= model.schema_version:
        raise UnknownSchemaVersion(event_type, schema_version)
    version = schema_version
    while version < model.schema_version:
        upcaster = UPCASTERS.get((event_type, version))
        if upcaster is None:
            raise UnknownSchemaVersion(event_type, version)
        data = upcaster(data)
        version += 1
    # The model's validator itself: `model_validate` around it cost a third as much again.
    return model.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]


def event_json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON schema of every event type's current payload, for the OpenAPI document."""
    return {name: model.model_json_schema() for name, model in EVENT_TYPES.items()}
