"""Reading request bodies strictly, and the request and answer shapes of the HTTP contract.

Strict JSON: a duplicate key or NaN/Infinity is a 400, never silently merged or accepted. The
body limit is aiohttp's `client_max_size` (413 above it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from coordinator.errors import BadRequest, InvalidInput

M = TypeVar("M", bound=BaseModel)

# A field phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 100


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every body: json.loads with options would build a new one per call.
_STRICT = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def loads_strict(raw: bytes) -> Any:
    """Parse JSON, refusing duplicate keys and NaN/Infinity."""
    try:
        return _STRICT.decode(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from error


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (413 when over the size limit, 400 when not JSON)."""
    if request.content_type not in {"application/json", ""}:
        raise BadRequest("send the body as application/json")
    raw = await request.read()
    if not raw:
        raise BadRequest("the request needs a JSON body")
    return loads_strict(raw)


def parse_body(model: type[M], body: Any) -> M:
    """Validate a parsed body against a request model (422 with the reasons)."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InvalidInput(describe(error)) from error


def describe(error: ValidationError) -> str:
    """A validation error as one readable sentence per problem, without echoing the input."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


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
    occurred_at: AwareDatetime | None = None
    data: dict[str, Any]

    _past = field_validator("occurred_at")(_in_the_past)


class EventRequest(_Body):
    """One event of a batch: its type and payload; id and time may come from the field."""

    event_id: UUID | None = None
    type: str = Field(min_length=1, max_length=60)
    occurred_at: AwareDatetime | None = None
    data: dict[str, Any]

    _past = field_validator("occurred_at")(_in_the_past)


class RecordEventsRequest(_Body):
    """`POST /v1/operations/{id}/events`: a batch appended atomically."""

    expected_version: int | None = Field(default=None, ge=0)
    events: list[EventRequest] = Field(min_length=1, max_length=MAX_BATCH)


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
