"""What a caller sees of an operation: its state, survivors one by one, partners and timeline.

Personal data is shown only to roles that may see it, and never after it was erased. The
timeline lists who recorded what and when, never the payloads (which may hold personal data).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from coordinator.domain import SurvivorRecord
from coordinator.domain.actors import Role
from coordinator.service.leadership import operation_for_leadership
from coordinator.service.recording import LoadedOperation
from events.catalogue import EventType
from events.store.envelope import Recorded

PERSONAL_DATA_ROLES = frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})


REGISTERING = frozenset({EventType.RESCUE_EXECUTED, EventType.SURVIVOR_RECOVERED})


def _survivor_parts(event: Recorded, data: dict[str, Any], targets: dict[UUID, str]) -> list[Any]:
    """The survivors an event lists as readable, if it registers them or corrects a list that
    does (the latest correction wins, as in the state)."""
    if event.type in REGISTERING:
        return list(data.get("survivors", []))
    if event.type == EventType.EVENT_CORRECTED:
        target = data.get("corrects_event_id")
        corrected = data.get("corrected_data", {})
        if targets.get(UUID(str(target))) in REGISTERING and "survivors" in corrected:
            return list(corrected["survivors"])
    return []


def personal_by_survivor(
    events: list[Recorded], readable: dict[UUID, dict[str, Any]]
) -> dict[UUID, Any]:
    """Each registered survivor's personal data as the caller may read it: `ERASED` when her
    key was destroyed (shown as null)."""
    personal: dict[UUID, Any] = {}
    targets = {event.event_id: event.type for event in events}
    for event in events:
        for survivor in _survivor_parts(event, readable[event.event_id], targets):
            value = survivor.get("personal")
            # An erased subject's data reads as {"erased": true}.
            erased = isinstance(value, dict) and value.get("erased") is True
            personal[UUID(survivor["survivor_id"])] = ERASED if erased else value
    return personal


ERASED = object()
"""The personal data of a survivor whose key was destroyed."""


def shown(personal: Any) -> Any:
    """Personal data as an answer shows it: null once erased."""
    return None if personal is ERASED else personal


def survivor_record_view(record: SurvivorRecord) -> dict[str, Any]:
    """A survivor as an operation registered her, and her journey since; no personal data."""
    return {
        "survivor_id": str(record.survivor_id),
        "missing_person_id": str(record.missing_person_id) if record.missing_person_id else None,
        "gender": record.gender.value,
        "age_at_rescue": record.age_at_rescue,
        "age_estimated": record.age_estimated,
        "exploitation": record.exploitation.value,
        "form": record.form.value if record.form else None,
        "found_in_country": record.found_in_country,
        "home_province": record.home_province,
        "ethnic_group": record.ethnic_group,
        "recovered": record.recovered.value if record.recovered else None,
        "status": record.status.value,
    }


def operation_view(
    loaded: LoadedOperation, role: Role, readable: dict[UUID, dict[str, Any]]
) -> dict[str, Any]:
    """The answer of `GET /v1/operations/{id}` for a caller with `role`: leadership sees no
    staff names nor survivors' details (coordinator/service/leadership.py).

    `readable` is each event's data as the caller may read it (see coordinator/privacy).
    """
    view = _operation_view(loaded, role, readable)
    return operation_for_leadership(view) if role is Role.LEADERSHIP else view


def _operation_view(
    loaded: LoadedOperation, role: Role, readable: dict[UUID, dict[str, Any]]
) -> dict[str, Any]:
    state = loaded.state
    personal = personal_by_survivor(loaded.events, readable) if role in PERSONAL_DATA_ROLES else {}
    # Her personal data reads as erased once her key is gone (erased on her case).
    erased_by_key = {survivor_id for survivor_id, value in personal.items() if value is ERASED}
    return {
        "operation_id": str(state.operation_id),
        "reference": state.reference,
        "stage": state.stage.value,
        "phase": state.phase.value,
        "version": state.version,
        "opened_at": state.opened_at.isoformat(),
        "updated_at": state.updated_at.isoformat(),
        "country": state.country,
        "country_confirmed": state.country_confirmed,
        "lead_investigator": state.lead_investigator,
        "planned_by": state.planned_by,
        "approved_by": state.approved_by,
        "awaiting_review": state.awaiting_review,
        "rescues": state.rescues,
        "unsuccessful_attempts": state.unsuccessful_attempts,
        "close_reason": state.close_reason.value if state.close_reason else None,
        "prosecution_phase": state.prosecution_phase.value if state.prosecution_phase else None,
        "survivors": [
            {
                **survivor_record_view(survivor),
                "personal_erased": survivor.personal_erased
                or survivor.survivor_id in erased_by_key,
                "personal": None
                if survivor.personal_erased
                else shown(personal.get(survivor.survivor_id)),
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
        "timeline": timeline(loaded.events),
    }


def timeline(events: list[Recorded]) -> list[dict[str, Any]]:
    """Who recorded which event and when, never its payload."""
    return [
        {
            "version": event.version,
            "event_id": str(event.event_id),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "recorded_at": event.recorded_at.isoformat(),
            "recorded_by": event.metadata.get("recorded_by"),
            "role": event.metadata.get("role"),
        }
        for event in events
    ]


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
