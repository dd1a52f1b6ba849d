"""Rows of the events table as recorded events: the columns read, and their decoding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from events.store.envelope import Cursor, Recorded

# data and metadata come as text, a page of them parsed in one call (see payloads).
RECORD_COLUMNS = """
    event_id, stream_id, version, position, epoch, xid, type, schema_version, data::text,
    metadata::text, occurred_at, recorded_at, content_hash, prev_hash, hash
"""


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
    """Recorded events from rows of `RECORD_COLUMNS`, read by column name."""
    return [
        Recorded(
            event_id=row["event_id"],
            stream_id=row["stream_id"],
            version=row["version"],
            position=row["position"],
            cursor=Cursor(row["epoch"], row["xid"], row["position"]),
            type=row["type"],
            schema_version=row["schema_version"],
            data=data,
            metadata=metadata,
            occurred_at=row["occurred_at"],
            recorded_at=row["recorded_at"],
            content_hash=row["content_hash"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )
        for row, (data, metadata) in zip(rows, payloads(rows), strict=True)
    ]
