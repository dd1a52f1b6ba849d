"""What an export reads from the database: times written by PostgreSQL as the hash covers them."""

from __future__ import annotations

import uuid
from datetime import UTC

import asyncpg

from events.store.event_store import EventStore
from events.verifier.chain import timestamp
from evidence.export_rows import read_events
from tests.integrating import a_note

# (occurred_at, recorded_at) as PostgreSQL reads them: whole seconds, the last microsecond of a
# day, other zones, a leap day, before 1970, the first and last instants of years 1000 to 9999,
# and years before 1000, which timestamp() writes without leading zeros.
INSTANTS = [
    ("2025-01-01 00:00:00+00", "2025-01-01 00:00:00.000001+00"),
    ("2024-02-29 23:59:59.999999-05:30", "2024-03-01 05:29:59.999999+05:30"),
    ("1969-12-31 23:59:59.000001+00", "1970-01-01 00:00:00+00"),
    ("1000-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00"),
    ("0999-12-31 23:59:59.999999+00", "1000-01-01 04:59:59+05"),
    ("0001-01-01 00:00:00+00", "0987-06-05 04:03:02.1+00"),
]


async def test_an_export_reads_each_time_as_timestamp_writes_it(
    store: EventStore, database_url: str
) -> None:
    """In any session time zone, each time read is timestamp()'s text, or, in a year that
    PostgreSQL writes otherwise, the time itself for the bundle to write."""
    operation = uuid.uuid4()
    await store.append(operation, [a_note(n) for n in range(len(INSTANTS))])
    rogue = await asyncpg.connect(database_url)
    try:
        await rogue.execute("SET session_replication_role = replica")
        for version, (occurred, recorded) in enumerate(INSTANTS, start=1):
            await rogue.execute(
                "UPDATE events SET occurred_at = $1::text::timestamptz, "
                "recorded_at = $2::text::timestamptz WHERE stream_id = $3 AND version = $4",
                occurred,
                recorded,
                operation,
                version,
            )
    finally:
        await rogue.close()
    async with asyncpg.create_pool(
        database_url, min_size=1, max_size=1, server_settings={"timezone": "Asia/Kathmandu"}
    ) as zoned:
        events = await read_events(zoned, operation)
        stored = await zoned.fetch(
            "SELECT occurred_at, recorded_at FROM events WHERE stream_id = $1 ORDER BY version",
            operation,
        )
    for event, row in zip(events, stored, strict=True):
        for name in ("occurred_at", "recorded_at"):
            read, moment = event[name], row[name]
            assert (read if isinstance(read, str) else timestamp(read)) == timestamp(moment)
            assert isinstance(read, str) == (moment.astimezone(UTC).year >= 1000), moment
