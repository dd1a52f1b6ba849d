"""What a caller sees of an operation: its state, survivors one by one, partners and timeline.

Personal data is shown only to roles that may see it, and never after it was erased. The
timeline lists who recorded what and when, never the payloads (which may hold personal data).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from coordinator.actors import Role
from coordinator.recording import LoadedOperation
from events.envelope import Recorded

PERSONAL_DATA_ROLES = frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})


def _personal_by_survivor(events: list[Recorded]) -> dict[UUID, Any]:
    personal: dict[UUID, Any] = {}
    for event in events:
        if event.type == "RescueExecuted":
            for survivor in event.data.get("survivors", []):
                personal[UUID(survivor["survivor_id"])] = survivor.get("personal")
    return personal


def operation_view(loaded: LoadedOperation, role: Role) -> dict[str, Any]:
    """The answer of `GET /v1/operations/{id}` for a caller with `role`."""
    state = loaded.state
    personal = _personal_by_survivor(loaded.events) if role in PERSONAL_DATA_ROLES else {}
    return {
        "operation_id": str(state.operation_id),
        "stage": state.stage.value,
        "version": state.version,
        "opened_at": state.opened_at.isoformat(),
        "updated_at": state.updated_at.isoformat(),
        "country": state.country,
        "country_confirmed": state.country_confirmed,
        "lead_investigator": state.lead_investigator,
        "planned_by": state.planned_by,
        "approved_by": state.approved_by,
        "close_reason": state.close_reason.value if state.close_reason else None,
        "prosecution_phase": state.prosecution_phase.value if state.prosecution_phase else None,
        "survivors": [
            {
                "survivor_id": str(survivor.survivor_id),
                "gender": survivor.gender.value,
                "age_at_rescue": survivor.age_at_rescue,
                "exploitation": survivor.exploitation.value,
                "form": survivor.form.value if survivor.form else None,
                "found_in_country": survivor.found_in_country,
                "home_province": survivor.home_province,
                "status": survivor.status.value,
                "personal_erased": survivor.personal_erased,
                "personal": None
                if survivor.personal_erased
                else personal.get(survivor.survivor_id),
            }
            for survivor in state.survivors.values()
        ],
        "partners": [
            {
                "agency": partner.agency,
                "agency_type": partner.agency_type.value,
                "country": partner.country,
            }
            for partner in state.partners
        ],
        "timeline": [
            {
                "version": event.version,
                "event_id": str(event.event_id),
                "type": event.type,
                "occurred_at": event.occurred_at.isoformat(),
                "recorded_at": event.recorded_at.isoformat(),
                "recorded_by": event.metadata.get("recorded_by"),
                "role": event.metadata.get("role"),
            }
            for event in loaded.events
        ],
    }


def stored_event_view(event: Recorded) -> dict[str, Any]:
    """One event as stored, for `GET /v1/operations/{id}/events`."""
    return {
        "event_id": str(event.event_id),
        "operation_id": str(event.stream_id),
        "version": event.version,
        "position": event.position,
        "type": event.type,
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "data": event.data,
        "metadata": event.metadata,
        "prev_hash": event.prev_hash.hex(),
        "hash": event.hash.hex(),
    }
