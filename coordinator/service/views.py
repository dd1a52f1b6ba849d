"""What a caller sees of an operation: its state, survivors one by one, partners and timeline.

Personal data is shown only to roles that may see it, and never after it was erased. The
timeline lists who recorded what and when, never the payloads (which may hold personal data).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from coordinator.domain.actors import Role
from coordinator.service.recording import LoadedOperation
from events.catalogue import EventType
from events.store.envelope import Recorded

PERSONAL_DATA_ROLES = frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})


def _personal_by_survivor(
    events: list[Recorded], readable: dict[UUID, dict[str, Any]]
) -> dict[UUID, Any]:
    personal: dict[UUID, Any] = {}
    for event in events:
        if event.type == EventType.RESCUE_EXECUTED:
            for survivor in readable[event.event_id].get("survivors", []):
                value = survivor.get("personal")
                # An erased subject's data reads as {"erased": true}: shown as null.
                erased = isinstance(value, dict) and value.get("erased") is True
                personal[UUID(survivor["survivor_id"])] = None if erased else value
    return personal


def operation_view(
    loaded: LoadedOperation, role: Role, readable: dict[UUID, dict[str, Any]]
) -> dict[str, Any]:
    """The answer of `GET /v1/operations/{id}` for a caller with `role`.

    `readable` is each event's data as the caller may read it (see coordinator/privacy).
    """
    state = loaded.state
    personal = _personal_by_survivor(loaded.events, readable) if role in PERSONAL_DATA_ROLES else {}
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


def stored_event_view(event: Recorded, data: dict[str, Any]) -> dict[str, Any]:
    """One event as stored, for `GET /v1/operations/{id}/events`, with its data as readable by
    the caller (personal data opened, or `{"erased": true}`); the hashes cover the sealed form,
    which the audit trail carries."""
    return {
        "event_id": str(event.event_id),
        "operation_id": str(event.stream_id),
        "version": event.version,
        "position": event.position,
        "type": event.type,
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "data": data,
        "metadata": event.metadata,
        "prev_hash": event.prev_hash.hex(),
        "hash": event.hash.hex(),
    }
