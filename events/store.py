"""The event store: append to an operation's stream, read it back, read the whole log in order.

An append is one round trip. When the caller states the expected version and the store already
knows that version's hash (from a read or an earlier append: a committed version's hash never
changes), it is a plain INSERT with the chain computed here, and the unique (stream, version)
constraint refuses it if anyone else got there first; appends of one event on this path that
arrive together share one INSERT and one commit (events/group_commit.py). Otherwise it calls
`append_events` (events/migrations/0001_event_log.sql), which checks idempotency and the
version, chains the hashes and inserts in the database. Readers of the whole log see only rows
whose writing transaction is older than every running one, ordered by (epoch, transaction id,
position), so an event that commits late with a low position is never skipped (invariant 3).
Driver errors become the store's own errors here and nowhere else.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.canonical import NotCanonicalisable
from events.envelope import START, Appended, AppendedEvent, Cursor, Logged, NewEvent, Recorded
from events.errors import (
    DuplicateEventConflict,
    LogIsAppendOnly,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from events.group_commit import GroupCommit
from events.integrity import GENESIS, body_hash, content_hash, link_hash
from events.slots import constructor

# Appends without an expected version retry this often when another writer took the version.
_RETRIES = 5
_MAX_JSON_INTEGER = 2**53
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

# Readers of the whole log: only rows whose transaction is older than every running one (or of an
# older epoch), in (epoch, xid, position) order, served by events_global_order.
_READABLE = "(xid < pg_snapshot_xmin(pg_current_snapshot()) OR epoch < current_log_epoch())"
_READABLE_AFTER = f"""
WHERE (epoch, xid, position) > ($1, $2::xid8, $3) AND {_READABLE}
ORDER BY epoch, xid, position LIMIT $4
"""

# data and metadata come as text, a page of them parsed in one call (see _records).
RECORD_COLUMNS = """
    event_id, stream_id, version, position, epoch, xid, type, schema_version, data::text,
    metadata::text, occurred_at, recorded_at, content_hash, prev_hash, hash
"""


class InvalidEventData(StoreError):
    """An event's data cannot be stored faithfully (a number JSON cannot keep, a NUL byte)."""


# One encoder for every jsonb value: json.dumps with options would build a new one per call.
_JSONB = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _JSONB.encode(value)


async def init_connection(connection: asyncpg.Connection) -> None:
    """Teach a new connection to exchange jsonb as Python objects."""
    await connection.set_type_codec(
        "jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog"
    )


async def _keep_session(_connection: asyncpg.Connection) -> None:
    return None


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    idle_in_transaction_timeout_ms: int = 60_000,
) -> asyncpg.Pool:
    """A connection pool set up for the store.

    A transaction left idle holds back every reader of the log (they wait for it to finish), so
    the server ends such transactions after `idle_in_transaction_timeout_ms`.

    Connections are not reset on release (asyncpg's default costs a round trip per query): the
    service keeps no session state on pooled connections (no SET outside a transaction, no
    LISTEN, only transaction-level advisory locks).
    """
    with translate_errors():
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init_connection,
            reset=_keep_session,
            server_settings={
                "application_name": "homeward",
                "idle_in_transaction_session_timeout": str(idle_in_transaction_timeout_ms),
            },
        )


# The server is going down, coming up, or has no connection slot left: try again shortly.
_STARTING_OR_STOPPING = (
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn driver and connection errors into the store's errors: the one place that does it."""
    try:
        yield
    except asyncpg.PostgresError as error:
        state = getattr(error, "sqlstate", None)
        if state == "HW003":
            raise LogIsAppendOnly(str(error)) from error
        if state in {"22P05", "22021", "54000"}:
            raise InvalidEventData(f"the event data cannot be stored: {error}") from error
        if isinstance(error, _STARTING_OR_STOPPING):
            raise StoreUnavailable("the database is starting up or shutting down") from error
        if isinstance(error, asyncpg.PostgresConnectionError):
            # Class 08, e.g. ConnectionDoesNotExistError: the connection was lost under a query.
            raise StoreUnavailable("the connection to the database was lost") from error
        raise
    except (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError) as error:
        # InternalClientError: asyncpg's protocol was left mid-query when the server cut it off.
        raise StoreUnavailable("the database cannot be reached") from error


def _check_numbers(value: Any) -> None:
    # jsonb keeps numbers as exact decimals; beyond 2**53 they would come back as other numbers
    # than the ones hashed, and the record would no longer verify.
    if isinstance(value, dict):
        for item in value.values():
            _check_numbers(item)
    elif isinstance(value, list):
        for item in value:
            _check_numbers(item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidEventData("NaN and infinity are not JSON numbers")
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not -_MAX_JSON_INTEGER < value < _MAX_JSON_INTEGER
    ):
        raise InvalidEventData(f"the number {value} is too large to keep exactly")


# A rebuild makes one of each per event of the log (events/slots.py).
_new_recorded = constructor(Recorded)
_new_cursor = constructor(Cursor)


def payloads(rows: Sequence[asyncpg.Record]) -> list[tuple[Any, Any]]:
    """Each row's `data` and `metadata`, selected as text, parsed: all rows' in one JSON document,
    one call instead of two per event, which for a page of thousands cost more than the parsing.
    """
    if not rows:
        return []
    documents = json.loads(
        f"[{','.join([t for row in rows for t in (row['data'], row['metadata'])])}]"
    )
    return list(zip(documents[0::2], documents[1::2], strict=True))


def records(rows: Sequence[asyncpg.Record]) -> list[Recorded]:
    """Recorded events from rows of `RECORD_COLUMNS`."""
    return [
        _new_recorded(
            row[0],
            row[1],
            row[2],
            row[3],
            _new_cursor(row[4], row[5], row[3]),
            row[6],
            row[7],
            data,
            metadata,
            row[10],
            row[11],
            row[12],
            row[13],
            row[14],
        )
        for row, (data, metadata) in zip(rows, payloads(rows), strict=True)
    ]


class EventStore:
    """Append-only streams of events, one per rescue operation, on PostgreSQL."""

    def __init__(
        self,
        pool: asyncpg.Pool | asyncpg.Connection,
        *,
        on_append: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._on_append = on_append
        self._clock = clock
        # Only a store on a pool (autocommit) may remember heads: inside a caller's transaction
        # an append could still roll back, and its hash would not be a fact.
        self._heads: OrderedDict[UUID, tuple[int, bytes]] | None = (
            OrderedDict() if isinstance(pool, asyncpg.Pool) else None
        )
        # One-event appends on the fast path are written in groups (events/group_commit.py).
        self._group = GroupCommit(pool) if isinstance(pool, asyncpg.Pool) else None

    def _remember(self, stream_id: UUID, version: int, last_hash: bytes) -> None:
        if self._heads is None:
            return
        self._heads[stream_id] = (version, last_hash)
        self._heads.move_to_end(stream_id)
        if len(self._heads) > _KNOWN_HEADS:
            self._heads.popitem(last=False)

    def _forget(self, stream_id: UUID) -> None:
        if self._heads is not None:
            self._heads.pop(stream_id, None)

    def _known_hash(self, stream_id: UUID, version: int | None) -> bytes | None:
        if version == 0:
            return GENESIS
        if version is None or self._heads is None:
            return None
        head = self._heads.get(stream_id)
        return head[1] if head is not None and head[0] == version else None

    @property
    def pool(self) -> asyncpg.Pool | asyncpg.Connection:
        """What the store reads and writes through: a pool, or one connection (in a transaction)."""
        return self._pool

    async def append(
        self,
        stream_id: UUID,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = None,
    ) -> Appended:
        """Append `events` to a stream atomically.

        With `expected_version` the append succeeds only if the stream is at that version
        (0 for a new stream), else it raises `VersionConflict`. Re-sending events already
        appended with the same content appends nothing and answers as the first time; an
        event id recorded with other content raises `DuplicateEventConflict`.
        """
        if not events:
            raise InvalidEventData("an append needs at least one event")
        if len({event.event_id for event in events}) != len(events):
            raise InvalidEventData("an event id appears twice in one batch")
        recorded_at = self._clock()
        arguments = self._arguments(stream_id, events, recorded_at)
        known = self._known_hash(stream_id, expected_version)
        if expected_version is not None and known is not None:
            if len(events) == 1 and self._group is not None:
                grouped = await self._insert_grouped(
                    self._group, stream_id, expected_version, known, arguments
                )
                if grouped is not None:
                    return grouped
                # Refused by a unique constraint: a re-send, a taken id or a conflict; below.
                self._forget(stream_id)
            else:
                try:
                    return await self._insert(stream_id, expected_version, known, arguments)
                except asyncpg.UniqueViolationError as error:
                    if error.constraint_name != "events_event_id_key":
                        self._forget(stream_id)
                        actual = await self.stream_version(stream_id)
                        raise VersionConflict(stream_id, expected_version, actual) from error
                    # An event id is taken: a re-send, or a conflict. The database decides below.
        for attempt in range(_RETRIES):
            try:
                return await self._append_once(stream_id, expected_version, arguments)
            except asyncpg.UniqueViolationError as error:
                # Another writer committed first: the version (or the event id) is taken.
                retryable = (
                    error.constraint_name == "events_event_id_key" or expected_version is None
                )
                if retryable and attempt < _RETRIES - 1:
                    continue
                actual = await self.stream_version(stream_id)
                raise VersionConflict(stream_id, expected_version, actual) from error
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _arguments(
        self, stream_id: UUID, events: Sequence[NewEvent], recorded_at: datetime
    ) -> tuple[Any, ...]:
        content_hashes = []
        body_hashes = []
        for event in events:
            _check_numbers(event.data)
            _check_numbers(event.metadata)
            try:
                content_hashes.append(
                    event.content_hash or content_hash(event.type, event.schema_version, event.data)
                )
                body_hashes.append(
                    body_hash(
                        event_id=event.event_id,
                        stream_id=stream_id,
                        event_type=event.type,
                        schema_version=event.schema_version,
                        data=event.data,
                        metadata=event.metadata,
                        occurred_at=event.occurred_at,
                        recorded_at=recorded_at,
                    )
                )
            except NotCanonicalisable as error:
                raise InvalidEventData(str(error)) from error
        return (
            [event.event_id for event in events],
            [event.type for event in events],
            [event.schema_version for event in events],
            [event.data for event in events],
            [event.metadata for event in events],
            [event.occurred_at for event in events],
            recorded_at,
            content_hashes,
            body_hashes,
        )

    async def _insert(
        self, stream_id: UUID, version: int, previous: bytes, arguments: tuple[Any, ...]
    ) -> Appended:
        (event_ids, types, schema_versions, data, metadata, occurred) = arguments[:6]
        recorded_at, contents, bodies = arguments[6:]
        versions = list(range(version + 1, version + 1 + len(event_ids)))
        prev_hashes = []
        hashes = []
        for body, event_version in zip(bodies, versions, strict=True):
            prev_hashes.append(previous)
            previous = link_hash(body, previous, event_version)
            hashes.append(previous)
        columns: tuple[list[Any], ...] = (event_ids, versions, types, schema_versions, data)
        columns += (metadata, occurred, contents, prev_hashes, hashes)
        single = len(event_ids) == 1
        with translate_errors():
            rows = await self._pool.fetch(
                _INSERT_ONE if single else _INSERT,
                stream_id,
                recorded_at,
                *((column[0] for column in columns) if single else columns),
            )
        return self._appended(stream_id, rows, duplicate=False)

    async def _insert_grouped(
        self,
        group: GroupCommit,
        stream_id: UUID,
        version: int,
        previous: bytes,
        arguments: tuple[Any, ...],
    ) -> Appended | None:
        """One event on the fast path, written with its neighbours; None if it was refused."""
        (event_ids, types, schema_versions, data, metadata, occurred) = arguments[:6]
        recorded_at, contents, bodies = arguments[6:]
        chained = link_hash(bodies[0], previous, version + 1)
        row: tuple[Any, ...] = (event_ids[0], stream_id, version + 1, types[0], schema_versions[0])
        row += (data[0], metadata[0], occurred[0], recorded_at, contents[0], previous, chained)
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
            self._remember(stream_id, appended[-1].version, appended[-1].hash)
            if self._on_append is not None:
                self._on_append()
        return Appended(
            stream_id=stream_id,
            version=appended[-1].version,
            events=appended,
            duplicate=duplicate,
        )

    async def _append_once(
        self, stream_id: UUID, expected_version: int | None, arguments: tuple[Any, ...]
    ) -> Appended:
        with translate_errors():
            try:
                rows = await self._pool.fetch(
                    "SELECT * FROM append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    stream_id,
                    expected_version,
                    *arguments,
                )
            except asyncpg.PostgresError as error:
                if error.sqlstate == "HW001":
                    raise DuplicateEventConflict(list(arguments[0])) from error
                if error.sqlstate == "HW002":
                    actual = int(error.detail or 0)
                    raise VersionConflict(stream_id, expected_version, actual) from error
                raise
        return self._appended(stream_id, rows, duplicate=bool(rows[0]["out_duplicate"]))

    async def stream_version(self, stream_id: UUID) -> int:
        """The stream's current version: the number of events in it (0 if it has none)."""
        with translate_errors():
            version = await self._pool.fetchval(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
            )
        return int(version)

    async def read_stream(
        self, stream_id: UUID, *, from_version: int = 1, limit: int | None = None
    ) -> list[Recorded]:
        """A stream's events in version order, from `from_version` on."""
        with translate_errors():
            rows = await self._pool.fetch(
                f"SELECT {RECORD_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 "  # noqa: S608  fixed column list
                "ORDER BY version LIMIT $3",
                stream_id,
                from_version,
                limit,
            )
        events = records(rows)
        if events:
            self._remember(stream_id, events[-1].version, events[-1].hash)
        return events

    async def find_events(self, event_ids: Sequence[UUID]) -> list[Recorded]:
        """The recorded events among `event_ids`, in any stream (to recognise a re-send)."""
        with translate_errors():
            rows = await self._pool.fetch(
                f"SELECT {RECORD_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[]) "  # noqa: S608  fixed column list
                "ORDER BY stream_id, version",
                list(event_ids),
            )
        return records(rows)

    async def read_all(self, after: Cursor = START, *, limit: int = 500) -> list[Recorded]:
        """Up to `limit` events of the whole log after `after`, in global order.

        Only events whose transaction is older than every transaction still running are read;
        anything newer waits for the next read, so nothing is ever skipped.
        """
        with translate_errors():
            rows = await self._pool.fetch(
                f"SELECT {RECORD_COLUMNS} FROM events {_READABLE_AFTER}",  # noqa: S608  fixed text
                after.epoch,
                after.xid,
                after.position,
                limit,
            )
        return records(rows)

    async def read_all_hashes(self, after: Cursor = START, *, limit: int = 500) -> list[Logged]:
        """As `read_all`, but only each event's place and hash (what the Merkle log needs)."""
        with translate_errors():
            rows = await self._pool.fetch(
                "SELECT epoch, xid, position, stream_id, version, hash "  # noqa: S608  fixed text
                f"FROM events {_READABLE_AFTER}",
                after.epoch,
                after.xid,
                after.position,
                limit,
            )
        return [
            Logged(
                Cursor(row["epoch"], row["xid"], row["position"]),
                row["position"],
                row["stream_id"],
                row["version"],
                bytes(row["hash"]),
            )
            for row in rows
        ]

    async def has_unreadable(self, after: Cursor) -> bool:
        """Whether events past `after` are committed but held back by an older transaction."""
        # Asked of the last event in global order (events_global_order, read backwards), not as
        # EXISTS (... > after): the prepared statement's generic plan guessed that a third of the
        # log matches and scanned it whole, 40 ms at 100,000 events, at every idle read.
        with translate_errors():
            found = await self._pool.fetchval(
                "SELECT (epoch, xid, position) > ($1, $2::xid8, $3) FROM events "
                "ORDER BY epoch DESC, xid DESC, position DESC LIMIT 1",
                after.epoch,
                after.xid,
                after.position,
            )
        return bool(found)

    async def cursor_at(self, position: int) -> Cursor | None:
        """The cursor of the event at a global position (to resume from a position alone)."""
        with translate_errors():
            row = await self._pool.fetchrow(
                "SELECT epoch, xid, position FROM events WHERE position = $1", position
            )
        return None if row is None else Cursor(row["epoch"], row["xid"], row["position"])

    async def head(self) -> Cursor:
        """The cursor of the last readable event (START for an empty log)."""
        with translate_errors():
            row = await self._pool.fetchrow(
                f"SELECT epoch, xid, position FROM events WHERE {_READABLE} "  # noqa: S608  fixed text
                "ORDER BY epoch DESC, xid DESC, position DESC LIMIT 1"
            )
        return START if row is None else Cursor(row["epoch"], row["xid"], row["position"])

    async def reader_lag_seconds(self) -> float:
        """Age of the oldest running transaction that writes: how long readers may be held."""
        with translate_errors():
            age = await self._pool.fetchval(
                "SELECT coalesce(extract(epoch FROM max(now() - xact_start)), 0) "
                "FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
            )
        return float(age)


@asynccontextmanager
async def open_store(dsn: str, **pool_options: Any) -> AsyncIterator[EventStore]:
    """A store on its own pool, closed on exit (for scripts and tests)."""
    pool = await create_pool(dsn, **pool_options)
    try:
        yield EventStore(pool)
    finally:
        await pool.close()
