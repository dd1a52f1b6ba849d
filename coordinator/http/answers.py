"""The answer shapes of the HTTP contract, as the OpenAPI document publishes them.

Handlers on hot paths build some answers as plain dicts of the same shape; tests validate what
they answer against these models, so the document cannot drift from the answers.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class AppendedEventAnswer(BaseModel):
    """One event's id and version in an append's answer."""

    event_id: UUID
    version: int


class AppendAnswer(BaseModel):
    """The answer to an append: the operation, its version after it, and each event's place."""

    operation_id: UUID
    version: int
    events: list[AppendedEventAnswer]


class OpenAnswer(BaseModel):
    """The answer to opening an operation."""

    operation_id: UUID
    version: int


class ErrorAnswer(BaseModel):
    """Every error: a code and a sentence."""

    error: str
    detail: str


# Answers that handlers build as plain dicts; their shapes are pinned here and checked by tests.


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class HealthAnswer(_Answer):
    """The process is alive."""

    status: str


class ReadyAnswer(_Answer):
    """Whether the service can serve, and what each check found."""

    status: str
    checks: dict[str, Any]


class SurvivorAnswer(_Answer):
    """A survivor of an operation, by pseudonymous id; `personal` is null where hidden or erased."""

    survivor_id: str
    gender: str
    age_at_rescue: int | None
    status: str
    personal: dict[str, Any] | None


class PartnerAnswer(_Answer):
    """A partner agency engaged in the operation."""

    agency: str
    agency_type: str
    country: str | None


class TimelineEntry(_Answer):
    """Who recorded which event, and when (never its payload)."""

    version: int
    event_id: str
    type: str
    occurred_at: str
    recorded_at: str
    recorded_by: str | None
    role: str | None


class OperationAnswer(_Answer):
    """An operation's stage, version, survivors, partners and timeline."""

    operation_id: str
    stage: str
    version: int
    opened_at: str
    updated_at: str
    survivors: list[SurvivorAnswer]
    partners: list[PartnerAnswer]
    timeline: list[TimelineEntry]


class StoredEvent(_Answer):
    """One event as stored: envelope, payload, metadata and hash chain."""

    event_id: str
    operation_id: str
    version: int
    position: int
    type: str
    schema_version: int
    occurred_at: str
    recorded_at: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    prev_hash: str
    hash: str


class StoredEventsAnswer(_Answer):
    """An operation's stream as stored."""

    operation_id: str
    events: list[StoredEvent]
