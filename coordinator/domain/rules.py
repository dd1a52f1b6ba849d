"""The rescue operation's rules as tables: when each event may be recorded, and by whom.

Stages here are the attempt's (`Operation.phase`): reported, investigating, planning, approved,
rescued (after a successful rescue) and closed. The stage the board shows follows the survivors
(coordinator/domain/state.py); no rule judges by it.

| event               | allowed in phases                    | phase after                         |
| ------------------- | ------------------------------------ | ----------------------------------- |
| CaseReported        | first event only (OpenOperation)     | reported                            |
| InvestigationOpened | reported                             | investigating                       |
| LeadRecorded,       | before a successful rescue: reported | unchanged                           |
| LocationConfirmed   | .. approved (a new attempt after a   |                                     |
|                     | partial or failed rescue or abort)   |                                     |
| RescuePlanned       | investigating, planning, approved    | planning (needs a new approval)     |
| RescueApproved      | planning                             | approved                            |
| RescueExecuted      | approved; an emergency also in       | rescued if success; investigating   |
|                     | reported, investigating or planning  | (a new attempt) if partial, failed  |
| RescueAborted       | approved                             | investigating (a new attempt)       |
| RescueReviewed      | any, while an emergency awaits review| unchanged                           |
| SurvivorRecovered   | any open phase, reported included    | unchanged                           |
| CustodyTransferred, | any open phase, for survivors this   | unchanged (her journey moves)       |
| SurvivorReturned,   | operation registered                 |                                     |
| FamilyReunited,     |                                      |                                     |
| SupportProvided     |                                      |                                     |
| PartnerEngaged,     | any open phase                       | unchanged                           |
| StatusNoted         |                                      |                                     |
| OperationClosed     | any open phase                       | closed                              |
| TestimonyRecorded,  | any phase, also closed               | unchanged                           |
| EvidenceLogged,     |                                      |                                     |
| ProsecutionUpdated, |                                      |                                     |
| EventCorrected,     |                                      |                                     |
| PersonalDataErased  |                                      |                                     |
| AlertAcknowledged   | any phase, also closed               | unchanged                           |
| TeamAssigned,       | any phase, also closed; by admin or  | unchanged (its teams change)        |
| TeamUnassigned      | a field token of an assigned team    |                                     |
"""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.domain.actors import Role
from coordinator.domain.state import HOME_COUNTRY, Stage
from events.catalogue import (
    KIND_EVENT_TYPES,
    LEGAL_EVENT_TYPES,
    EventType,
    StreamKind,
)

__all__ = [
    "AFTER_CLOSING",
    "ERASERS",
    "HOME_COUNTRY",
    "OPENERS",
    "RECORDABLE_BY",
    "STAGE_RULES",
    "StageRule",
]

ANY_STAGE = frozenset(Stage)
OPEN_STAGES = ANY_STAGE - {Stage.CLOSED}
NEW_ATTEMPT = frozenset({Stage.REPORTED, Stage.INVESTIGATING, Stage.PLANNING, Stage.APPROVED})
EMERGENCY = NEW_ATTEMPT
"""An emergency rescue may happen wherever a new attempt may start, even before an investigation
is opened: seed 001, "we cannot ignore a child crying for help"."""


@dataclass(frozen=True, slots=True)
class StageRule:
    """The phases an event is allowed in, said as the end of a sentence for the refusal."""

    allowed: frozenset[Stage]
    when: str


STAGE_RULES: dict[str, StageRule] = {
    EventType.CASE_REPORTED: StageRule(frozenset(), "as the first event of an operation"),
    EventType.INVESTIGATION_OPENED: StageRule(
        frozenset({Stage.REPORTED}), "while the case is reported"
    ),
    EventType.LEAD_RECORDED: StageRule(
        NEW_ATTEMPT, "before a successful rescue (or for a new attempt after a partial one)"
    ),
    EventType.LOCATION_CONFIRMED: StageRule(
        NEW_ATTEMPT, "before a successful rescue (or for a new attempt after a partial one)"
    ),
    EventType.PARTNER_ENGAGED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.RESCUE_PLANNED: StageRule(
        frozenset({Stage.INVESTIGATING, Stage.PLANNING, Stage.APPROVED}),
        "once an investigation is open and before a successful rescue",
    ),
    EventType.RESCUE_APPROVED: StageRule(frozenset({Stage.PLANNING}), "once a rescue is planned"),
    EventType.RESCUE_EXECUTED: StageRule(
        frozenset({Stage.APPROVED}),
        "once the rescue is approved (an emergency rescue before a successful rescue)",
    ),
    EventType.RESCUE_ABORTED: StageRule(frozenset({Stage.APPROVED}), "once the rescue is approved"),
    EventType.RESCUE_REVIEWED: StageRule(ANY_STAGE, "after an emergency rescue"),
    EventType.SURVIVOR_RECOVERED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.CUSTODY_TRANSFERRED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.SURVIVOR_RETURNED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.FAMILY_REUNITED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.SUPPORT_PROVIDED: StageRule(
        OPEN_STAGES, "while the operation is open (later, on her case)"
    ),
    EventType.TESTIMONY_RECORDED: StageRule(ANY_STAGE, "at any time"),
    EventType.EVIDENCE_LOGGED: StageRule(ANY_STAGE, "at any time"),
    EventType.PROSECUTION_UPDATED: StageRule(ANY_STAGE, "at any time"),
    EventType.STATUS_NOTED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.EVENT_CORRECTED: StageRule(ANY_STAGE, "at any time"),
    EventType.PERSONAL_DATA_ERASED: StageRule(ANY_STAGE, "at any time"),
    EventType.OPERATION_CLOSED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.ALERT_ACKNOWLEDGED: StageRule(ANY_STAGE, "at any time"),
    EventType.TEAM_ASSIGNED: StageRule(ANY_STAGE, "at any time"),
    EventType.TEAM_UNASSIGNED: StageRule(ANY_STAGE, "at any time"),
}

AFTER_CLOSING: frozenset[str] = frozenset(
    event_type for event_type, rule in STAGE_RULES.items() if Stage.CLOSED in rule.allowed
)
"""What may still be recorded on a closed operation: legal events, reviews, corrections,
erasures and team assignments."""

_OPERATION = KIND_EVENT_TYPES[StreamKind.OPERATION]

RECORDABLE_BY: dict[Role, frozenset[str]] = {
    Role.FIELD: _OPERATION
    - {
        EventType.RESCUE_APPROVED,
        EventType.RESCUE_REVIEWED,
        EventType.PERSONAL_DATA_ERASED,
        EventType.ALERT_ACKNOWLEDGED,
    },
    Role.ADMIN: _OPERATION - {EventType.RESCUE_APPROVED, EventType.RESCUE_REVIEWED},
    Role.LEGAL: (LEGAL_EVENT_TYPES & _OPERATION) | {EventType.EVENT_CORRECTED},
    Role.LEADERSHIP: frozenset(
        {EventType.RESCUE_APPROVED, EventType.RESCUE_REVIEWED, EventType.ALERT_ACKNOWLEDGED}
    ),
}
"""Which event types each role may record on an operation. Legal may correct legal events only;
`CaseReported` comes only through `OpenOperation` and `PersonalDataErased` only through
`EraseSurvivorData`; an alert is acknowledged by those who read alerts (leadership, admin).
Field and admin may record `TeamAssigned`/`TeamUnassigned`; of field tokens, only those of a team
assigned to the operation (`need_to_know.may_assign`, checked by `decide`)."""

OPENERS = frozenset({Role.FIELD, Role.ADMIN})
"""The roles that may open an operation."""

ERASERS = frozenset({Role.ADMIN})
"""The roles that may erase a survivor's personal data."""
