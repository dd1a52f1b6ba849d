"""The store's errors: each names what went wrong in the log's own terms and carries its data.

Driver errors become these in exactly one place (`events/store/connection.py`); nothing
above the store sees an asyncpg exception.
"""

from __future__ import annotations

from uuid import UUID


class StoreError(Exception):
    """Base of every error the event store raises."""


class VersionConflict(StoreError):
    """An append expected a stream version other than the one the stream has."""

    def __init__(self, stream_id: UUID, expected: int | None, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id} is at version {actual}, not the expected {expected}",
        )


class DuplicateEventConflict(StoreError):
    """An event id was already recorded with other content (or in another stream)."""

    def __init__(self, event_ids: list[UUID]) -> None:
        self.event_ids = event_ids
        listed = ", ".join(str(event_id) for event_id in event_ids)
        super().__init__(f"event ids already recorded with other content: {listed}")


class LogIsAppendOnly(StoreError):
    """Something tried to change or remove a recorded event."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused the connection."""


class MigrationError(StoreError):
    """The schema could not be brought up to date."""


class InvalidEventData(StoreError):
    """An event's data cannot be stored faithfully (a number JSON cannot keep, a NUL byte)."""
