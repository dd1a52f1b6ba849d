"""The answer shapes of the HTTP contract, as the OpenAPI document publishes them.

Handlers answer through `answer(Model, content)`, which checks the content against the model the
document is generated from and sends what the model dumps: an answer cannot carry a field the
document does not show, nor miss one it promises, without failing (and the tests call every
route).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict


def answer(
    model: type[BaseModel],
    content: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """`content` as JSON, after checking it is the `model` the OpenAPI document describes."""
    checked = model.model_validate(content)
    return web.json_response(
        checked.model_dump(mode="json", by_alias=True, exclude_unset=True),
        status=status,
        headers=headers,
    )


class AppendedEventAnswer(BaseModel):
    """One event's id and version in an append's answer."""

    event_id: UUID
    version: int


class AppendAnswer(BaseModel):
    """The answer to an append: the stream, its version after it, and each event's place.

    `operation_id` names the stream for every kind (the survivor's id on her case, the
    prosecution's id on a prosecution), as version 1 clients read it."""

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


class Answer(BaseModel):
    """An answer's shape: exactly the fields documented, no others."""

    model_config = ConfigDict(extra="forbid")


class HealthAnswer(Answer):
    """The process is alive."""

    status: str


class ReadyAnswer(Answer):
    """Whether the service can serve, and what each check found."""

    status: str
    checks: dict[str, Any]


class SurvivorRecordAnswer(Answer):
    """A survivor as an operation registered her, and where her journey is (`status`); her
    details are null for leadership."""

    survivor_id: str
    missing_person_id: str | None
    gender: str | None
    age_at_rescue: int | None
    age_estimated: bool | None
    exploitation: str
    form: str | None
    found_in_country: str
    home_province: str | None
    ethnic_group: str | None
    recovered: str | None
    status: str


class SurvivorAnswer(SurvivorRecordAnswer):
    """A survivor of an operation, by pseudonymous id; `personal` is null where hidden or erased."""

    personal_erased: bool
    personal: dict[str, Any] | None


class PartnerAnswer(Answer):
    """A partner agency engaged in the operation."""

    agency: str
    agency_type: str
    country: str | None


class TimelineEntry(Answer):
    """Who recorded which event, and when (never its payload)."""

    version: int
    event_id: str
    type: str
    occurred_at: str
    recorded_at: str
    recorded_by: str | None
    role: str | None


class OperationAnswer(Answer):
    """An operation's stage (the board's, from its survivors), phase (its attempt's), version,
    survivors, partners and timeline."""

    operation_id: str
    reference: str | None
    stage: str
    phase: str
    version: int
    opened_at: str
    updated_at: str
    country: str | None
    country_confirmed: bool
    lead_investigator: str | None
    planned_by: str | None
    approved_by: str | None
    awaiting_review: bool
    rescues: int
    unsuccessful_attempts: int
    close_reason: str | None
    prosecution_phase: str | None
    survivors: list[SurvivorAnswer]
    partners: list[PartnerAnswer]
    timeline: list[TimelineEntry]


class StoredEvent(Answer):
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


class StoredEventsAnswer(Answer):
    """An operation's stream as stored."""

    operation_id: str
    events: list[StoredEvent]
