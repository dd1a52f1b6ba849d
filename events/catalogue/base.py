"""The building blocks of every payload: the base models and the bounded field types they share.

Top-level payloads allow fields the catalogue does not name (the design's "fields not shown are
allowed"), as long as each is bounded JSON; nested objects are closed, except `personal` objects,
which are free-form because they are encrypted wholesale before they are stored.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    model_validator,
)

from events.catalogue.countries import ISO_3166_ALPHA_2

MAX_EXTRA_FIELDS = 50
MAX_EXTRA_JSON_CHARS = 10_000
MAX_PERSONAL_KEYS = 50
MAX_LIST = 200
MAX_SHORT_LIST = 50


def _is_country(code: str) -> str:
    if code not in ISO_3166_ALPHA_2:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A name, place, agency, province or other short label."""

LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
"""A note, summary, reason or description."""

Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_is_country),
]
"""An ISO 3166-1 alpha-2 code, upper case, checked against the assigned codes."""

Age = Annotated[int, Field(strict=True, ge=0, le=120)]
"""An age in whole years."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lower-case hexadecimal digits."""


def placeable_in_utc(moment: datetime) -> datetime:
    """`moment` if it has a UTC form; ValueError for one that falls off the calendar in UTC."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time falls outside the calendar once put in UTC") from None
    return moment


Instant = Annotated[AwareDatetime, AfterValidator(placeable_in_utc)]
"""A time with its zone that has a UTC form (0001-01-01T00:00+14:00 has none)."""

Moment = Annotated[Instant | date, Field(union_mode="left_to_right")]
"""A time with its zone, or a calendar day when the time is not known."""

PersonalText = Annotated[StrictStr, StringConstraints(max_length=2000)]

PersonalValue = PersonalText | StrictBool | StrictInt | StrictFloat | None
"""One value of a personal object: flat JSON, no coercion between types."""


def _is_bounded_personal(personal: dict[str, Any]) -> dict[str, Any]:
    if len(personal) > MAX_PERSONAL_KEYS:
        raise ValueError(f"a personal object holds at most {MAX_PERSONAL_KEYS} keys")
    return personal


PlainPersonal = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        PersonalValue,
    ],
    AfterValidator(_is_bounded_personal),
]


class SealedPersonal(BaseModel):
    """A personal object as stored: sealed with its data subject's key (never sent by clients)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sealed: Literal["AES-256-GCM"]
    subject_id: UUID
    nonce: Annotated[str, StringConstraints(max_length=100)]
    ciphertext: Annotated[str, StringConstraints(max_length=400_000)]


def _personal_kind(value: Any) -> str:
    if isinstance(value, SealedPersonal) or (isinstance(value, dict) and "sealed" in value):
        return "sealed"
    return "plain"


Personal = Annotated[
    Annotated[PlainPersonal, Tag("plain")] | Annotated[SealedPersonal, Tag("sealed")],
    Discriminator(_personal_kind),
]
"""Free-form personal data (name, date of birth, contacts...): flat JSON, at most 50 keys.

The object is sealed as a whole before it is stored (coordinator/privacy), so its keys are not
fixed here, and a stored event carries it in its sealed form.
"""


FreeText = Annotated[LongText | SealedPersonal, Field(union_mode="left_to_right")]
"""A note, summary, reason or description: free text, sealed under its subject's data key before
it is stored (coordinator/service/privacy), since a note may name a girl; clients send text."""

FreePlace = Annotated[ShortText | SealedPersonal, Field(union_mode="left_to_right")]
"""A place, an officer's name, where someone was last seen: short free text, sealed like notes."""


def sealable_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of a model's fields (at any depth of its nested parts) that hold free text the
    service seals: those typed `FreeText` or `FreePlace`."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        if name == "personal":  # sealed as a whole object, on its own terms
            continue
        if info.annotation is not None and SealedPersonal in _members(info.annotation):
            names.add(name)
        for member in _members(info.annotation):
            if isinstance(member, type) and issubclass(member, Part):
                names |= sealable_fields(member)
    return frozenset(names)


def clear_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of a model's fields (at any depth) that are stored as sent: not free text."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        members = _members(info.annotation)
        if SealedPersonal not in members:
            names.add(name)
        for member in members:
            if isinstance(member, type) and issubclass(member, Part):
                names |= clear_fields(member)
    return frozenset(names)


def _members(annotation: Any) -> set[Any]:
    """Every type an annotation names (through unions, Annotated and containers)."""
    found: set[Any] = {annotation}
    for argument in getattr(annotation, "__args__", ()) or ():
        found |= _members(argument)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        found |= _members(origin)
    metadata = getattr(annotation, "__metadata__", None)
    if metadata is not None:
        found |= _members(getattr(annotation, "__origin__", None))
    return found


def _json_size(name: str, value: Any) -> int:
    try:
        return len(json.dumps(value, allow_nan=False, ensure_ascii=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"extra field {name!r} is not finite JSON ({error})") from error


class EventData(BaseModel):
    """The payload (`data`) of one event type; the envelope holds id, times and who recorded it."""

    model_config = ConfigDict(frozen=True, extra="allow", allow_inf_nan=False)

    schema_version: ClassVar[int] = 1
    """The payload's current schema version; older stored versions are upcast on reading."""

    @model_validator(mode="after")
    def _extra_fields_are_bounded_json(self) -> EventData:
        extra = self.model_extra or {}
        if len(extra) > MAX_EXTRA_FIELDS:
            raise ValueError(f"data holds at most {MAX_EXTRA_FIELDS} fields the catalogue lacks")
        for name, value in extra.items():
            if len(name) > 100:
                raise ValueError("an extra field's name is at most 100 characters")
            if name.startswith("_") or hasattr(type(self), name):
                raise ValueError(f"extra field {name!r} shadows a name of the payload model")
            if _json_size(name, value) > MAX_EXTRA_JSON_CHARS:
                raise ValueError(f"extra field {name!r} is over {MAX_EXTRA_JSON_CHARS} characters")
        return self


class Part(BaseModel):
    """A nested object of a payload (a survivor, a party, a reporter): closed to unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


__all__ = [
    "MAX_LIST",
    "MAX_SHORT_LIST",
    "Age",
    "Country",
    "EventData",
    "Instant",
    "LongText",
    "Moment",
    "Part",
    "Personal",
    "Sha256",
    "ShortText",
    "placeable_in_utc",
]
