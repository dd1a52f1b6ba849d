"""Payloads of a survivor's case: her life after the rescue, across every operation that found her.

The case's stream id is her `survivor_id`, so these payloads need not name her.
"""

from __future__ import annotations

from uuid import UUID

from events.catalogue.base import EventData, FreeText, ShortText
from events.catalogue.vocabulary import ConsentPurpose, GivenBy


class ConsentRecorded(EventData):
    """She (or, for a minor, her guardian) consented to a use of her record by a recipient."""

    purpose: ConsentPurpose
    recipient: ShortText
    given_by: GivenBy


class ConsentWithdrawn(EventData):
    """A consent given for a purpose and recipient was withdrawn."""

    purpose: ConsentPurpose
    recipient: ShortText


class SupportDeclined(EventData):
    """She declined the organisation's help (her choice, recorded and respected)."""

    note: FreeText | None = None


class ContactLost(EventData):
    """The organisation lost contact with her."""

    note: FreeText | None = None


class ContactRestored(EventData):
    """Contact with her was restored."""

    note: FreeText | None = None


class SurvivorRetrafficked(EventData):
    """She was trafficked again; `operation_id` is the operation that will look for her, and the
    only one then allowed to register her again."""

    operation_id: UUID
    note: FreeText | None = None


class SurvivorIndependent(EventData):
    """She lives independently: support has reached its end."""

    note: FreeText | None = None
