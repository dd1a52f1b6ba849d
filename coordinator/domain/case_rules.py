"""The rules of a survivor's case: who may record what on it (403), what her case allows
(422), corrections judged against what follows them, and the erasure of her personal data.

Her case is folded in coordinator/domain/case.py; these judge a batch on the folded case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from coordinator.domain.actors import Actor, Role
from coordinator.domain.case import SurvivorCase, evolve_case
from coordinator.domain.commands import EraseSurvivorData
from coordinator.domain.corrections import refuse_invalid_correction, replay_judged
from coordinator.domain.state import DomainEvent, ProposedEvent, SurvivorStatus
from coordinator.errors import Forbidden, InvalidInput, NotFound, RuleBroken
from events.catalogue import (
    KIND_EVENT_TYPES,
    ConsentRecorded,
    ConsentWithdrawn,
    ContactLost,
    ContactRestored,
    EventCorrected,
    EventType,
    GivenBy,
    PersonalDataErased,
    StreamKind,
    SupportProvided,
    SurvivorIndependent,
    SurvivorRetrafficked,
)

ADULT_AGE = 18

CASE_TYPES = KIND_EVENT_TYPES[StreamKind.SURVIVOR_CASE]

CASE_RECORDABLE_BY: dict[Role, frozenset[str]] = {
    Role.FIELD: CASE_TYPES - {EventType.PERSONAL_DATA_ERASED},
    Role.ADMIN: CASE_TYPES - {EventType.PERSONAL_DATA_ERASED},
    Role.LEGAL: frozenset(
        {EventType.CONSENT_RECORDED, EventType.CONSENT_WITHDRAWN, EventType.EVENT_CORRECTED}
    ),
    Role.LEADERSHIP: frozenset(),
}
"""Who may record what on a survivor's case: the field team and admins her life after the rescue,
the legal team her consents (and corrections of them). `PersonalDataErased` comes only through
`EraseSurvivorData`."""

_CONSENT_TYPES = frozenset({EventType.CONSENT_RECORDED, EventType.CONSENT_WITHDRAWN})


@dataclass(frozen=True, slots=True)
class RecordCaseEvents:
    """Record a batch of events on a survivor's case, atomically and in order."""

    survivor_id: UUID
    events: Sequence[ProposedEvent]


@dataclass(frozen=True, slots=True)
class JudgedCase:
    """A batch her case accepts, and the case it leaves."""

    events: list[ProposedEvent]
    state: SurvivorCase


def judge_case(
    state: SurvivorCase,
    command: RecordCaseEvents,
    actor: Actor,
    *,
    history: Sequence[DomainEvent] = (),
) -> JudgedCase:
    """Judge a batch for her case: roles (403), then the case's rules (422).

    `history` is every event that concerns her, in log order (her case's and the operations'
    that name her); it is needed when the batch holds a correction, to judge again what follows.
    """
    if not state.registered:
        raise NotFound(f"Survivor {command.survivor_id} is not registered by any operation.")
    if not command.events:
        raise RuleBroken("A batch records at least one event.")
    if len({event.event_id for event in command.events}) != len(command.events):
        raise RuleBroken("A batch names each event id once.")
    recorded = list(history)
    for event in command.events:
        _case_role(state, event, actor)
        if event.type == EventType.PERSONAL_DATA_ERASED:
            raise RuleBroken(
                "PersonalDataErased is recorded only by erasing a survivor's personal data.",
            )
        domain = event.recorded(state.survivor_id, actor, state.version + 1)
        if isinstance(event.data, EventCorrected):
            state = _case_corrected(state, domain, recorded)
        else:
            _check_case_event(state, domain)
            state = evolve_case(state, domain)
        recorded.append(domain)
    return JudgedCase(list(command.events), state)


def _case_role(state: SurvivorCase, event: ProposedEvent, actor: Actor) -> None:
    if event.type not in CASE_TYPES:
        raise RuleBroken(f"{event.type} is not recorded on a survivor's case.")
    if event.type not in CASE_RECORDABLE_BY[actor.role]:
        raise Forbidden(f"Role {actor.role} may not record {event.type} on a survivor's case.")
    if actor.role is Role.LEGAL and isinstance(event.data, EventCorrected):
        corrected = state.event_types.get(event.data.corrects_event_id)
        if corrected not in _CONSENT_TYPES:
            raise Forbidden("Role legal may correct only consents on a survivor's case.")


def _check_case_event(state: SurvivorCase, event: DomainEvent) -> None:
    match event.data:
        case SupportProvided(survivor_id=named) if named not in (None, state.survivor_id):
            raise RuleBroken(
                f"SupportProvided on the case of survivor {state.survivor_id} names survivor "
                f"{named}; record it on her own case.",
            )
        case ConsentRecorded(given_by=GivenBy.SURVIVOR) if _minor(state, event.occurred_at):
            raise RuleBroken(
                "ConsentRecorded for a minor needs given_by guardian; she was under "
                f"{ADULT_AGE} when the consent was given.",
            )
        case ConsentWithdrawn(purpose=purpose, recipient=recipient) if not any(
            c.active and c.purpose is purpose and c.recipient == recipient for c in state.consents
        ):
            raise RuleBroken(
                f"ConsentWithdrawn needs a standing consent for {purpose} to {recipient!r}; "
                f"there is none.",
            )
        case ContactLost() if state.contact_lost:
            raise RuleBroken("ContactLost needs contact; it was lost already.")
        case ContactRestored() if not state.contact_lost:
            raise RuleBroken("ContactRestored needs contact to have been lost.")
        case SurvivorRetrafficked(operation_id=operation_id) if operation_id in state.operations:
            raise RuleBroken(
                f"SurvivorRetrafficked names operation {operation_id}, which registered her "
                f"already; name the operation that will look for her now.",
            )
        case SurvivorIndependent() if state.ended is SurvivorStatus.INDEPENDENT:
            raise RuleBroken("SurvivorIndependent is recorded once; she is independent already.")
        case _:
            pass


def _minor(state: SurvivorCase, at: datetime) -> bool:
    journey = state.journey
    if journey is None or journey.age_at_rescue is None or journey.registered_at is None:
        return False
    years = max((at - journey.registered_at).days, 0) // 365
    return journey.age_at_rescue + years < ADULT_AGE


def _case_corrected(
    state: SurvivorCase, correction: DomainEvent, history: Sequence[DomainEvent]
) -> SurvivorCase:
    data = correction.data
    assert isinstance(data, EventCorrected)  # noqa: S101  the caller matched it
    if data.corrects_event_id not in state.event_types:
        raise RuleBroken(
            f"EventCorrected must name an event of this case; {data.corrects_event_id} is not "
            f"one (correct an operation's events on the operation).",
        )
    target = next(event for event in history if event.event_id == data.corrects_event_id)
    refuse_invalid_correction(target, data)
    return replay_judged(
        [*history, correction],
        SurvivorCase(state.survivor_id),
        fold=evolve_case,
        check=_check_case_event,
        judges=lambda _state, event: event.stream_id == state.survivor_id,
    )


def erase(state: SurvivorCase, command: EraseSurvivorData, actor: Actor) -> list[ProposedEvent]:
    """The `PersonalDataErased` her case records (none if it was erased already)."""
    if actor.role is not Role.ADMIN:
        raise Forbidden(f"Role {actor.role} may not erase personal data; admin may.")
    if not state.registered:
        raise NotFound(f"No operation registered survivor {command.survivor_id}.")
    if state.erased:
        return []  # erased already: answering again records nothing
    try:
        data = PersonalDataErased(survivor_id=command.survivor_id, reason=command.reason)
    except ValueError as error:
        raise InvalidInput(f"The erasure's reason is not valid: {error}") from error
    return [
        ProposedEvent(command.event_id, EventType.PERSONAL_DATA_ERASED, data, command.occurred_at)
    ]
