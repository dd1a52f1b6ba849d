"""What a caller sees of a survivor's case and of a prosecution.

Personal data is shown only to roles that may see it, and never after it was erased; timelines
list who recorded what and when, never payloads.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from coordinator.domain.actors import Role
from coordinator.service.prosecution_recording import LoadedProsecution
from coordinator.service.survivor_cases import LoadedCase
from coordinator.service.views import (
    PERSONAL_DATA_ROLES,
    personal_by_survivor,
    shown,
    survivor_record_view,
    timeline,
)
from events.catalogue import EventType


def case_view(
    loaded: LoadedCase, role: Role, readable: dict[UUID, dict[str, Any]]
) -> dict[str, Any]:
    """The answer of `GET /v1/survivors/{id}`: status, operations, services, consents, timeline.

    `readable` holds the data of every event of `loaded.stored` as the caller may read it.
    """
    state = loaded.state
    personal = (
        shown(personal_by_survivor(loaded.stored, readable).get(state.survivor_id))
        if role in PERSONAL_DATA_ROLES and not state.erased
        else None
    )
    journey = state.journey
    return {
        "survivor_id": str(state.survivor_id),
        "status": state.status.value if state.status else None,
        "version": state.version,
        "operations": [str(operation_id) for operation_id in state.operations],
        "registration": survivor_record_view(journey) if journey else None,
        "services": [
            {
                "service": service.service.value,
                "at": service.at.isoformat(),
                "operation_id": str(service.operation_id) if service.operation_id else None,
            }
            for service in state.services
        ],
        "consents": [
            {
                "purpose": consent.purpose.value,
                "recipient": consent.recipient,
                "given_by": consent.given_by.value,
                "given_at": consent.given_at.isoformat(),
                "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
            }
            for consent in state.consents
        ],
        "personal_erased": state.erased,
        "personal": personal,
        "updated_at": state.updated_at.isoformat() if state.updated_at else None,
        "timeline": timeline(loaded.own),
    }


def prosecution_view(
    loaded: LoadedProsecution, role: Role, readable: dict[UUID, dict[str, Any]]
) -> dict[str, Any]:
    """The answer of `GET /v1/prosecutions/{id}`; defendants' personal data for roles that may
    see it (leadership sees none)."""
    state = loaded.state
    personal: dict[UUID, Any] = {}
    if role in PERSONAL_DATA_ROLES:
        for event in loaded.events:
            if event.type == EventType.DEFENDANT_CHARGED:
                data = readable[event.event_id]
                value = data.get("personal")
                erased = isinstance(value, dict) and value.get("erased") is True
                personal[UUID(data["defendant_id"])] = None if erased else value
    return {
        "prosecution_id": str(state.prosecution_id),
        "version": state.version,
        "case_number": state.case_number,
        "court": state.court,
        "province": state.province,
        "operation_ids": [str(each) for each in state.operation_ids],
        "survivor_ids": [str(each) for each in state.survivor_ids],
        "opened_at": state.opened_at.isoformat(),
        "updated_at": state.updated_at.isoformat(),
        "closed": state.closed,
        "close_reason": state.close_reason,
        "hearings": state.hearings,
        "testimonies": state.testimonies,
        "evidence_items": state.evidence_items,
        "defendants": [
            {
                "defendant_id": str(defendant.defendant_id),
                "role": defendant.role.value,
                "articles": list(defendant.articles),
                "verdict": defendant.verdict.value if defendant.verdict else None,
                "sentence_months": defendant.sentence_months,
                "appealed": defendant.appealed,
                "personal": personal.get(defendant.defendant_id),
            }
            for defendant in state.defendants.values()
        ],
        "timeline": timeline(loaded.events),
    }
