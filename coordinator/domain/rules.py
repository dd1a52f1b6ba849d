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
from events.catalogue import EVENT_TYPES, LEGAL_EVENT_TYPES

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
    "CaseReported": StageRule(frozenset(), "as the first event of an operation"),
    "InvestigationOpened": StageRule(frozenset({Stage.REPORTED}), "while the case is reported"),
    "LeadRecorded": StageRule(BEFORE_RESCUE, "before the rescue"),
    "LocationConfirmed": StageRule(BEFORE_RESCUE, "before the rescue"),
    "PartnerEngaged": StageRule(OPEN_STAGES, "while the operation is open"),
    "RescuePlanned": StageRule(
        frozenset({Stage.INVESTIGATING, Stage.PLANNING, Stage.APPROVED}),
        "once an investigation is open and before the rescue",
    ),
    "RescueApproved": StageRule(frozenset({Stage.PLANNING}), "once a rescue is planned"),
    "RescueExecuted": StageRule(frozenset({Stage.APPROVED}), "once the rescue is approved"),
    "RescueAborted": StageRule(frozenset({Stage.APPROVED}), "once the rescue is approved"),
    "CustodyTransferred": StageRule(AFTER_RESCUE, "after the rescue"),
    "SurvivorReturned": StageRule(AFTER_RESCUE, "after the rescue"),
    "FamilyReunited": StageRule(AFTER_RESCUE, "after the rescue"),
    "SupportProvided": StageRule(AFTER_RESCUE, "after the rescue"),
    "TestimonyRecorded": StageRule(ANY_STAGE, "at any time"),
    "EvidenceLogged": StageRule(ANY_STAGE, "at any time"),
    "ProsecutionUpdated": StageRule(ANY_STAGE, "at any time"),
    "StatusNoted": StageRule(OPEN_STAGES, "while the operation is open"),
    "EventCorrected": StageRule(ANY_STAGE, "at any time"),
    "PersonalDataErased": StageRule(ANY_STAGE, "at any time"),
    "OperationClosed": StageRule(OPEN_STAGES, "while the operation is open"),
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
    "CustodyTransferred": SurvivorMove(
        frozenset({SurvivorStatus.RESCUED, SurvivorStatus.IN_TRANSIT}),
        SurvivorStatus.IN_TRANSIT,
        "be rescued or in transit",
    ),
    "SurvivorReturned": SurvivorMove(
        frozenset({SurvivorStatus.RESCUED, SurvivorStatus.IN_TRANSIT}),
        SurvivorStatus.RETURNED,
        "be rescued or in transit",
    ),
    "FamilyReunited": SurvivorMove(
        frozenset({SurvivorStatus.RETURNED}),
        SurvivorStatus.REUNITED,
        "have returned first, and not yet be reunited or in aftercare",
    ),
    "SupportProvided": SurvivorMove(
        frozenset({SurvivorStatus.RETURNED, SurvivorStatus.REUNITED, SurvivorStatus.AFTERCARE}),
        SurvivorStatus.AFTERCARE,
        "have returned first",
    ),
}

_EVERY_TYPE = frozenset(EVENT_TYPES)

RECORDABLE_BY: dict[Role, frozenset[str]] = {
    Role.FIELD: _EVERY_TYPE - {"RescueApproved", "PersonalDataErased"},
    Role.ADMIN: _EVERY_TYPE - {"RescueApproved"},
    Role.LEGAL: LEGAL_EVENT_TYPES | {"EventCorrected"},
    Role.LEADERSHIP: frozenset({"RescueApproved"}),
}
"""Which event types each role may record at all. Legal may correct legal events only;
`CaseReported` comes only through `OpenOperation` and `PersonalDataErased` only through
`EraseSurvivorData`."""

OPENERS = frozenset({Role.FIELD, Role.ADMIN})
"""The roles that may open an operation."""

ERASERS = frozenset({Role.ADMIN})
"""The roles that may erase a survivor's personal data."""
