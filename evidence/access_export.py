"""The access log exported for an offline check against its anchoring checkpoint
(events/verifier/access_anchor.py reads it; `coordinator audit verify-access-log` runs it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from events.store.connection import Queryable
from events.verifier.access_anchor import ACCESS_LOG_FORMAT
from events.verifier.chain import timestamp
from events.verifier.checkpoints import PublicKeyRecord
from evidence.bundle_parts import key_records
from evidence.checkpoint_note import cosigned_note

_ENTRIES = """
SELECT entry, accessed_at, actor_name, actor_role, operation_id, what, format, request_id,
       prev_hash, hash
  FROM access_log ORDER BY entry
"""


class NothingAnchored(LookupError):
    """No checkpoint note has been signed yet, so nothing anchors the access log."""


async def export_access_log(
    connection: Queryable, public_keys: Mapping[str, PublicKeyRecord]
) -> dict[str, Any]:
    """Every entry of the access log, with the latest checkpoint note (its anchor) and the keys.

    The note is read first: the access log only grows, so the entries read after it hold every
    entry it anchors.
    """
    size = await connection.fetchval("SELECT max(tree_size) FROM checkpoint_notes")
    note = None if size is None else await cosigned_note(connection, size)
    if note is None:
        raise NothingAnchored("no checkpoint note has been signed yet")
    entries = [
        {
            "entry": row["entry"],
            "accessed_at": timestamp(row["accessed_at"]),
            "actor_name": row["actor_name"],
            "actor_role": row["actor_role"],
            "operation_id": str(row["operation_id"]),
            "what": row["what"],
            "format": row["format"],
            "request_id": row["request_id"],
            "prev_hash": bytes(row["prev_hash"]).hex(),
            "hash": bytes(row["hash"]).hex(),
        }
        for row in await connection.fetch(_ENTRIES)
    ]
    return {
        "format": ACCESS_LOG_FORMAT,
        "exported_at": timestamp(datetime.now(UTC)),
        "entries": entries,
        "checkpoint_note": note,
        "public_keys": key_records(public_keys),
    }
