"""Helpers for tests through HTTP: callers holding real tokens, and JSON payload factories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

Client = TestClient[Any, Any]


@dataclass
class Caller:
    """A test client that sends one role's real bearer token with every request."""

    client: Client
    token: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> ClientResponse:
        """GET `path` with this caller's token."""
        return await self.client.get(path, headers=self._headers())

    async def post(self, path: str, body: Any) -> ClientResponse:
        """POST `body` as JSON to `path` with this caller's token."""
        return await self.client.post(path, json=body, headers=self._headers())

    async def delete(self, path: str) -> ClientResponse:
        """DELETE `path` with this caller's token."""
        return await self.client.delete(path, headers=self._headers())

    async def open(self, **data: Any) -> str:
        """Open an operation and return its id."""
        response = await self.post("/v1/operations", {"data": a_case_report(**data)})
        assert response.status == 201, await response.text()
        return str((await response.json())["operation_id"])

    async def record(self, operation_id: str, *events: dict[str, Any]) -> dict[str, Any]:
        """Record events on an operation, expecting success."""
        response = await self.post(f"/v1/operations/{operation_id}/events", {"events": events})
        assert response.status == 201, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


def event(event_type: str, **data: Any) -> dict[str, Any]:
    """One event of a batch."""
    return {"type": event_type, "data": data}


def a_case_report(**overrides: Any) -> dict[str, Any]:
    """A mother's call about her missing daughter, suspected sold across the border."""
    report: dict[str, Any] = {
        "channel": "family",
        "reporter": {"relationship": "mother", "personal": {"name": "Reporter Name"}},
        "missing_persons": [
            {
                "gender": "female",
                "age": 16,
                "home_province": "Ha Giang",
                "last_seen": "2026-09-01",
                "personal": {"name": "Missing Girl"},
            }
        ],
        "suspected_exploitation": "sexual",
        "suspected_country": "CN",
    }
    report.update(overrides)
    return report


def a_survivor(**overrides: Any) -> dict[str, Any]:
    """A girl freed from a brothel in China, from Ha Giang."""
    survivor: dict[str, Any] = {
        "survivor_id": str(uuid.uuid4()),
        "gender": "female",
        "age_at_rescue": 16,
        "exploitation": "sexual",
        "form": "brothel",
        "found_in_country": "CN",
        "home_province": "Ha Giang",
        "personal": {
            "name": "Survivor Name",
            "date_of_birth": "2010-02-03",
            "family_contact": "+84 000 000",
        },
    }
    survivor.update(overrides)
    return survivor


def to_approval() -> list[dict[str, Any]]:
    """The field team's events from investigation to a plan awaiting approval."""
    return [
        event("InvestigationOpened", lead_investigator="Investigator A"),
        event("LeadRecorded", source="informant", reliability="B", summary="seen in a venue"),
        event("LocationConfirmed", country="CN", place="Hekou", venue="brothel"),
        event(
            "PartnerEngaged",
            agency="Yunnan Public Security",
            agency_type="police",
            country="CN",
            contact_officer="Officer B",
        ),
        event(
            "RescuePlanned",
            planned_for="2026-10-20T06:00:00+07:00",
            team=["Rescuer A", "Rescuer B"],
            partners=["Yunnan Public Security"],
            risk="high",
        ),
    ]
