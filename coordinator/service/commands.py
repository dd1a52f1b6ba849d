"""The commands the service takes from a caller: open an operation or a prosecution, record a batch.

They are pydantic models because they cross a boundary (the HTTP body); the HTTP layer parses a
body into one of these, and `coordinator.service.recording` carries it out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from events.catalogue.base import Instant

# A field phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 100


def describe(error: ValidationError) -> str:
    """A validation error as one readable sentence per problem, without echoing the input."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        if _SEALED_BRANCH in item["loc"]:
            continue  # free text may be stored sealed; a client only ever sends text
        parts = (str(part) for part in item["loc"] if part not in _UNION_BRANCHES)
        where = ".".join(parts) or "body"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(dict.fromkeys(problems))


_SEALED_BRANCH = "SealedPersonal"
_UNION_BRANCHES = frozenset({"constrained-str", "str"})


def _in_the_past(moment: datetime | None) -> datetime | None:
    if moment is not None and moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("occurred_at is in the future")
    return moment


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenOperationRequest(_Body):
    """`POST /v1/operations`: the first report of a case."""

    operation_id: UUID | None = None
    event_id: UUID | None = None
    occurred_at: Instant | None = None
    data: dict[str, Any]

    _past = field_validator("occurred_at")(_in_the_past)


class EventRequest(_Body):
    """One event of a batch: its type and payload; id and time may come from the field."""

    event_id: UUID | None = None
    type: str = Field(min_length=1, max_length=60)
    occurred_at: Instant | None = None
    data: dict[str, Any]

    _past = field_validator("occurred_at")(_in_the_past)


class RecordEventsRequest(_Body):
    """`POST /v1/operations/{id}/events`: a batch appended atomically."""

    expected_version: int | None = Field(default=None, ge=0)
    events: list[EventRequest] = Field(min_length=1, max_length=MAX_BATCH)


class OpenProsecutionRequest(_Body):
    """`POST /v1/prosecutions`: a prosecution opened with its `ProsecutionOpened`."""

    prosecution_id: UUID | None = None
    event_id: UUID | None = None
    occurred_at: Instant | None = None
    data: dict[str, Any]

    _past = field_validator("occurred_at")(_in_the_past)
