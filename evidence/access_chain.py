"""The hash chain of the access log (invariant 8), computed the same way everywhere.

    body_hash = SHA-256(canonical({"accessed_at", "actor_name", "actor_role", "operation_id",
                                   "what", "format", "request_id"}))
    hash      = SHA-256(canonical({"body": hex(body_hash), "entry": n, "prev": hex(prev_hash)}))

The database computes the second line inside `record_access` (0006_access_log.sql), which alone
knows the previous entry at commit; `link_hash` here is the reference, computed by the offline
verifier's events/verifier/access_chain.py, so both read the chain the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from events.verifier.access_chain import access_body_hash, access_link_hash
from events.verifier.chain import GENESIS, timestamp


def body_hash(
    *,
    accessed_at: datetime,
    actor_name: str,
    actor_role: str,
    operation_id: UUID,
    what: str,
    page_format: str,
    request_id: str,
) -> bytes:
    """SHA-256 of everything an access-log entry records except its place in the chain."""
    document = {
        "accessed_at": timestamp(accessed_at),
        "actor_name": actor_name,
        "actor_role": actor_role,
        "operation_id": str(operation_id),
        "what": what,
        "format": page_format,
        "request_id": request_id,
    }
    return access_body_hash(document)


def link_hash(body: bytes, entry: int, prev: bytes) -> bytes:
    """The entry's hash: its body hash chained to the previous entry's hash at its number."""
    return access_link_hash(body, entry, prev)


def first_broken_entry(entries: Iterable[Mapping[str, Any]]) -> int | None:
    """The number of the first entry that does not chain (None when all do), from entry 1.

    Each entry is a stored row: entry, accessed_at (a datetime), actor_name, actor_role,
    operation_id, what, format, request_id, prev_hash and hash (bytes).
    """
    previous, expected = GENESIS, 1
    for row in entries:
        body = body_hash(
            accessed_at=row["accessed_at"],
            actor_name=row["actor_name"],
            actor_role=row["actor_role"],
            operation_id=row["operation_id"],
            what=row["what"],
            page_format=row["format"],
            request_id=row["request_id"],
        )
        number = row["entry"]
        if (
            number != expected
            or bytes(row["prev_hash"]) != previous
            or link_hash(body, number, previous) != bytes(row["hash"])
        ):
            return int(expected)
        previous, expected = bytes(row["hash"]), number + 1
    return None
