"""The folds projections need, with the rules of `coordinator/domain`: an operation's (`evolve`
over stored events, and a summary) and a survivor's case (`evolve_case`, and her status).

Handed to the projections at the composition root, so that the rules stay in
`coordinator/domain` and projections never import them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any
from uuid import UUID

from coordinator.domain import NotAnOperationStream, Operation, Stage, evolve, fold_operation
from coordinator.domain.case import SurvivorCase, evolve_case, fold_case
from coordinator.domain.evolve import PAYLOAD_UNREAD
from coordinator.domain.state import DomainEvent, SurvivorStatus
from coordinator.domain.stored import domain_event
from events.catalogue import EVENT_TYPES, EventData, EventType, parse_event
from events.store.envelope import Recorded
from projections.read_models.operation_summary import OperationSummary


@cache
def _unread_payload(event_type: str) -> EventData:
    # Only its type matters to `evolve`: one empty payload of each such type serves every event.
    return EVENT_TYPES[event_type].model_construct()


def _stored_payload(event_type: str, schema_version: int, data: dict[str, Any]) -> EventData:
    """A stored payload as `evolve` needs it: validated (and upcast) only if `evolve` reads it.

    Rebuilding a projection folds every event of the log, and validating payloads whose fields
    the fold never reads was a sixth of that; they were validated when appended.
    """
    if event_type in PAYLOAD_UNREAD:
        return _unread_payload(event_type)
    return parse_event(event_type, schema_version, data)


def _corrected_ids(events: Sequence[Recorded]) -> frozenset[str]:
    """The ids (as text) of the events corrected among `events`."""
    return frozenset(
        str(event.data.get("corrects_event_id"))
        for event in events
        if event.type == EventType.EVENT_CORRECTED
    )


class OperationFolder:
    """Folds stored events with the operation's own rules."""

    def fold(self, state: Any, event: Recorded) -> Operation | None:
        """The operation after `event`; None for a stream that is not an operation's."""
        try:
            return evolve(state, domain_event(event, _stored_payload))
        except NotAnOperationStream:
            return None

    def fold_stream(self, events: Sequence[Recorded]) -> Operation | None:
        """The operation a stream's events leave, with every correction among them in effect;
        None for a stream that is not an operation's.

        Corrections and the events they correct are read whole (a correction replaces fields of
        its original); every other payload takes the same fast path as `fold`.
        """
        corrected = _corrected_ids(events)
        domain = [
            domain_event(event)
            if event.type == EventType.EVENT_CORRECTED or str(event.event_id) in corrected
            else domain_event(event, _stored_payload)
            for event in events
        ]
        try:
            return fold_operation(domain)
        except NotAnOperationStream:
            return None

    def stage(self, state: Any) -> str:
        """The stage the board shows: closed, else the least advanced survivor's, else the
        attempt's."""
        operation: Operation = state
        return operation.stage  # a StrEnum: the member is its value, without the lookup

    def summary(self, state: Any) -> OperationSummary:
        """What the board and status list may show: no personal data."""
        operation: Operation = state
        survivors = operation.survivors.values()
        abroad = [
            survivor.registered_at
            for survivor in survivors
            if survivor.status is SurvivorStatus.ABROAD and survivor.registered_at is not None
        ]
        return OperationSummary(
            operation_id=operation.operation_id,
            stage=operation.stage.value,
            version=operation.version,
            country=operation.country,
            opened_at=operation.opened_at,
            updated_at=operation.updated_at,
            is_open=operation.phase is not Stage.CLOSED,
            awaiting_approval=operation.phase is Stage.PLANNING,
            survivors=tuple(
                {
                    "survivor_id": str(survivor.survivor_id),
                    "gender": survivor.gender.value,
                    "age_at_rescue": survivor.age_at_rescue,
                    "exploitation": survivor.exploitation.value,
                    "found_in_country": survivor.found_in_country,
                    "status": survivor.status.value,
                }
                for survivor in survivors
            ),
            partners=tuple(
                {
                    "agency": partner.agency,
                    "agency_type": partner.agency_type.value,
                    "country": partner.country,
                }
                for partner in operation.partners
            ),
            phase=operation.phase.value,
            reference=operation.reference,
            awaiting_review_since=operation.awaiting_review_since,
            abroad_since=min(abroad, default=None),
            survivors_by_status=dict(Counter(survivor.status.value for survivor in survivors)),
        )


_CASE_ONLY = frozenset(
    {
        EventType.CONSENT_RECORDED,
        EventType.CONSENT_WITHDRAWN,
        EventType.SUPPORT_DECLINED,
        EventType.CONTACT_LOST,
        EventType.CONTACT_RESTORED,
        EventType.SURVIVOR_RETRAFFICKED,
        EventType.SURVIVOR_INDEPENDENT,
    }
)
_REGISTERING = frozenset({EventType.RESCUE_EXECUTED, EventType.SURVIVOR_RECOVERED})
_NAMING_SEVERAL = frozenset({EventType.CUSTODY_TRANSFERRED, EventType.SURVIVOR_RETURNED})
_NAMING_ONE = frozenset(
    {EventType.FAMILY_REUNITED, EventType.SUPPORT_PROVIDED, EventType.PERSONAL_DATA_ERASED}
)


def _uuids(values: Any) -> tuple[UUID, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(UUID(str(value)) for value in values if value is not None)


class CaseFolder:
    """Folds stored events into survivors' cases with the case's own rules (`evolve_case`)."""

    def concerns(self, event: Recorded) -> tuple[UUID, ...]:
        """The survivors whose case `event` may change, read from its stored payload.

        A case's own events concern her (the stream is hers); an operation's registering
        events, handoffs, returns, reunions, services and erasures concern those they name.
        Corrections concern whom the corrected event concerns (the caller looks it up).
        """
        data = event.data
        if event.type in _CASE_ONLY:
            return (event.stream_id,)
        if event.type in _REGISTERING:
            survivors = data.get("survivors")
            return _uuids(
                [s.get("survivor_id") for s in survivors if isinstance(s, dict)]
                if isinstance(survivors, list)
                else None
            )
        if event.type in _NAMING_SEVERAL:
            return _uuids(data.get("survivor_ids"))
        if event.type in _NAMING_ONE:
            named = data.get("survivor_id")
            # On her case `survivor_id` is optional: the stream is hers.
            return (event.stream_id,) if named is None else (UUID(str(named)),)
        return ()

    def event(self, recorded: Recorded) -> DomainEvent:
        """A stored event as the case's rules read it (once, for every survivor it concerns)."""
        return domain_event(recorded)

    def fold(self, state: Any, survivor_id: UUID, event: Any) -> SurvivorCase:
        """Her case after `event` (from `event()`); `state` None for a case not seen before."""
        case: SurvivorCase = SurvivorCase(survivor_id) if state is None else state
        return evolve_case(case, event)

    def fold_history(self, survivor_id: UUID, events: Sequence[Recorded]) -> SurvivorCase:
        """Her case from the events that concern her (and their corrections), in log order,
        with every correction in effect."""
        return fold_case(survivor_id, [domain_event(event) for event in events])

    def row(self, state: Any) -> tuple[str | None, tuple[UUID, ...], Any]:
        """Her status (None before any operation registered her), the operations that
        registered her, and when her case last changed."""
        case: SurvivorCase = state
        status = case.status
        return (None if status is None else status.value), case.operations, case.updated_at
