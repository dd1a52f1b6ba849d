"""The rescue operation's rules as tables: when each event may be recorded, and by whom.

| event               | allowed in stages                  | stage after                        |
| ------------------- | ---------------------------------- | ---------------------------------- |
| CaseReported        | first event only (OpenOperation)   | reported                           |
| InvestigationOpened | reported                           | investigating                      |
| LeadRecorded        | reported .. approved (pre-rescue)  | unchanged                          |
| LocationConfirmed   | reported .. approved (pre-rescue)  | unchanged (country confirmed)      |
| PartnerEngaged      | any open stage                     | unchanged                          |
| RescuePlanned       | investigating, planning, approved  | planning (a new plan needs a new   |
|                     |                                    | approval)                          |
| RescueApproved      | planning                           | approved                           |
| RescueExecuted      | approved                           | rescued; investigating if failed   |
| RescueAborted       | approved                           | investigating                      |
| CustodyTransferred  | rescued .. aftercare               | furthest survivor status           |
| SurvivorReturned    | rescued .. aftercare               | furthest survivor status           |
| FamilyReunited      | rescued .. aftercare               | furthest survivor status           |
| SupportProvided     | rescued .. aftercare               | furthest survivor status           |
| StatusNoted         | any open stage                     | unchanged                          |
| OperationClosed     | any open stage                     | closed                             |
| TestimonyRecorded,  | any stage, also closed             | unchanged                          |
| EvidenceLogged,     |                                    |                                    |
| ProsecutionUpdated, |                                    |                                    |
| EventCorrected,     |                                    |                                    |
| PersonalDataErased  |                                    |                                    |

Survivors move one by one: rescued -> in_transit (CustodyTransferred, repeatable) -> returned
(SurvivorReturned) -> reunited (FamilyReunited) -> aftercare (SupportProvided). A survivor found
in Vietnam may go rescued -> returned; one whose family is unsafe returned -> aftercare. The
operation's stage is the furthest status any survivor has reached, so the board shows how far
the work got; it never moves back while survivors move on.
"""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.domain.actors import Role
from coordinator.domain.state import Stage, SurvivorStatus
from events.catalogue import EVENT_TYPES, LEGAL_EVENT_TYPES, EventType

HOME_COUNTRY = "VN"
"""Where survivors return to; a survivor found elsewhere crosses a border in someone's custody."""

ANY_STAGE = frozenset(Stage)
OPEN_STAGES = ANY_STAGE - {Stage.CLOSED}
BEFORE_RESCUE = frozenset({Stage.REPORTED, Stage.INVESTIGATING, Stage.PLANNING, Stage.APPROVED})
AFTER_RESCUE = OPEN_STAGES - BEFORE_RESCUE


@dataclass(frozen=True, slots=True)
class StageRule:
    """The stages an event is allowed in, said as the end of a sentence for the refusal."""

    allowed: frozenset[Stage]
    when: str


STAGE_RULES: dict[str, StageRule] = {
    EventType.CASE_REPORTED: StageRule(frozenset(), "as the first event of an operation"),
    EventType.INVESTIGATION_OPENED: StageRule(
        frozenset({Stage.REPORTED}), "while the case is reported"
    ),
    EventType.LEAD_RECORDED: StageRule(BEFORE_RESCUE, "before the rescue"),
    EventType.LOCATION_CONFIRMED: StageRule(BEFORE_RESCUE, "before the rescue"),
    EventType.PARTNER_ENGAGED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.RESCUE_PLANNED: StageRule(
        frozenset({Stage.INVESTIGATING, Stage.PLANNING, Stage.APPROVED}),
        "once an investigation is open and before the rescue",
    ),
    EventType.RESCUE_APPROVED: StageRule(frozenset({Stage.PLANNING}), "once a rescue is planned"),
    EventType.RESCUE_EXECUTED: StageRule(
        frozenset({Stage.APPROVED}), "once the rescue is approved"
    ),
    EventType.RESCUE_ABORTED: StageRule(frozenset({Stage.APPROVED}), "once the rescue is approved"),
    EventType.CUSTODY_TRANSFERRED: StageRule(AFTER_RESCUE, "after the rescue"),
    EventType.SURVIVOR_RETURNED: StageRule(AFTER_RESCUE, "after the rescue"),
    EventType.FAMILY_REUNITED: StageRule(AFTER_RESCUE, "after the rescue"),
    EventType.SUPPORT_PROVIDED: StageRule(AFTER_RESCUE, "after the rescue"),
    EventType.TESTIMONY_RECORDED: StageRule(ANY_STAGE, "at any time"),
    EventType.EVIDENCE_LOGGED: StageRule(ANY_STAGE, "at any time"),
    EventType.PROSECUTION_UPDATED: StageRule(ANY_STAGE, "at any time"),
    EventType.STATUS_NOTED: StageRule(OPEN_STAGES, "while the operation is open"),
    EventType.EVENT_CORRECTED: StageRule(ANY_STAGE, "at any time"),
    EventType.PERSONAL_DATA_ERASED: StageRule(ANY_STAGE, "at any time"),
    EventType.OPERATION_CLOSED: StageRule(OPEN_STAGES, "while the operation is open"),
}

AFTER_CLOSING: frozenset[str] = frozenset(
    event_type for event_type, rule in STAGE_RULES.items() if Stage.CLOSED in rule.allowed
)
"""What may still be recorded on a closed operation: legal events, corrections and erasures."""


@dataclass(frozen=True, slots=True)
class SurvivorMove:
    """An event that moves the survivors it names: from which statuses, to which one."""

    allowed: frozenset[SurvivorStatus]
    to: SurvivorStatus
    needs: str


SURVIVOR_MOVES: dict[str, SurvivorMove] = {
    EventType.CUSTODY_TRANSFERRED: SurvivorMove(
        frozenset({SurvivorStatus.RESCUED, SurvivorStatus.IN_TRANSIT}),
        SurvivorStatus.IN_TRANSIT,
        "be rescued or in transit",
    ),
    EventType.SURVIVOR_RETURNED: SurvivorMove(
        frozenset({SurvivorStatus.RESCUED, SurvivorStatus.IN_TRANSIT}),
        SurvivorStatus.RETURNED,
        "be rescued or in transit",
    ),
    EventType.FAMILY_REUNITED: SurvivorMove(
        frozenset({SurvivorStatus.RETURNED}),
        SurvivorStatus.REUNITED,
        "have returned first, and not yet be reunited or in aftercare",
    ),
    EventType.SUPPORT_PROVIDED: SurvivorMove(
        frozenset({SurvivorStatus.RETURNED, SurvivorStatus.REUNITED, SurvivorStatus.AFTERCARE}),
        SurvivorStatus.AFTERCARE,
        "have returned first",
    ),
}

_EVERY_TYPE = frozenset(EVENT_TYPES)

RECORDABLE_BY: dict[Role, frozenset[str]] = {
    Role.FIELD: _EVERY_TYPE - {EventType.RESCUE_APPROVED, EventType.PERSONAL_DATA_ERASED},
    Role.ADMIN: _EVERY_TYPE - {EventType.RESCUE_APPROVED},
    Role.LEGAL: LEGAL_EVENT_TYPES | {EventType.EVENT_CORRECTED},
    Role.LEADERSHIP: frozenset({EventType.RESCUE_APPROVED}),
}
"""Which event types each role may record at all. Legal may correct legal events only;
`CaseReported` comes only through `OpenOperation` and `PersonalDataErased` only through
`EraseSurvivorData`."""

OPENERS = frozenset({Role.FIELD, Role.ADMIN})
"""The roles that may open an operation."""

ERASERS = frozenset({Role.ADMIN})
"""The roles that may erase a survivor's personal data."""
