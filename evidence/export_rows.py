"""What an export reads of a stream: its events as stored, in the text the hash covers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from events.store.connection import Queryable
from events.store.rows import payloads
from events.verifier.findings import collector_paused

# Ids, hashes and times come as the text the bundle holds and the hash covers, written by the
# database rather than converted here event by event; data and metadata come as text, parsed
# together in one call (see read_events). to_char writes a time as events.verifier.chain.timestamp
# does only in the years 1000 to 9999 (it pads a smaller year, timestamp does not; a larger one
# is no Python datetime): a time outside them comes as a time, for build_bundle to write.
_EVENTS = """
WITH hashed AS (
    SELECT tstzrange('1000-01-01 00:00:00+00', '10000-01-01 00:00:00+00') AS years,
           'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' AS time
)
SELECT e.event_id::text AS event_id, e.stream_id::text AS stream_id, e.version, e.position,
       e.type, e.schema_version, e.data::text AS data, e.metadata::text AS metadata,
       CASE WHEN e.occurred_at <@ h.years
            THEN to_char(e.occurred_at AT TIME ZONE 'UTC', h.time) END AS occurred_text,
       CASE WHEN e.recorded_at <@ h.years
            THEN to_char(e.recorded_at AT TIME ZONE 'UTC', h.time) END AS recorded_text,
       CASE WHEN NOT e.occurred_at <@ h.years THEN e.occurred_at END AS occurred_at,
       CASE WHEN NOT e.recorded_at <@ h.years THEN e.recorded_at END AS recorded_at,
       encode(e.prev_hash, 'hex') AS prev_hash, encode(e.hash, 'hex') AS hash, l.leaf_index
  FROM events e CROSS JOIN hashed h LEFT JOIN merkle_leaves l ON l.position = e.position
 WHERE e.stream_id = $1 AND ($2::timestamptz IS NULL OR e.recorded_at <= $2)
 ORDER BY e.version
"""


async def read_events(
    pool: Queryable, operation_id: UUID, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """The operation's events as stored (recorded up to `as_of`, if given), in version order,
    with their leaf index if any: ids, hashes and (but for rare years) times in their hashed
    text, data and metadata parsed."""
    rows = await pool.fetch(_EVENTS, operation_id, as_of)
    events = []
    with collector_paused():
        for row, (data, metadata) in zip(rows, payloads(rows), strict=True):
            event = dict(row)
            event["data"], event["metadata"] = data, metadata
            occurred, recorded = event.pop("occurred_text"), event.pop("recorded_text")
            if occurred is not None:
                event["occurred_at"] = occurred
            if recorded is not None:
                event["recorded_at"] = recorded
            events.append(event)
    return events
