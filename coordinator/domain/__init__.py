"""The rescue operation's rules as pure functions: `evolve` folds events, `decide` judges commands.

No I/O here: a handler parses, authorises, loads the state by folding stored events with
`evolve`, calls `decide`, appends what it returns and answers.
"""

from __future__ import annotations

from coordinator.domain.decide import Judged, decide, judge
from coordinator.domain.evolve import NotAnOperationStream, evolve
from coordinator.domain.rules import (
    AFTER_CLOSING,
    HOME_COUNTRY,
    RECORDABLE_BY,
    STAGE_RULES,
    SURVIVOR_MOVES,
)
from coordinator.domain.state import (
    Command,
    DomainEvent,
    EraseSurvivorData,
    OpenOperation,
    Operation,
    Partner,
    ProposedEvent,
    RecordEvents,
    Stage,
    SurvivorRecord,
    SurvivorStatus,
)

__all__ = [
    "AFTER_CLOSING",
    "HOME_COUNTRY",
    "RECORDABLE_BY",
    "STAGE_RULES",
    "SURVIVOR_MOVES",
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
    "Stage",
    "SurvivorRecord",
    "SurvivorStatus",
    "decide",
    "evolve",
    "judge",
]
