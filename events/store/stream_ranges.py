"""Reading the log by ranges of stream ids, up to a fixed end: how a rebuild splits the work.

Streams are independent of each other, so a projection that folds each operation on its own can
be rebuilt by several processes at once, each taking whole ranges of stream ids and reading their
events in stream order (the `(stream_id, version)` index) rather than in global order. Every
range stops at the same `end`, the store's `head()` when the rebuild began (the last event every
reader could see): all events up to it are committed and none after it is read, so the parts
add up to exactly the log up to `end`.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from events.store.connection import Connection, Queryable, translate_errors
from events.store.envelope import Cursor, Recorded
from events.store.rows import RECORD_COLUMNS, records

_FIRST = UUID(int=0)

_COUNT_UNTIL = "SELECT count(*) FROM events WHERE (epoch, xid, position) <= ($1, $2::xid8, $3)"
# Where each share of the log's events begins, by stream id ($1: the fractions where shares meet).
_BOUNDARIES = "SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY stream_id) FROM events"
_PAGE = f"""
SELECT {RECORD_COLUMNS} FROM events
 WHERE (stream_id, version) > ($1, $2) AND (epoch, xid, position) <= ($3, $4::xid8, $5)
"""  # noqa: S608  fixed column list
_ORDER = " ORDER BY stream_id, version LIMIT $6"
_PAGE_BOUNDED = f"{_PAGE} AND stream_id < $7{_ORDER}"
_PAGE_TO_THE_END = f"{_PAGE}{_ORDER}"


@dataclass(frozen=True, slots=True)
class StreamRange:
    """Stream ids from `first` (inclusive) up to `until` (exclusive; None: to the last)."""

    first: UUID
    until: UUID | None


async def count_until(connection: Connection, end: Cursor) -> int:
    """How many events the log holds up to and including `end`."""
    return int(await connection.fetchval(_COUNT_UNTIL, end.epoch, end.xid, end.position))


async def stream_ranges(connection: Connection, parts: int) -> list[StreamRange]:
    """Up to `parts` ranges that cover every stream id, each holding about as many events.

    The shares are cut where the log's events are, not evenly over the id space: operation ids
    need not be random.
    """
    if parts <= 1:
        return [StreamRange(_FIRST, None)]
    firsts = await connection.fetchval(_BOUNDARIES, [share / parts for share in range(1, parts)])
    bounds = [_FIRST, *sorted({first for first in firsts or () if first != _FIRST})]
    return [
        StreamRange(first, bounds[n + 1] if n + 1 < len(bounds) else None)
        for n, first in enumerate(bounds)
    ]


async def read_range(
    pool: Queryable, part: StreamRange, end: Cursor, *, after: Recorded | None, limit: int
) -> list[Recorded]:
    """Up to `limit` events of `part`'s streams after `after`, up to `end`, in stream order."""
    stream, version = (part.first, 0) if after is None else (after.stream_id, after.version)
    arguments = [stream, version, end.epoch, end.xid, end.position, limit]
    with translate_errors():
        if part.until is None:
            rows = await pool.fetch(_PAGE_TO_THE_END, *arguments)
        else:
            rows = await pool.fetch(_PAGE_BOUNDED, *arguments, part.until)
    return records(rows)
