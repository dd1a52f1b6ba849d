"""Payloads of the record kept alongside the rescue: legal steps, notes, corrections, closing."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, Field, model_validator

from events.catalogue.base import (
    MAX_EXTRA_JSON_CHARS,
    EventData,
    FreePlace,
    FreeText,
    LongText,
    Sha256,
    ShortText,
)
from events.catalogue.vocabulary import CloseReason, Phase, Witness


class TestimonyRecorded(EventData):
    """A testimony was recorded, from a survivor or another witness (her family, staff, the
    police); the file itself is identified by its SHA-256. A survivor's testimony names her."""

    __test__ = False  # not a pytest test class, despite its name

    witness: Witness = Witness.SURVIVOR
    survivor_id: UUID | None = None
    recorded_by: ShortText
    location: FreePlace | None = None
    sha256: Sha256

    @model_validator(mode="after")
    def _survivor_witness_is_named(self) -> TestimonyRecorded:
        if self.witness is Witness.SURVIVOR and self.survivor_id is None:
            raise ValueError("a survivor's testimony names her survivor_id")
        return self


class EvidenceLogged(EventData):
    """An evidence item was logged: what it is, its SHA-256, who holds it and where."""

    description: FreeText
    sha256: Sha256
    custodian: ShortText | None = None
    storage: ShortText | None = None


class ProsecutionUpdated(EventData):
    """The prosecution moved on: complaint, arrest, indictment, trial, verdict or appeal."""

    phase: Phase
    summary: FreeText | None = None
    court: ShortText | None = None


class StatusNoted(EventData):
    """A free-text update from the field, optionally with a place."""

    note: FreeText
    place: FreePlace | None = None


def _is_bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(json.dumps(value, allow_nan=False, ensure_ascii=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"corrected_data is not finite JSON ({error})") from error
    if size > MAX_EXTRA_JSON_CHARS:
        raise ValueError(f"corrected_data is over {MAX_EXTRA_JSON_CHARS} characters")
    return value


class EventCorrected(EventData):
    """An earlier event of the operation was corrected; the original stays in the log."""

    corrects_event_id: UUID
    reason: FreeText
    corrected_data: Annotated[dict[str, Any], AfterValidator(_is_bounded_json)] = Field(
        default_factory=dict,
    )


class PersonalDataErased(EventData):
    """A survivor's personal-data key was destroyed, erasing their personal data everywhere.

    Recorded on her case (older records hold it on the operation); `survivor_id` is then the
    stream's.
    """

    survivor_id: UUID | None = None
    reason: LongText


class OperationClosed(EventData):
    """The operation ended, and why."""

    reason: CloseReason
    note: FreeText | None = None
