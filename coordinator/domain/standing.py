"""What the rest of the record says of a survivor, and the registrations that make her known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from coordinator.domain.state import SurvivorStatus


@dataclass(frozen=True, slots=True)
class Standing:
    """What the rest of the record says of one survivor, for the rules of a stream that names
    her: the operations that registered her (oldest first), the re-traffickings in her case that
    still allow a new registration (their event id and the operation each names), the status
    her case gives her (independent, re-trafficked, declined support, lost contact, or None),
    whether her personal data was erased, and her age at her latest registration."""

    registered_by: tuple[UUID, ...] = ()
    open_retraffickings: tuple[tuple[UUID, UUID], ...] = ()
    case_status: SurvivorStatus | None = None
    erased: bool = False
    age_at_registration: int | None = None
    registered_at: datetime | None = None

    @property
    def registered(self) -> bool:
        """Whether any operation has registered her."""
        return bool(self.registered_by)


NO_STANDING = Standing()
"""A survivor nothing else in the record knows of (never registered anywhere)."""

FIRST_REGISTRATION = "first"
"""The registration slot of a survivor's first registration; later ones use the event id of the
`SurvivorRetrafficked` that allowed them."""


@dataclass(frozen=True, slots=True)
class Registration:
    """A survivor registered by an operation, under a slot that can be taken once: appended in
    the same transaction as the registering event, so two operations cannot both take it."""

    survivor_id: UUID
    slot: str
    operation_id: UUID
    event_id: UUID
