"""A prosecution: a case against traffickers, spanning the operations that freed their victims.

Opened by `ProsecutionOpened` with the operations and survivors it concerns; then defendants are
charged (each under articles of the penal code), hearings held, testimony recorded from any
witness, evidence logged, verdicts reached and appealed, until it is closed. The legal team and
admins record it; leadership reads it without personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from uuid import UUID

from coordinator.domain.actors import Actor, Role
from coordinator.domain.copying import replace
from coordinator.domain.corrections import (
    refuse_invalid_correction,
    replay_judged,
    with_corrections,
)
from coordinator.domain.state import DomainEvent, ProposedEvent
from coordinator.errors import Forbidden, NotFound, RuleBroken
from events.catalogue import (
    KIND_EVENT_TYPES,
    AppealFiled,
    DefendantCharged,
    DefendantRole,
    EventCorrected,
    EventType,
    EvidenceLogged,
    HearingHeld,
    ProsecutionClosed,
    ProsecutionOpened,
    StreamKind,
    TestimonyRecorded,
    Verdict,
    VerdictReached,
)

PROSECUTION_TYPES = KIND_EVENT_TYPES[StreamKind.PROSECUTION]
PROSECUTORS = frozenset({Role.LEGAL, Role.ADMIN})
"""The roles that open and record prosecutions."""


@dataclass(frozen=True, slots=True)
class Defendant:
    """A charged defendant: role, the articles charged, the standing verdict and appeals."""

    defendant_id: UUID
    role: DefendantRole
    articles: tuple[str, ...]
    verdict: Verdict | None = None
    sentence_months: int | None = None
    appealed: bool = False


@dataclass(frozen=True, slots=True)
class Prosecution:
    """A prosecution as of its latest event."""

    prosecution_id: UUID
    version: int
    opened_at: datetime
    updated_at: datetime
    case_number: str
    court: str
    province: str | None
    operation_ids: tuple[UUID, ...]
    survivor_ids: tuple[UUID, ...]
    defendants: MappingProxyType[UUID, Defendant]
    hearings: int = 0
    testimonies: int = 0
    evidence_items: int = 0
    closed: bool = False
    close_reason: str | None = None
    event_types: MappingProxyType[UUID, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def convicted(self) -> int:
        """How many defendants stand convicted."""
        return sum(d.verdict is Verdict.CONVICTED for d in self.defendants.values())


class NotAProsecutionStream(Exception):
    """A stream that does not open with `ProsecutionOpened`."""


def evolve_prosecution(state: Prosecution | None, event: DomainEvent) -> Prosecution:
    """The prosecution after `event`."""
    data = event.data
    if state is None:
        if not isinstance(data, ProsecutionOpened):
            raise NotAProsecutionStream(
                f"a prosecution opens with ProsecutionOpened, not {event.type}"
            )
        return Prosecution(
            prosecution_id=event.stream_id,
            version=event.version,
            opened_at=event.occurred_at,
            updated_at=event.occurred_at,
            case_number=data.case_number,
            court=data.court,
            province=data.province,
            operation_ids=data.operation_ids,
            survivor_ids=data.survivor_ids,
            defendants=MappingProxyType({}),
            event_types=MappingProxyType({event.event_id: event.type}),
        )
    changes: dict[str, object] = {}
    match data:
        case DefendantCharged():
            defendant = Defendant(
                data.defendant_id, data.role, tuple(charge.article for charge in data.charges)
            )
            changes["defendants"] = MappingProxyType(
                {**state.defendants, data.defendant_id: defendant}
            )
        case VerdictReached(defendant_id=defendant_id) if defendant_id in state.defendants:
            judged = replace(
                state.defendants[defendant_id],
                verdict=data.verdict,
                sentence_months=data.sentence_months,
                appealed=False,
            )
            changes["defendants"] = MappingProxyType({**state.defendants, defendant_id: judged})
        case AppealFiled(defendant_id=defendant_id) if defendant_id in state.defendants:
            appealed = replace(state.defendants[defendant_id], appealed=True)
            changes["defendants"] = MappingProxyType({**state.defendants, defendant_id: appealed})
        case HearingHeld():
            changes["hearings"] = state.hearings + 1
        case TestimonyRecorded():
            changes["testimonies"] = state.testimonies + 1
        case EvidenceLogged():
            changes["evidence_items"] = state.evidence_items + 1
        case ProsecutionClosed(reason=reason):
            changes.update(closed=True, close_reason=reason)
        case ProsecutionOpened():
            raise NotAProsecutionStream(f"prosecution {state.prosecution_id} is open already")
        case _:
            pass
    return replace(
        state,
        **changes,
        version=event.version,
        updated_at=max(state.updated_at, event.occurred_at),
        event_types=MappingProxyType({**state.event_types, event.event_id: event.type}),
    )


def fold_prosecution(events: Sequence[DomainEvent]) -> Prosecution | None:
    """A prosecution from its stream, with corrections in effect."""
    state: Prosecution | None = None
    for event in with_corrections(events):
        state = evolve_prosecution(state, event)
    return state


def open_prosecution(
    event: ProposedEvent,
    actor: Actor,
    *,
    known_operations: frozenset[UUID],
    registered_survivors: frozenset[UUID],
) -> list[ProposedEvent]:
    """The `ProsecutionOpened` that opens a prosecution, if its links name real streams."""
    if actor.role not in PROSECUTORS:
        raise Forbidden(f"Role {actor.role} may not open a prosecution; legal and admin may.")
    data = event.data
    if not isinstance(data, ProsecutionOpened):
        raise RuleBroken(f"A prosecution opens with ProsecutionOpened, not {event.type}.")
    for operation_id in data.operation_ids:
        if operation_id not in known_operations:
            raise RuleBroken(
                f"ProsecutionOpened names operation {operation_id}, which does not exist.",
            )
    for survivor_id in data.survivor_ids:
        if survivor_id not in registered_survivors:
            raise RuleBroken(
                f"ProsecutionOpened names survivor {survivor_id}, whom no operation registered.",
            )
    if len(set(data.operation_ids)) != len(data.operation_ids) or len(
        set(data.survivor_ids)
    ) != len(data.survivor_ids):
        raise RuleBroken("ProsecutionOpened names each operation and survivor once.")
    return [event]


@dataclass(frozen=True, slots=True)
class JudgedProsecution:
    """A batch a prosecution accepts, and the state it leaves."""

    events: list[ProposedEvent]
    state: Prosecution


def judge_prosecution(
    state: Prosecution | None,
    prosecution_id: UUID,
    events: Sequence[ProposedEvent],
    actor: Actor,
    *,
    history: Sequence[DomainEvent] = (),
) -> JudgedProsecution:
    """Judge a batch for a prosecution: roles (403), then its rules (422)."""
    if state is None:
        raise NotFound(f"Prosecution {prosecution_id} does not exist.")
    if not events:
        raise RuleBroken("A batch records at least one event.")
    if len({event.event_id for event in events}) != len(events):
        raise RuleBroken("A batch names each event id once.")
    recorded = list(history)
    for event in events:
        if event.type not in PROSECUTION_TYPES:
            raise RuleBroken(f"{event.type} is not recorded on a prosecution.")
        if actor.role not in PROSECUTORS:
            raise Forbidden(f"Role {actor.role} may not record {event.type}; legal and admin may.")
        domain = event.recorded(prosecution_id, actor, state.version + 1)
        if isinstance(event.data, EventCorrected):
            state = _prosecution_corrected(state, domain, recorded)
        else:
            _check_prosecution_event(state, domain)
            state = evolve_prosecution(state, domain)
        recorded.append(domain)
    return JudgedProsecution(list(events), state)


def _check_prosecution_event(state: Prosecution, event: DomainEvent) -> None:
    data = event.data
    if isinstance(data, ProsecutionOpened):
        raise RuleBroken("ProsecutionOpened is allowed only as the first event of a prosecution.")
    if state.closed and not isinstance(data, EventCorrected):
        raise RuleBroken(f"{event.type} cannot be recorded after the prosecution closed.")
    match data:
        case DefendantCharged(defendant_id=defendant_id) if defendant_id in state.defendants:
            raise RuleBroken(
                f"DefendantCharged names defendant {defendant_id}, charged already; correct the "
                f"charge with EventCorrected.",
            )
        case VerdictReached(defendant_id=defendant_id) | AppealFiled(defendant_id=defendant_id) if (
            defendant_id not in state.defendants
        ):
            raise RuleBroken(
                f"{event.type} names defendant {defendant_id}, who is not charged in this "
                f"prosecution.",
            )
        case VerdictReached(defendant_id=defendant_id) if (
            state.defendants[defendant_id].verdict is not None
            and not state.defendants[defendant_id].appealed
        ):
            raise RuleBroken(
                f"VerdictReached needs defendant {defendant_id} to have no standing verdict; a "
                f"new verdict follows an appeal.",
            )
        case AppealFiled(defendant_id=defendant_id) if (
            state.defendants[defendant_id].verdict is None
        ):
            raise RuleBroken(
                f"AppealFiled needs a verdict on defendant {defendant_id} to appeal.",
            )
        case AppealFiled(defendant_id=defendant_id) if state.defendants[defendant_id].appealed:
            raise RuleBroken(f"AppealFiled: the verdict on {defendant_id} is appealed already.")
        case TestimonyRecorded(survivor_id=survivor_id) if (
            survivor_id is not None and survivor_id not in state.survivor_ids
        ):
            raise RuleBroken(
                f"TestimonyRecorded names survivor {survivor_id}, who is not a survivor of "
                f"this prosecution.",
            )
        case _:
            pass


def _prosecution_corrected(
    state: Prosecution, correction: DomainEvent, history: Sequence[DomainEvent]
) -> Prosecution:
    data = correction.data
    assert isinstance(data, EventCorrected)  # noqa: S101  the caller matched it
    target_type = state.event_types.get(data.corrects_event_id)
    if target_type is None:
        raise RuleBroken(
            f"EventCorrected must name an event of this prosecution; {data.corrects_event_id} "
            f"is not one.",
        )
    if target_type == EventType.PROSECUTION_OPENED and any(
        key in data.corrected_data for key in ("operation_ids", "survivor_ids")
    ):
        raise RuleBroken(
            f"EventCorrected cannot correct {target_type} that way; ids and links stay as "
            f"recorded.",
        )
    target = next(event for event in history if event.event_id == data.corrects_event_id)
    refuse_invalid_correction(target, data)
    replayed = replay_judged(
        [*history, correction],
        None,
        fold=evolve_prosecution,
        check=_check_replayed,
        judges=lambda replayed, _event: replayed is not None,
    )
    assert replayed is not None  # noqa: S101  the history holds at least the opening
    return replayed


def _check_replayed(state: Prosecution | None, event: DomainEvent) -> None:
    if state is not None:
        _check_prosecution_event(state, event)
