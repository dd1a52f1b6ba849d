"""The operation's fold as projections need it: `evolve` over stored events, and a summary.

Handed to the status and board projections at the composition root, so that the rules stay in
`coordinator/operation` and projections never import them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from coordinator.domain import NotAnOperationStream, Operation, Stage, evolve
from coordinator.domain.evolve import PAYLOAD_UNREAD
from coordinator.domain.stored import domain_event
from events.catalogue import EVENT_TYPES, EventData, parse_event
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


class OperationFolder:
    """Folds stored events with the operation's own rules."""

    def fold(self, state: Any, event: Recorded) -> Operation | None:
        """The operation after `event`; None for a stream that is not an operation's."""
        try:
            return evolve(state, domain_event(event, _stored_payload))
        except NotAnOperationStream:
            return None

    def stage(self, state: Any) -> str:
        """The operation's stage."""
        operation: Operation = state
        return operation.stage  # a StrEnum: the member is its value, without the lookup

    def summary(self, state: Any) -> OperationSummary:
        """What the board and status list may show: no personal data."""
        operation: Operation = state
        return OperationSummary(
            operation_id=operation.operation_id,
            stage=operation.stage.value,
            version=operation.version,
            country=operation.country,
            opened_at=operation.opened_at,
            updated_at=operation.updated_at,
            is_open=operation.stage is not Stage.CLOSED,
            awaiting_approval=operation.stage is Stage.PLANNING,
            survivors=tuple(
                {
                    "survivor_id": str(survivor.survivor_id),
                    "gender": survivor.gender.value,
                    "age_at_rescue": survivor.age_at_rescue,
                    "exploitation": survivor.exploitation.value,
                    "found_in_country": survivor.found_in_country,
                    "status": survivor.status.value,
                }
                for survivor in operation.survivors.values()
            ),
            partners=tuple(
                {
                    "agency": partner.agency,
                    "agency_type": partner.agency_type.value,
                    "country": partner.country,
                }
                for partner in operation.partners
            ),
        )
