"""Payloads of a prosecution: a case against traffickers, across the operations that freed their
victims; defendants, charges, hearings, testimony, evidence, verdicts and appeals."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from events.catalogue.base import (
    MAX_LIST,
    MAX_SHORT_LIST,
    EventData,
    FreeText,
    LongText,
    Moment,
    Part,
    Personal,
    ShortText,
)
from events.catalogue.vocabulary import AppealBy, DefendantRole, HearingKind, Verdict

MAX_SENTENCE_MONTHS = 1200
"""A hundred years: longer sentences (life) are said in the verdict's extra fields."""


class ProsecutionOpened(EventData):
    """A prosecution was opened: the court's case number, and the operations and survivors it
    concerns (the audit trail bundles them all)."""

    case_number: ShortText
    court: ShortText
    province: ShortText | None = None
    operation_ids: Annotated[tuple[UUID, ...], Field(max_length=MAX_LIST)] = ()
    survivor_ids: Annotated[tuple[UUID, ...], Field(max_length=MAX_LIST)] = ()


class Charge(Part):
    """One charge: the article of the penal code (as text, `150`, `151.2.a`) and its wording."""

    article: ShortText
    text: LongText | None = None


class DefendantCharged(EventData):
    """A defendant was charged; their `personal` data is sealed under `defendant_id`."""

    defendant_id: UUID
    role: DefendantRole
    charges: Annotated[tuple[Charge, ...], Field(min_length=1, max_length=MAX_SHORT_LIST)]
    personal: Personal | None = None


class HearingHeld(EventData):
    """A hearing was held."""

    held_on: Moment
    kind: HearingKind
    outcome: FreeText | None = None


class VerdictReached(EventData):
    """The court's verdict on one defendant; `compensation` is text (amount and currency)."""

    defendant_id: UUID
    verdict: Verdict
    sentence_months: Annotated[int, Field(strict=True, ge=0, le=MAX_SENTENCE_MONTHS)] | None = None
    compensation: ShortText | None = None


class AppealFiled(EventData):
    """A verdict was appealed, by the defence or the prosecution."""

    defendant_id: UUID
    by: AppealBy


class ProsecutionClosed(EventData):
    """The prosecution ended, and why."""

    reason: FreeText
