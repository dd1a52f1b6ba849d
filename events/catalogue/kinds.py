"""The three kinds of stream and the event types each holds.

A stream's kind is fixed by its first event: an operation opens with `CaseReported`, a
prosecution with `ProsecutionOpened`, and a survivor's case (whose stream id is her
`survivor_id`) with any event of a case. Event types are looked up per kind: a name that the
catalogue holds may still not belong on a stream of this kind.
"""

from __future__ import annotations

from enum import StrEnum

from events.catalogue.event_type import EventType


class StreamKind(StrEnum):
    """What a stream records."""

    OPERATION = "operation"
    SURVIVOR_CASE = "survivor_case"
    PROSECUTION = "prosecution"


_EVERY_KIND = frozenset({EventType.EVENT_CORRECTED, EventType.STATUS_NOTED})

KIND_EVENT_TYPES: dict[StreamKind, frozenset[str]] = {
    StreamKind.OPERATION: _EVERY_KIND
    | {
        EventType.CASE_REPORTED,
        EventType.INVESTIGATION_OPENED,
        EventType.LEAD_RECORDED,
        EventType.LOCATION_CONFIRMED,
        EventType.PARTNER_ENGAGED,
        EventType.RESCUE_PLANNED,
        EventType.RESCUE_APPROVED,
        EventType.RESCUE_EXECUTED,
        EventType.RESCUE_ABORTED,
        EventType.RESCUE_REVIEWED,
        EventType.SURVIVOR_RECOVERED,
        EventType.CUSTODY_TRANSFERRED,
        EventType.SURVIVOR_RETURNED,
        EventType.FAMILY_REUNITED,
        EventType.OPERATION_CLOSED,
        EventType.ALERT_ACKNOWLEDGED,
        EventType.TEAM_ASSIGNED,
        EventType.TEAM_UNASSIGNED,
        # Kept for version 1 clients and older streams; their place is now a case or a
        # prosecution.
        EventType.SUPPORT_PROVIDED,
        EventType.TESTIMONY_RECORDED,
        EventType.EVIDENCE_LOGGED,
        EventType.PROSECUTION_UPDATED,
        EventType.PERSONAL_DATA_ERASED,
    },
    StreamKind.SURVIVOR_CASE: _EVERY_KIND
    | {
        EventType.SUPPORT_PROVIDED,
        EventType.CONSENT_RECORDED,
        EventType.CONSENT_WITHDRAWN,
        EventType.SUPPORT_DECLINED,
        EventType.CONTACT_LOST,
        EventType.CONTACT_RESTORED,
        EventType.SURVIVOR_RETRAFFICKED,
        EventType.SURVIVOR_INDEPENDENT,
        EventType.PERSONAL_DATA_ERASED,
    },
    StreamKind.PROSECUTION: _EVERY_KIND
    | {
        EventType.PROSECUTION_OPENED,
        EventType.DEFENDANT_CHARGED,
        EventType.HEARING_HELD,
        EventType.TESTIMONY_RECORDED,
        EventType.EVIDENCE_LOGGED,
        EventType.VERDICT_REACHED,
        EventType.APPEAL_FILED,
        EventType.PROSECUTION_CLOSED,
    },
}
"""Which event types a stream of each kind may hold."""

OPENED_BY: dict[StreamKind, str | None] = {
    StreamKind.OPERATION: EventType.CASE_REPORTED,
    StreamKind.PROSECUTION: EventType.PROSECUTION_OPENED,
    StreamKind.SURVIVOR_CASE: None,
}
"""The event that must open a stream of each kind (a case opens with any of its events)."""


def kind_opened_by(first_event_type: str) -> StreamKind:
    """The kind of a stream whose first event has this type."""
    if first_event_type == EventType.CASE_REPORTED:
        return StreamKind.OPERATION
    if first_event_type == EventType.PROSECUTION_OPENED:
        return StreamKind.PROSECUTION
    return StreamKind.SURVIVOR_CASE
