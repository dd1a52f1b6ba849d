"""The access log's hash chain (invariant 8), as the offline verifier recomputes it:

    body_hash = SHA-256(canonical({"accessed_at", "actor_name", "actor_role", "operation_id",
                                   "what", "format", "request_id"}))
    hash      = SHA-256(canonical({"body": hex(body_hash), "entry": n, "prev": hex(prev_hash)}))

with every value the text an exported entry writes, and entry 1 chained to 32 zero bytes.
Standard library and the verifier's own modules only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from events.verifier.canonical import canonical_json

BODY_FIELDS = (
    "accessed_at",
    "actor_name",
    "actor_role",
    "operation_id",
    "what",
    "format",
    "request_id",
)


def access_body_hash(fields: Mapping[str, Any]) -> bytes:
    """SHA-256 of everything an entry records except its place in the chain (texts)."""
    return hashlib.sha256(canonical_json({name: fields[name] for name in BODY_FIELDS})).digest()


def access_link_hash(body: bytes, entry: int, prev: bytes) -> bytes:
    """The entry's hash: its body hash chained to the previous entry's hash at its number."""
    return hashlib.sha256(
        canonical_json({"body": body.hex(), "entry": entry, "prev": prev.hex()})
    ).digest()
