"""The OpenAPI descriptions of the audit routes (coordinator/http/audit.py)."""

from __future__ import annotations

from coordinator.http.access import LEGAL_AND_ADMIN
from coordinator.http.openapi import RouteDoc

AUDIT_ROUTE_DOCS = (
    RouteDoc(
        "GET", "/v1/operations/{operation_id}/audit-trail",
        "The operation's prosecution bundle; `?format=html` a printable page.",
        LEGAL_AND_ADMIN, statuses=(400, 404, 409), tag="audit",
        description="A `homeward-bundle/3` document: every event as stored with its hash chain, "
        "an inclusion proof of each into the latest signed checkpoint, the checkpoint, the "
        "signed stream head (the last version and hash at export), corrections beside the "
        "events they correct, the public keys, a statement of what it proves and a manifest "
        "signed at export over all of it. `?as_of=TIME` (ISO 8601 with a zone): the events "
        "recorded up to TIME, proven in the latest checkpoint signed by then (404 if that one "
        "does not cover them). `coordinator audit verify FILE --keys KEYS` checks it offline "
        "(exit 0 only under keys you supplied). The record is verified before it "
        "is answered: a stored row changed outside the service answers 409 `record_tampered` "
        "naming the event; 503 `audit_log_behind` when the log has not covered the operation "
        "yet.",
    ),
    RouteDoc(
        "GET", "/v1/audit/checkpoint", "The latest signed checkpoint of the Merkle log.",
        LEGAL_AND_ADMIN, statuses=(400, 404, 409), tag="audit",
        description="`{checkpoint: {origin, tree_size, root_hash, timestamp, key_id}, signature}`, "
        "Ed25519 over the RFC 8785 form of `checkpoint`. With `?from_size=N`, a "
        "`homeward-consistency/1` document proving this log extends the log of N events "
        "(`coordinator audit verify-consistency OLD NEW --keys KEYS` checks it offline); 409 "
        "`record_tampered` if the stored log no longer gives the signed roots. With "
        "`?format=note` (or `Accept: text/plain`): the same checkpoint as a C2SP signed note "
        "(origin, size, base64 root, `access-log <entries> <base64 head>`, then the log's and "
        "the witnesses' signature lines); with `?from_size=N` too, the body of a C2SP "
        "tlog-witness add-checkpoint request (`old N`, base64 proof lines, blank line, note).",
    ),
    RouteDoc(
        "POST", "/v1/audit/checkpoint/cosignatures",
        "A witness's cosignatures on a checkpoint note, checked and carried in bundles.",
        LEGAL_AND_ADMIN, statuses=(400, 404), success=201, tag="audit",
        description="Body (text/plain): a checkpoint note this log signed with C2SP "
        "`cosignature/v1` lines. Only lines of keys in the `witness_keys` setting are "
        "accepted, each verified (403 if none is, 400 if one fails); 404 if the log signed "
        "no such note. Answers `{tree_size, witnesses}`, 201.",
    ),
    RouteDoc(
        "GET", "/v1/audit/public-key", "Every key that signed checkpoints; the active one marked.",
        LEGAL_AND_ADMIN, tag="audit",
        description="`{active_key_id, keys: {key_id: {public_key, created_at, retired_at, "
        "active}}, origin, vkeys: {key_id: vkey}}`: raw Ed25519 public keys in base64; a key "
        "id is the first 16 hex digits of SHA-256 over the key; `origin` names the checkpoint "
        "notes' log, and each vkey is the key as a C2SP note verifier key "
        "(`origin+hex(key ID)+base64(0x01 || key)`). Save it as the `--keys` file of "
        "`coordinator audit verify`.",
    ),
    RouteDoc(
        "GET", "/v1/audit/access-log",
        "Who read which operation's details, events or audit trail, and when.",
        LEGAL_AND_ADMIN, statuses=(400,), tag="audit",
        description="`?operation_id=` one operation's reads; `?after=N&limit=M` pages (at most "
        "1000). `{entries: [{entry, accessed_at, actor_name, actor_role, operation_id, what, "
        "format, request_id, prev_hash, hash}], next_after}`. Entries are hash-chained: "
        "`hash` = SHA-256 of the RFC 8785 JSON `{body, entry, prev}`, `body` the SHA-256 of "
        "the entry's fields (evidence/access_chain.py). `?format=export`: every entry with the "
        "latest checkpoint note, whose `access-log <n> <base64 head>` line anchors the first n "
        "(`homeward-access-log/1`; `coordinator audit verify-access-log FILE --keys KEYS` "
        "checks it offline).",
    ),
)  # fmt: skip
