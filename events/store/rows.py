"""Rows of the events table as recorded events: the columns read, and their decoding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from events.store.envelope import Cursor, Recorded
from events.store.slots import constructor

# A rebuild makes one of each per event of the log (events/store/slots.py has the figures).
_new_recorded = constructor(Recorded)
_new_cursor = constructor(Cursor)

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
    """Recorded events from rows of `RECORD_COLUMNS` (in that order)."""
    recorded = []
    for row, (data, metadata) in zip(rows, payloads(rows), strict=True):
        (
            event_id,
            stream_id,
            version,
            position,
            epoch,
            xid,
            event_type,
            schema_version,
            _data_text,
            _metadata_text,
            occurred_at,
            recorded_at,
            content_hash,
            prev_hash,
            event_hash,
        ) = row
        recorded.append(
            _new_recorded(
                event_id,
                stream_id,
                version,
                position,
                _new_cursor(epoch, xid, position),
                event_type,
                schema_version,
                data,
                metadata,
                occurred_at,
                recorded_at,
                content_hash,
                prev_hash,
                event_hash,
            )
        )
    return recorded
