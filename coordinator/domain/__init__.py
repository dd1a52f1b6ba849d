"""The rules of the three kinds of stream as pure functions: folds apply events, judges decide.

An operation (a rescue mission and its attempts), a survivor's case (one person across every
operation that found her) and a prosecution (a case against traffickers). No I/O here: a handler
parses, authorises, loads the state by folding stored events, calls the judge, appends what it
returns and answers.
"""

from __future__ import annotations

from coordinator.domain.commands import Command, EraseSurvivorData, OpenOperation, RecordEvents
from coordinator.domain.decide import Judged, decide, judge
from coordinator.domain.evolve import NotAnOperationStream, evolve, fold_operation
from coordinator.domain.rules import (
    AFTER_CLOSING,
    RECORDABLE_BY,
    STAGE_RULES,
)
from coordinator.domain.standing import Registration, Standing
from coordinator.domain.state import (
    HOME_COUNTRY,
    DomainEvent,
    Operation,
    Partner,
    ProposedEvent,
    Stage,
    SurvivorRecord,
    SurvivorStatus,
)

__all__ = [
    "AFTER_CLOSING",
    "HOME_COUNTRY",
    "RECORDABLE_BY",
    "STAGE_RULES",
    "Command",
    "DomainEvent",
    "EraseSurvivorData",
    "Judged",
    "NotAnOperationStream",
    "OpenOperation",
    "Operation",
    "Partner",
    "ProposedEvent",
    "RecordEvents",
    "Registration",
    "Stage",
    "Standing",
    "SurvivorRecord",
    "SurvivorStatus",
    "decide",
    "evolve",
    "fold_operation",
    "judge",
]
