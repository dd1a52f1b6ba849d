"""Answer shapes of survivors' cases and prosecutions, as the OpenAPI document publishes them."""

from __future__ import annotations

from typing import Any

from coordinator.http.answers import Answer, SurvivorRecordAnswer, TimelineEntry


class ServiceAnswer(Answer):
    """A service she received, and where it was recorded (an operation, or her case: null)."""

    service: str
    at: str
    operation_id: str | None


class ConsentAnswer(Answer):
    """A consent for a purpose and recipient, who gave it, and when it was withdrawn."""

    purpose: str
    recipient: str
    given_by: str
    given_at: str
    withdrawn_at: str | None


class SurvivorCaseAnswer(Answer):
    """One person across every operation that found her: status, services, consents, timeline.

    `registration` is how her latest registering operation recorded her; `version` is her case
    stream's (0 before its first event)."""

    survivor_id: str
    status: str | None
    version: int
    operations: list[str]
    registration: SurvivorRecordAnswer | None
    services: list[ServiceAnswer]
    consents: list[ConsentAnswer]
    personal_erased: bool
    personal: dict[str, Any] | None
    updated_at: str | None
    timeline: list[TimelineEntry]


class SurvivorRow(Answer):
    """A survivor in the list: status and operations, no personal data."""

    survivor_id: str
    status: str
    operations: list[str]
    updated_at: str


class SurvivorsAnswer(Answer):
    """Survivors, most recently updated first."""

    survivors: list[SurvivorRow]


class DefendantAnswer(Answer):
    """A defendant: role, articles charged, standing verdict; `personal` null where hidden."""

    defendant_id: str
    role: str
    articles: list[str]
    verdict: str | None
    sentence_months: int | None
    appealed: bool
    personal: dict[str, Any] | None


class ProsecutionAnswer(Answer):
    """A prosecution: its case, links, defendants, counts and timeline."""

    prosecution_id: str
    version: int
    case_number: str
    court: str
    province: str | None
    operation_ids: list[str]
    survivor_ids: list[str]
    opened_at: str
    updated_at: str
    closed: bool
    close_reason: str | None
    hearings: int
    testimonies: int
    evidence_items: int
    defendants: list[DefendantAnswer]
    timeline: list[TimelineEntry]


class ProsecutionOpenAnswer(Answer):
    """The answer to opening a prosecution."""

    prosecution_id: str
    version: int
