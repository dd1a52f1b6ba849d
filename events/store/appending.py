"""The append write paths: events checked and hashed, then written in one round trip.

When the caller states the expected version and the store already knows that version's hash
(from a read or an earlier append: a committed version's hash never changes), an append is a
plain INSERT with the chain computed here, and the unique (stream, version) constraint refuses it
if anyone else got there first; appends of one event on this path that arrive together share one
INSERT and one commit (events/store/group_commit.py). Otherwise it calls `append_events`
(events/store/migrations/0001_event_log.sql), which checks idempotency and the version, chains
the hashes and inserts in the database.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.store.batch import Batch, prepare_batch
from events.store.connection import Queryable, translate_errors
from events.store.envelope import Appended, AppendedEvent, NewEvent
from events.store.errors import DuplicateEventConflict, InvalidEventData, VersionConflict
from events.store.group_commit import GroupCommit
from events.verifier.chain import GENESIS, link_hash

# Appends without an expected version retry this often when another writer took the version.
_RETRIES = 5
# How many streams' last (version, hash) the store remembers for the one-statement append.
_KNOWN_HEADS = 10_000

_INSERT = """
INSERT INTO events (event_id, stream_id, version, type, schema_version, data, metadata,
                    occurred_at, recorded_at, content_hash, prev_hash, hash)
SELECT e.event_id, $1, e.version, e.type, e.schema_version, e.data, e.metadata, e.occurred_at,
       $2, e.content_hash, e.prev_hash, e.hash
  FROM unnest($3::uuid[], $4::integer[], $5::text[], $6::integer[], $7::jsonb[], $8::jsonb[],
              $9::timestamptz[], $10::bytea[], $11::bytea[], $12::bytea[])
       AS e(event_id, version, type, schema_version, data, metadata, occurred_at, content_hash,
            prev_hash, hash)
RETURNING event_id AS out_event_id, version AS out_version, position AS out_position,
          hash AS out_hash, false AS out_duplicate
"""
# The same for the common batch of one, without the cost of arrays.
_INSERT_ONE = """
INSERT INTO events (event_id, stream_id, version, type, schema_version, data, metadata,
                    occurred_at, recorded_at, content_hash, prev_hash, hash)
VALUES ($3, $1, $4, $5, $6, $7, $8, $9, $2, $10, $11, $12)
RETURNING event_id AS out_event_id, version AS out_version, position AS out_position,
          hash AS out_hash, false AS out_duplicate
"""
_APPEND_EVENTS = "SELECT * FROM append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"


class StreamHeads:
    """The last (version, hash) of recently used streams, least recently used forgotten first.

    Only a store on a pool (autocommit) may remember heads: inside a caller's transaction an
    append could still roll back, and its hash would not be a fact.
    """

    def __init__(self, *, enabled: bool) -> None:
        self._heads: OrderedDict[UUID, tuple[int, bytes]] | None = (
            OrderedDict() if enabled else None
        )

    def remember(self, stream_id: UUID, version: int, last_hash: bytes) -> None:
        if self._heads is None:
            return
        self._heads[stream_id] = (version, last_hash)
        self._heads.move_to_end(stream_id)
        if len(self._heads) > _KNOWN_HEADS:
            self._heads.popitem(last=False)

    def forget(self, stream_id: UUID) -> None:
        if self._heads is not None:
            self._heads.pop(stream_id, None)

    def known_hash(self, stream_id: UUID, version: int | None) -> bytes | None:
        """The hash at `version` if it is known (always for version 0), else None."""
        if version == 0:
            return GENESIS
        if version is None or self._heads is None:
            return None
        head = self._heads.get(stream_id)
        return head[1] if head is not None and head[0] == version else None


class StreamWriter:
    """Appends to streams: the fast INSERT when the head is known, else `append_events`."""

    def __init__(
        self,
        pool: Queryable,
        heads: StreamHeads,
        *,
        on_append: Callable[[], None] | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._pool = pool
        self._heads = heads
        self._on_append = on_append
        self._clock = clock
        # One-event appends on the fast path are written in groups (events/store/group_commit.py).
        self._group = GroupCommit(pool) if isinstance(pool, asyncpg.Pool) else None

    @property
    def group(self) -> GroupCommit | None:
        """The writer of grouped one-event appends (none on a single connection)."""
        return self._group

    async def append(
        self, stream_id: UUID, events: Sequence[NewEvent], expected_version: int | None
    ) -> Appended:
        """See `EventStore.append`."""
        if not events:
            raise InvalidEventData("an append needs at least one event")
        if len({event.event_id for event in events}) != len(events):
            raise InvalidEventData("an event id appears twice in one batch")
        batch = prepare_batch(stream_id, events, self._clock())
        known = self._heads.known_hash(stream_id, expected_version)
        if expected_version is not None and known is not None:
            if len(events) == 1 and self._group is not None:
                grouped = await self._insert_grouped(
                    self._group, stream_id, expected_version, known, batch
                )
                if grouped is not None:
                    return grouped
                # Refused by a unique constraint: a re-send, a taken id or a conflict; below.
                self._heads.forget(stream_id)
            else:
                try:
                    return await self._insert(stream_id, expected_version, known, batch)
                except asyncpg.UniqueViolationError as error:
                    if error.constraint_name != "events_event_id_key":
                        self._heads.forget(stream_id)
                        actual = await stream_version(self._pool, stream_id)
                        raise VersionConflict(stream_id, expected_version, actual) from error
                    # An event id is taken: a re-send, or a conflict. The database decides below.
        for attempt in range(_RETRIES):
            try:
                return await self._append_once(stream_id, expected_version, batch)
            except asyncpg.UniqueViolationError as error:
                # Another writer committed first: the version (or the event id) is taken.
                retryable = (
                    error.constraint_name == "events_event_id_key" or expected_version is None
                )
                if retryable and attempt < _RETRIES - 1:
                    continue
                actual = await stream_version(self._pool, stream_id)
                raise VersionConflict(stream_id, expected_version, actual) from error
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _insert(
        self, stream_id: UUID, version: int, previous: bytes, batch: Batch
    ) -> Appended:
        versions = list(range(version + 1, version + 1 + len(batch.event_ids)))
        prev_hashes = []
        hashes = []
        for body, event_version in zip(batch.body_hashes, versions, strict=True):
            prev_hashes.append(previous)
            previous = link_hash(body, previous, event_version)
            hashes.append(previous)
        columns: tuple[list[Any], ...] = (
            batch.event_ids,
            versions,
            batch.types,
            batch.schema_versions,
            batch.data,
            batch.metadata,
            batch.occurred_at,
            batch.content_hashes,
            prev_hashes,
            hashes,
        )
        single = len(batch.event_ids) == 1
        with translate_errors():
            rows = await self._pool.fetch(
                _INSERT_ONE if single else _INSERT,
                stream_id,
                batch.recorded_at,
                *((column[0] for column in columns) if single else columns),
            )
        return self._appended(stream_id, rows, duplicate=False)

    async def _insert_grouped(
        self, group: GroupCommit, stream_id: UUID, version: int, previous: bytes, batch: Batch
    ) -> Appended | None:
        """One event on the fast path, written with its neighbours; None if it was refused."""
        row = (
            batch.event_ids[0],
            stream_id,
            version + 1,
            batch.types[0],
            batch.schema_versions[0],
            batch.data[0],
            batch.metadata[0],
            batch.occurred_at[0],
            batch.recorded_at,
            batch.content_hashes[0],
            previous,
            link_hash(batch.body_hashes[0], previous, version + 1),
        )
        with translate_errors():
            written = await group.insert(row)
        if written is None:
            return None
        placed = AppendedEvent(written.event_id, written.version, written.position, written.hash)
        return self._settled(stream_id, (placed,), duplicate=False)

    def _appended(
        self, stream_id: UUID, rows: list[asyncpg.Record], *, duplicate: bool
    ) -> Appended:
        appended = tuple(
            AppendedEvent(
                event_id=row["out_event_id"],
                version=row["out_version"],
                position=row["out_position"],
                hash=bytes(row["out_hash"]),
            )
            for row in rows
        )
        return self._settled(stream_id, appended, duplicate=duplicate)

    def _settled(
        self, stream_id: UUID, appended: tuple[AppendedEvent, ...], *, duplicate: bool
    ) -> Appended:
        if not duplicate:
            self._heads.remember(stream_id, appended[-1].version, appended[-1].hash)
            if self._on_append is not None:
                self._on_append()
        return Appended(
            stream_id=stream_id,
            version=appended[-1].version,
            events=appended,
            duplicate=duplicate,
        )

    async def _append_once(
        self, stream_id: UUID, expected_version: int | None, batch: Batch
    ) -> Appended:
        with translate_errors():
            try:
                rows = await self._pool.fetch(_APPEND_EVENTS, stream_id, expected_version, *batch)
            except asyncpg.PostgresError as error:
                if error.sqlstate == "HW001":
                    raise DuplicateEventConflict(list(batch.event_ids)) from error
                if error.sqlstate == "HW002":
                    actual = int(error.detail or 0)
                    raise VersionConflict(stream_id, expected_version, actual) from error
                raise
        return self._appended(stream_id, rows, duplicate=bool(rows[0]["out_duplicate"]))


async def stream_version(pool: Queryable, stream_id: UUID) -> int:
    """The stream's current version: the number of events in it (0 if it has none)."""
    with translate_errors():
        version = await pool.fetchval(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
        )
    return int(version)
