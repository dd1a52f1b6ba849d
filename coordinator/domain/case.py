"""A survivor's case: one person across every operation that ever found her.

Her case outlives the operations: services, consent, declined help, lost contact, re-trafficking
and independence are recorded on it (its stream id is her `survivor_id`), and her status is
folded from her case and from every operation event that names her, in the order of the log:

1. `independent` or `re_trafficked`, the later of the two (`re_trafficked` until the operation
   it names registers her again);
2. `lost_contact`, until `ContactRestored`;
3. `declined_support`, until a later service or restored contact;
4. else where her journey is since her latest registration: `abroad`, `in_transit`, then after
   her return `in_aftercare` (a service since), `reunited`, `in_shelter` or `home`.

A new registration (she was found again) also ends lost contact and declined support.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import cast
from uuid import UUID

from coordinator.domain.copying import replace
from coordinator.domain.corrections import (
    with_corrections,
)
from coordinator.domain.journey import journey_after, registered
from coordinator.domain.standing import Standing
from coordinator.domain.state import DomainEvent, SurvivorRecord, SurvivorStatus
from events.catalogue import (
    ConsentPurpose,
    ConsentRecorded,
    ConsentWithdrawn,
    ContactLost,
    ContactRestored,
    CustodyTransferred,
    EventData,
    FamilyReunited,
    GivenBy,
    PersonalDataErased,
    RescueExecuted,
    Service,
    SupportDeclined,
    SupportProvided,
    SurvivorIndependent,
    SurvivorRecovered,
    SurvivorRetrafficked,
    SurvivorReturned,
)


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent given for a purpose and recipient, and when (if) it was withdrawn."""

    purpose: ConsentPurpose
    recipient: str
    given_by: GivenBy
    given_at: datetime
    withdrawn_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the consent stands."""
        return self.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class ServiceGiven:
    """A service she received: on her case, or on an operation (version 1 clients)."""

    service: Service
    at: datetime
    operation_id: UUID | None


@dataclass(frozen=True, slots=True)
class SurvivorCase:
    """A survivor's case as of the latest event of the log that concerns her."""

    survivor_id: UUID
    version: int = 0
    operations: tuple[UUID, ...] = ()
    journey: SurvivorRecord | None = None
    journey_operation: UUID | None = None
    ended: SurvivorStatus | None = None
    open_retraffickings: tuple[tuple[UUID, UUID], ...] = ()
    contact_lost: bool = False
    declined: bool = False
    erased: bool = False
    services: tuple[ServiceGiven, ...] = ()
    consents: tuple[Consent, ...] = ()
    case_events: frozenset[UUID] = frozenset()
    event_types: MappingProxyType[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    updated_at: datetime | None = None

    @property
    def registered(self) -> bool:
        """Whether an operation has registered her."""
        return bool(self.operations)

    @property
    def case_status(self) -> SurvivorStatus | None:
        """The status her case gives her, above her journey's, if any."""
        if self.ended is not None:
            return self.ended
        if self.contact_lost:
            return SurvivorStatus.LOST_CONTACT
        if self.declined:
            return SurvivorStatus.DECLINED_SUPPORT
        return None

    @property
    def status(self) -> SurvivorStatus | None:
        """Her status (None before any operation registered her)."""
        override = self.case_status
        if override is not None:
            return override
        return None if self.journey is None else self.journey.status

    def consent_for(self, purpose: ConsentPurpose) -> bool:
        """Whether a consent for `purpose` stands (to any recipient)."""
        return any(c.active and c.purpose is purpose for c in self.consents)

    def standing(self) -> Standing:
        """What an operation's rules need to know of her."""
        journey = self.journey
        return Standing(
            registered_by=self.operations,
            open_retraffickings=self.open_retraffickings,
            case_status=self.case_status,
            erased=self.erased,
            age_at_registration=None if journey is None else journey.age_at_rescue,
            registered_at=None if journey is None else journey.registered_at,
        )


def evolve_case(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    """Her case after `event`: an event of her case, or an operation event that names her."""
    own = event.stream_id == state.survivor_id
    changes = (_CASE_CHANGES if own else _OPERATION_CHANGES).get(type(event.data))
    changed = state if changes is None else changes(state, event)
    if not own:
        # An operation's event that does not concern her leaves her case as it was.
        if changed is state:
            return state
        return replace(changed, updated_at=_later(state.updated_at, event.occurred_at))
    return replace(
        changed,
        version=event.version,
        updated_at=_later(state.updated_at, event.occurred_at),
        case_events=state.case_events | {event.event_id},
        event_types=MappingProxyType({**state.event_types, event.event_id: event.type}),
    )


def fold_case(survivor_id: UUID, events: Sequence[DomainEvent]) -> SurvivorCase:
    """Her case from the events that concern her, in log order, with corrections in effect."""
    state = SurvivorCase(survivor_id)
    for event in with_corrections(events):
        state = evolve_case(state, event)
    return state


def _later(first: datetime | None, second: datetime) -> datetime:
    return second if first is None or second > first else first


Change = Callable[[SurvivorCase, DomainEvent], SurvivorCase]


def _registered(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    data = cast(RescueExecuted | SurvivorRecovered, event.data)
    survivor = next((s for s in data.survivors if s.survivor_id == state.survivor_id), None)
    if survivor is None or event.stream_id in state.operations:
        return state
    how = data.how if isinstance(data, SurvivorRecovered) else None
    opened = tuple(r for r in state.open_retraffickings if r[1] != event.stream_id)
    # Found again by the operation her re-trafficking named: her journey starts over.
    ended = None if len(opened) < len(state.open_retraffickings) else state.ended
    return replace(
        state,
        operations=(*state.operations, event.stream_id),
        journey=registered(survivor, event.occurred_at, how),
        journey_operation=event.stream_id,
        open_retraffickings=opened,
        ended=ended,
        contact_lost=False,
        declined=False,
    )


def _names_her(state: SurvivorCase, data: EventData) -> bool:
    ids = getattr(data, "survivor_ids", None) or (getattr(data, "survivor_id", None),)
    return state.survivor_id in ids


def _journey_moved(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    if (
        state.journey is None
        or event.stream_id != state.journey_operation
        or not _names_her(state, event.data)
    ):
        return state
    return replace(state, journey=journey_after(state.journey, event.data))


def _supported(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    data = cast(SupportProvided, event.data)
    if state.survivor_id not in (event.stream_id, data.survivor_id):
        return state
    own = event.stream_id == state.survivor_id
    moved = _journey_on_case(state, data) if own else _journey_moved(state, event)
    given = ServiceGiven(data.service, event.occurred_at, None if own else event.stream_id)
    return replace(moved, services=(*state.services, given), declined=False)


def _journey_on_case(state: SurvivorCase, data: EventData) -> SurvivorCase:
    if state.journey is None:
        return state
    return replace(state, journey=journey_after(state.journey, data))


def _erased(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    data = cast(PersonalDataErased, event.data)
    if state.survivor_id not in (event.stream_id, data.survivor_id):
        return state
    return replace(state, erased=True)


def _consent_recorded(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    data = cast(ConsentRecorded, event.data)
    consent = Consent(data.purpose, data.recipient, data.given_by, event.occurred_at)
    return replace(state, consents=(*state.consents, consent))


def _consent_withdrawn(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    data = cast(ConsentWithdrawn, event.data)
    consents = tuple(
        replace(c, withdrawn_at=event.occurred_at)
        if c.active and c.purpose is data.purpose and c.recipient == data.recipient
        else c
        for c in state.consents
    )
    return replace(state, consents=consents)


def _retrafficked(state: SurvivorCase, event: DomainEvent) -> SurvivorCase:
    data = cast(SurvivorRetrafficked, event.data)
    return replace(
        state,
        ended=SurvivorStatus.RE_TRAFFICKED,
        open_retraffickings=(*state.open_retraffickings, (event.event_id, data.operation_id)),
    )


_OPERATION_CHANGES: dict[type[EventData], Change] = {
    RescueExecuted: _registered,
    SurvivorRecovered: _registered,
    CustodyTransferred: _journey_moved,
    SurvivorReturned: _journey_moved,
    FamilyReunited: _journey_moved,
    SupportProvided: _supported,
    PersonalDataErased: _erased,
}
_CASE_CHANGES: dict[type[EventData], Change] = {
    SupportProvided: _supported,
    PersonalDataErased: _erased,
    ConsentRecorded: _consent_recorded,
    ConsentWithdrawn: _consent_withdrawn,
    SupportDeclined: lambda state, _event: replace(state, declined=True),
    ContactLost: lambda state, _event: replace(state, contact_lost=True),
    ContactRestored: lambda state, _event: replace(state, contact_lost=False, declined=False),
    SurvivorRetrafficked: _retrafficked,
    SurvivorIndependent: lambda state, _event: replace(state, ended=SurvivorStatus.INDEPENDENT),
}
