"""The worked example of the evidence format: one small record built with the project's own
functions, every intermediate hash written out in docs/format-example.md.

Usage: .venv/bin/python ops/format_example.py [--check]

Fixed Ed25519 keys (from fixed 32-byte seeds: RFC 8032's test keys 1 and 2), fixed ids and
times, and Ed25519's deterministic signatures make every number the same on every run. Three
events of one operation are hashed and chained (events/verifier/chain.py), put in a Merkle log of
six leaves (evidence/merkle_tree.py), signed as checkpoints of sizes 3 and 6 and cosigned by a
witness (`checkpoints`, the one place that knows the checkpoint's format), and exported as a
bundle with its stream head and signed manifest (evidence/bundle.py), which the offline verifier
then checks. `--check` exits 1 if the committed page differs from what the code builds now.
tests/test_format_example.py pins the page to the code and recomputes it independently.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.catalogue.registry import EVENT_TYPES, parse_event
from events.verifier.access_chain import access_body_hash, access_link_hash
from events.verifier.bundle_checks import read_bundle, verify_bundle
from events.verifier.canonical import canonical_json
from events.verifier.chain import GENESIS, body_hash, link_hash, timestamp
from events.verifier.checkpoints import SignedCheckpoint, key_id_of
from events.verifier.manifest import bundle_digest
from events.verifier.merkle_proofs import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from events.verifier.signed_note import COSIGNATURE_V1, ED25519, parse_note, verifier_key
from events.verifier.tlog_checkpoint import AccessAnchor, NoteCheckpoint
from evidence.bundle import build_bundle
from evidence.checkpoint_note import sign_checkpoint
from evidence.keyring import SigningKeyring, raw_public_key, sign_stream_head
from evidence.merkle_tree import MerkleTree
from evidence.witness import AddCheckpoint, check_and_cosign

PAGE = Path(__file__).resolve().parents[1] / "docs" / "format-example.md"

# RFC 8032 section 7.1, TEST 1 and TEST 2: anyone can check the public keys against the RFC.
LOG_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
WITNESS_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
ORIGIN = "homeward.example/format-example"
WITNESS = "witness.example/partner-ngo"
OPERATION_ID = UUID("3b5e7c9a-1d2f-4a6b-8c0d-2e4f6a8b0c1d")
KEY_CREATED = datetime(2026, 3, 1, tzinfo=UTC)
OLD_CHECKPOINT_AT = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
ACCESSED_AT = datetime(2026, 3, 14, 9, 2, 30, 125000, tzinfo=UTC)
NEW_CHECKPOINT_AT = datetime(2026, 3, 14, 9, 5, tzinfo=UTC)
EXPORTED_AT = datetime(2026, 3, 14, 9, 10, tzinfo=UTC)
OLD_SIZE, NEW_SIZE = 3, 6
# The operation's events: (event id, leaf index, type, payload as sent, occurred at, recorded at).
STORY: tuple[tuple[str, int, str, dict[str, Any], datetime, datetime], ...] = (
    (
        "6f1c2a3e-8b4d-4e5f-9a6b-7c8d9e0f1a2b",
        0,
        "CaseReported",
        {"channel": "family", "reference": "BD-2026-014", "suspected_country": "CN"},
        datetime(2026, 3, 10, 2, 15, tzinfo=UTC),
        datetime(2026, 3, 10, 2, 15, 3, 250000, tzinfo=UTC),
    ),
    (
        "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
        2,
        "LeadRecorded",
        {"source": "hotline", "reliability": "B", "summary": "seen near Lào Cai market"},
        datetime(2026, 3, 11, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 11, 14, 0, 1, 500, tzinfo=UTC),
    ),
    (
        "d4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a",
        4,
        "LocationConfirmed",
        {"country": "CN", "place": "Hekou", "venue": "factory"},
        datetime(2026, 3, 13, 8, 30, tzinfo=UTC),
        datetime(2026, 3, 13, 8, 30, 0, 1, tzinfo=UTC),
    ),
)
ACCESS_ENTRY = {
    "accessed_at": timestamp(ACCESSED_AT),
    "actor_name": "legal-2",
    "actor_role": "legal",
    "operation_id": str(OPERATION_ID),
    "what": "events",
    "format": "json",
    "request_id": "req-0042",
}


class Clock:
    """The keyring's clock, set by hand before each signature."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class EventFigures:
    """One event: as stored, its body's canonical text and hash, its link's text and hash."""

    stored: dict[str, Any]
    body_text: str
    body_hash: bytes
    link_text: str
    hash: bytes


@dataclass(frozen=True, slots=True)
class CheckpointFigures:
    """One checkpoint in both forms, as the log signs it, with the witness's cosignature."""

    tree_size: int
    json_form: dict[str, Any]
    message: str
    note: str  # the note as the log signs it
    cosignature_line: str
    cosigned_at: int  # POSIX seconds


@dataclass(frozen=True, slots=True)
class Example:
    """Every value the page shows."""

    log_public: bytes
    key_id: str
    note_key_id: bytes
    log_vkey: str
    witness_public: bytes
    witness_key_id: bytes
    witness_vkey: str
    events: tuple[EventFigures, ...]
    leaves: tuple[tuple[bytes, str], ...]  # (leaf, what it is)
    levels: list[list[bytes]]
    roots: dict[int, bytes]  # size -> root
    access_body: bytes
    access_hash: bytes
    old: CheckpointFigures
    new: CheckpointFigures
    consistency_proof: tuple[bytes, ...]
    head_message: str
    bundle: dict[str, Any]
    bundle_text: str
    digest: bytes
    manifest_message: str
    proven: str
    unproven: str
    tampered: str


def build() -> Example:
    """Build the example with the project's functions, in a temporary key folder."""
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock(OLD_CHECKPOINT_AT)
        keyring = fixed_keyring(Path(folder), clock)
        return _build(keyring, clock)


def _build(keyring: SigningKeyring, clock: Clock) -> Example:
    log_key = Ed25519PrivateKey.from_private_bytes(LOG_SEED)
    witness_key = Ed25519PrivateKey.from_private_bytes(WITNESS_SEED)
    log_public, witness_public = raw_public_key(log_key), raw_public_key(witness_key)
    events = recorded_events()
    tree, leaves = merkle_log(events)
    access_body = access_body_hash(ACCESS_ENTRY)
    access_hash = access_link_hash(access_body, 1, GENESIS)
    old, new = checkpoints(keyring, clock, tree, witness_key, access_hash)
    clock.now = EXPORTED_AT
    last = events[-1]
    head = sign_stream_head(keyring, str(OPERATION_ID), 3, last.hash, NEW_SIZE)
    bundle = build_bundle(
        OPERATION_ID,
        [event.stored for event in events],
        tree,
        SignedCheckpoint.from_json(new.json_form),
        keyring.public_keys(),
        stream_head=head,
        keyring=keyring,
        exported_at=EXPORTED_AT,
        checkpoint_note=new.note + new.cosignature_line,
    )
    bundle_text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    note_key = verifier_key(ORIGIN, ED25519, log_public)
    witness = verifier_key(WITNESS, COSIGNATURE_V1, witness_public)
    return Example(
        log_public=log_public,
        key_id=key_id_of(log_public),
        note_key_id=note_key.key_id,
        log_vkey=note_key.vkey(),
        witness_public=witness_public,
        witness_key_id=witness.key_id,
        witness_vkey=witness.vkey(),
        events=tuple(events),
        leaves=tuple(leaves),
        levels=tree.levels(),
        roots={size: tree.root(size) for size in range(1, NEW_SIZE + 1)},
        access_body=access_body,
        access_hash=access_hash,
        old=old,
        new=new,
        consistency_proof=tuple(tree.consistency_proof(OLD_SIZE, NEW_SIZE)),
        head_message=canonical_json(head.head.body()).decode(),
        bundle=bundle,
        bundle_text=bundle_text,
        digest=bundle_digest(bundle),
        manifest_message=canonical_json(bundle["manifest"]["manifest"]).decode(),
        **verdicts(bundle_text, keyring, witness),
    )


def fixed_keyring(folder: Path, clock: Clock) -> SigningKeyring:
    """A keyring in `folder` whose one key is the fixed log key, in the files the service keeps:
    `keyring.json` and `private/<key id>.pem` (PKCS #8, mode 0600)."""
    private_key = Ed25519PrivateKey.from_private_bytes(LOG_SEED)
    raw = raw_public_key(private_key)
    key_id = key_id_of(raw)
    (folder / "private").mkdir(mode=0o700)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(folder / "private" / f"{key_id}.pem", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    record = {
        "public_key": base64.b64encode(raw).decode("ascii"),
        "created_at": timestamp(KEY_CREATED),
        "retired_at": None,
    }
    keyring = {"active": key_id, "keys": {key_id: record}}
    (folder / "keyring.json").write_text(json.dumps(keyring), encoding="utf-8")
    return SigningKeyring(folder, clock=clock)


def recorded_events() -> list[EventFigures]:
    """The operation's events as the store records them: payload validated by the catalogue,
    body hash and link hash by events/verifier/chain.py (cross-checked against the canonical
    text shown)."""
    figures: list[EventFigures] = []
    prev = GENESIS
    for version, (event_id, leaf_index, event_type, sent, occurred, recorded) in enumerate(
        STORY, start=1
    ):
        schema_version = EVENT_TYPES[event_type].schema_version
        data = parse_event(event_type, schema_version, sent).model_dump(mode="json")
        metadata = {
            "recorded_by": "field-7",
            "role": "field",
            "request_id": f"req-000{version}",
            "correlation_id": f"req-000{version}",
        }
        body = body_hash(
            event_id=UUID(event_id),
            stream_id=OPERATION_ID,
            event_type=event_type,
            schema_version=schema_version,
            data=data,
            metadata=metadata,
            occurred_at=occurred,
            recorded_at=recorded,
        )
        body_text = canonical_json(
            {
                "data": data,
                "event_id": event_id,
                "metadata": metadata,
                "occurred_at": timestamp(occurred),
                "recorded_at": timestamp(recorded),
                "schema_version": schema_version,
                "stream_id": str(OPERATION_ID),
                "type": event_type,
            }
        )
        link_text = canonical_json({"body": body.hex(), "prev": prev.hex(), "version": version})
        event_hash = link_hash(body, prev, version)
        if hashlib.sha256(body_text).digest() != body or (
            hashlib.sha256(link_text).digest() != event_hash
        ):
            raise AssertionError("the text shown is not the text the chain hashes")
        stored = {
            "event_id": UUID(event_id),
            "stream_id": OPERATION_ID,
            "version": version,
            "position": 2 * leaf_index + 101,
            "type": event_type,
            "schema_version": schema_version,
            "data": data,
            "metadata": metadata,
            "occurred_at": occurred,
            "recorded_at": recorded,
            "prev_hash": prev,
            "hash": event_hash,
            "leaf_index": leaf_index,
        }
        figures.append(
            EventFigures(stored, body_text.decode(), body, link_text.decode(), event_hash)
        )
        prev = event_hash
    return figures


def merkle_log(events: list[EventFigures]) -> tuple[MerkleTree, list[tuple[bytes, str]]]:
    """A log of six leaves: this operation's events at 0, 2 and 4, other operations' between."""
    by_index = {event.stored["leaf_index"]: event for event in events}
    tree = MerkleTree()
    leaves: list[tuple[bytes, str]] = []
    for index in range(NEW_SIZE):
        event = by_index.get(index)
        if event is None:
            text = f"stand-in for an event of another operation, leaf {index}"
            leaf, what = hashlib.sha256(text.encode()).digest(), f'SHA-256("{text}")'
        else:
            leaf, what = event.hash, f"event version {event.stored['version']} (its hash)"
        if tree.append(leaf) != index:
            raise AssertionError("the log put a leaf elsewhere")
        leaves.append((leaf, what))
    return tree, leaves


def checkpoints(
    keyring: SigningKeyring,
    clock: Clock,
    tree: MerkleTree,
    witness_key: Ed25519PrivateKey,
    access_hash: bytes,
) -> tuple[CheckpointFigures, CheckpointFigures]:
    """The checkpoint section, the one place that knows the checkpoint's format: the log signs
    checkpoints of sizes 3 and 6 (evidence/checkpoint_note.py, as the integrator does), and the
    witness cosigns each after checking it extends the last it cosigned (evidence/witness.py).

    The access log held no entry at size 3 and one entry at size 6.
    """
    witness = verifier_key(WITNESS, COSIGNATURE_V1, raw_public_key(witness_key))
    figures: list[CheckpointFigures] = []
    last: NoteCheckpoint | None = None
    anchors = {OLD_SIZE: AccessAnchor(0, GENESIS), NEW_SIZE: AccessAnchor(1, access_hash)}
    for size, signed_at in ((OLD_SIZE, OLD_CHECKPOINT_AT), (NEW_SIZE, NEW_CHECKPOINT_AT)):
        clock.now = signed_at
        forms = sign_checkpoint(
            keyring, NoteCheckpoint(ORIGIN, size, tree.root(size), anchors[size])
        )
        old_size = 0 if last is None else last.tree_size
        request = AddCheckpoint(
            old_size, tuple(tree.consistency_proof(old_size, size)), parse_note(forms.note)
        )
        cosigned_at = int(signed_at.timestamp()) + 20
        cosigned = check_and_cosign(
            request,
            log_keys=keyring.public_keys(),
            last=last,
            private_key=witness_key,
            witness=witness,
            now=cosigned_at,
        )
        last = cosigned.checkpoint
        figures.append(
            CheckpointFigures(
                tree_size=size,
                json_form=forms.json.to_json(),
                message=forms.json.checkpoint.message().decode(),
                note=forms.note,
                cosignature_line=cosigned.line,
                cosigned_at=cosigned_at,
            )
        )
    return figures[0], figures[1]


def verdicts(bundle_text: str, keyring: SigningKeyring, witness: Any) -> dict[str, str]:
    """What the offline verifier says of the file: under the published keys with one required
    witness, under the file's own keys only, and after one letter of event 2 is changed."""
    keys = keyring.public_keys()
    proven = verify_bundle(
        read_bundle(bundle_text), trusted_keys=keys, witness_keys=[witness], required_witnesses=1
    )
    unproven = verify_bundle(read_bundle(bundle_text))
    tampered_bundle = read_bundle(bundle_text)
    tampered_bundle["events"][1]["data"]["summary"] = "seen near Lào Cai station"
    tampered = verify_bundle(tampered_bundle, trusted_keys=keys)
    if not proven.proven or not unproven.ok or unproven.proven or tampered.ok:
        raise AssertionError("the verifier does not judge the example as the page says")
    return {
        "proven": proven.summary(),
        "unproven": unproven.summary(),
        "tampered": tampered.summary(),
    }


def b64(raw: bytes) -> str:
    """Standard base64 (RFC 4648 section 4) with padding."""
    return base64.b64encode(raw).decode("ascii")


# ---- The page: hand-written explanation around the generated numbers. ----


def render(example: Example) -> str:
    """The whole of docs/format-example.md."""
    parts = [
        _introduction(),
        _keys_section(example),
        _events_section(example),
        _merkle_section(example),
        _inclusion_section(example),
        _consistency_section(example),
        _access_section(example),
        _checkpoint_section(example),
        _head_section(example),
        _bundle_section(example),
        _verdict_section(example),
        _checklist(),
    ]
    return "\n".join(parts)


def _row(label: str, value: str) -> str:
    return f"| {label} | `{value}` |"


def _cell(text: str) -> str:
    """Text for a table cell: a bar would end the cell."""
    return text.replace("|", "\\|")


def _table(rows: list[tuple[str, str]]) -> str:
    return "\n".join(["| value | |", "| --- | --- |", *(_row(*row) for row in rows)]) + "\n"


def _block(text: str, language: str = "text", anchor: str | None = None) -> str:
    opening = "" if anchor is None else f"<!-- example:{anchor} -->\n"
    body = text if text.endswith("\n") else text + "\n"
    return f"{opening}```{language}\n{body}```\n"


def _introduction() -> str:
    return f"""# The evidence format, worked through

One small record, built by the project's own code, with every intermediate value written out:
enough to write an independent verifier from this page and [evidence.md](evidence.md) alone, and
to check it against these numbers. The page is generated by `ops/format_example.py`
(`.venv/bin/python ops/format_example.py`; `--check` says whether it is current) and
`tests/test_format_example.py` fails if it differs from what the code builds, or if a
recomputation using only `hashlib` and `cryptography` does not reproduce its numbers. Do not
edit it by hand.

The record: operation `{OPERATION_ID}` has three events. They sit at leaves 0, 2 and 4 of a
Merkle log of six leaves; the other three leaves stand for other operations' events. The log
signed checkpoints at sizes {OLD_SIZE} and {NEW_SIZE}, a witness cosigned both, one read of the
operation was written to the access log in between, and the bundle exported after that is
proven against the checkpoint of size {NEW_SIZE}.

## Conventions

- **Bytes as hex**: lower-case, two digits a byte, no separators, no `0x`. A hash in JSON is
  exactly 64 such digits; upper case is refused, because a hash has one written form.
- **Bytes as base64**: the standard alphabet of RFC 4648 section 4 (`A`-`Z`, `a`-`z`, `0`-`9`,
  `+`, `/`), padded with `=`, no line breaks, and only the canonical encoding (the unused low
  bits of the last digit are zero); anything else is refused. Used for public keys, every
  signature, and the hashes inside a checkpoint note.
- **Text** is UTF-8. Ids are `str(UUID)`: lower-case hex, 8-4-4-4-12, with hyphens. Times are
  UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six digits of fraction.
- **Canonical JSON** is RFC 8785: no whitespace; object members sorted by the UTF-16 code units
  of their names (here all names are ASCII, so plain byte order); strings in double quotes
  with only `"` `\\` and control characters escaped (`\\b \\f \\n \\r \\t`, others `\\u00xx`),
  every other character written as itself in UTF-8 (`à` is the bytes `c3 a0`, not `\\u00e0`);
  integers in plain decimal; `null`, `true`, `false`. This example holds no fractional number.
- **SHA-256** is FIPS 180-4. `H(x)` below is SHA-256 of the bytes `x`; `||` joins bytes.
- **Ed25519** is RFC 8032's pure Ed25519 (no pre-hash, no context): 32-byte public keys,
  64-byte signatures, over exactly the bytes named. Its signatures are deterministic, so the
  signatures here come out the same on every run.
"""


def _keys_section(example: Example) -> str:
    note_id = example.note_key_id.hex()
    witness_id = example.witness_key_id.hex()
    rows = [
        ("log key seed (RFC 8032 TEST 1 secret key)", LOG_SEED.hex()),
        ("log public key", example.log_public.hex()),
        ("log public key, base64", b64(example.log_public)),
        ("key_id", example.key_id),
        ("note key ID", note_id),
        ("log vkey", example.log_vkey),
        ("witness key seed (RFC 8032 TEST 2 secret key)", WITNESS_SEED.hex()),
        ("witness public key", example.witness_public.hex()),
        ("witness key ID", witness_id),
        ("witness vkey", example.witness_vkey),
    ]
    return f"""## 1. Keys

The log signs with one Ed25519 key. Its **`key_id`** is the first 16 hex digits of
`H(public key)` (the 32 raw bytes). Bundles and `GET /v1/audit/public-key` list it as a key
record: `{{"public_key": base64 of the 32 bytes, "created_at": time, "retired_at": time or
null}}`. A signature on a JSON statement (checkpoint, stream head, manifest) counts only if the
statement's own `timestamp` lies between the key's `created_at` and `retired_at`.

The checkpoint note (section 7) names keys as C2SP signed-note does: the **note key ID** is the
first 4 bytes of `H(key name || 0x0A || signature type || public key)`, with the key name the
log's origin `{ORIGIN}` and type `0x01` (Ed25519). A witness's key has type `0x04`
(cosignature/v1) under its own name `{WITNESS}`. A vkey writes `name+hex(key ID)+base64(type ||
public key)`.

{_table(rows)}"""


def _events_section(example: Example) -> str:
    blocks = []
    for event in example.events:
        version = event.stored["version"]
        rows = [
            (f"event {version} body_hash", event.body_hash.hex()),
            (f"event {version} hash", event.hash.hex()),
        ]
        blocks.append(
            f"### Event {version}: {event.stored['type']}\n\n"
            f"The body document, canonical ({len(event.body_text.encode())} bytes of UTF-8):\n\n"
            + _block(event.body_text, anchor=f"body-{version}")
            + "\nThe link document, canonical:\n\n"
            + _block(event.link_text, anchor=f"link-{version}")
            + "\n"
            + _table(rows)
        )
    return """## 2. The hash chain of the operation

Each event has two hashes (events/verifier/chain.py):

```text
body_hash = H( canonical_json({"data", "event_id", "metadata", "occurred_at", "recorded_at",
                               "schema_version", "stream_id", "type"}) )
hash      = H( canonical_json({"body": hex(body_hash), "prev": hex(prev_hash),
                               "version": version}) )
```

- `data` is the payload exactly as stored: the catalogue fills in defaults before storing, so
  event 1 carries `"reporter": null`, `"missing_persons": []` and
  `"suspected_exploitation": "unknown"` although the client did not send them. Personal data
  would appear in its sealed form (`{"sealed", "subject_id", "nonce", "ciphertext"}`); this
  example has none.
- `event_id` and `stream_id` (the operation's id) are text; `occurred_at` and `recorded_at` are
  time text; `schema_version` is an integer; `type` is the event type's name.
- `prev_hash` is the previous event's `hash`; for version 1 it is 32 zero bytes, written as 64
  zeros in the link document.
- `version`, `prev_hash` and the event's place in the log are covered by the link and the Merkle
  proof, not by the body. `position` (the event's number in the whole log) is covered only by
  the bundle's manifest (section 9).

""" + "\n".join(blocks)


def _merkle_section(example: Example) -> str:
    levels = example.levels
    leaf_rows = [
        f"| {index} | `{leaf.hex()}` | `{levels[0][index].hex()}` | {what} |"
        for index, (leaf, what) in enumerate(example.leaves)
    ]
    node_rows = [
        ("node D[0:2]", levels[1][0].hex()),
        ("node D[2:4]", levels[1][1].hex()),
        ("node D[4:6]", levels[1][2].hex()),
        ("node D[0:4]", levels[2][0].hex()),
        ("root 3", example.roots[OLD_SIZE].hex()),
        ("root 6", example.roots[NEW_SIZE].hex()),
    ]
    formulas = (
        "node D[0:2] = H(0x01 || leaf hash 0 || leaf hash 1)\n"
        "node D[2:4] = H(0x01 || leaf hash 2 || leaf hash 3)\n"
        "node D[4:6] = H(0x01 || leaf hash 4 || leaf hash 5)\n"
        "node D[0:4] = H(0x01 || node D[0:2] || node D[2:4])\n"
        "root 3      = H(0x01 || node D[0:2] || leaf hash 2)\n"
        "root 6      = H(0x01 || node D[0:4] || node D[4:6])\n"
    )
    checks = [
        leaf_hash(example.leaves[0][0]) == levels[0][0],
        node_hash(levels[0][0], levels[0][1]) == levels[1][0],
        node_hash(levels[1][0], levels[0][2]) == example.roots[OLD_SIZE],
        node_hash(levels[2][0], levels[1][2]) == example.roots[NEW_SIZE],
    ]
    if not all(checks):
        raise AssertionError("the formulas on the page are not the tree's")
    first_leaf_input = "00" + example.leaves[0][0].hex()
    first_node_input = "01" + levels[0][0].hex() + levels[0][1].hex()
    return f"""## 3. The Merkle log

The log is RFC 9162 section 2.1 (the same as RFC 6962) over the event hashes, in the order the
log received them (evidence/merkle_tree.py). With `D[a:b]` the leaves from `a` up to, not
including, `b`:

- **leaf hash** = `H(0x00 || leaf)`, the leaf being the event's 32-byte `hash`;
- **node hash** = `H(0x01 || left || right)`;
- the root of `n > 1` leaves splits them at `k`, the largest power of two below `n`:
  `MTH(D[0:n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`; the root of one leaf is its leaf hash;
  the root of none is `H("")` = `{EMPTY_ROOT.hex()}`.

The prefix bytes `0x00` and `0x01` keep a leaf from being passed off as a node.

| index | leaf | leaf hash | what it is |
| --- | --- | --- | --- |
{chr(10).join(leaf_rows)}

The exact bytes of the first leaf hash and the first node hash, in hex:

{_block(f"leaf hash 0 = H({first_leaf_input})")}
{_block(f"node D[0:2] = H({first_node_input})")}
The nodes of the tree and its roots at sizes {OLD_SIZE} and {NEW_SIZE}:

{_block(formulas)}
{_table(node_rows)}"""


def inclusion_walk(
    leaf_hash_value: bytes, index: int, size: int, proof: list[bytes]
) -> list[tuple[int, int, str, bytes]]:
    """RFC 9162 section 2.1.3.2, step by step: (fn, sn, how the sibling was joined, result)."""
    steps = []
    fn, sn, r = index, size - 1, leaf_hash_value
    for sibling in proof:
        if fn & 1 or fn == sn:
            r, how = node_hash(sibling, r), "H(0x01 || sibling || r)"
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r, how = node_hash(r, sibling), "H(0x01 || r || sibling)"
        steps.append((fn, sn, how, r))
        fn, sn = fn >> 1, sn >> 1
    return steps


def _inclusion_section(example: Example) -> str:
    parts = [
        f"""## 4. Inclusion proofs

Each event of the bundle carries `inclusion_proof`: RFC 9162 `PATH(leaf_index, D[0:tree_size])`,
the sibling hashes from the leaf up to the root, as 64-digit hex. To check one (RFC 9162
section 2.1.3.2): set `fn = leaf_index`, `sn = tree_size - 1`, `r = H(0x00 || event hash)`;
for each sibling `p` in order: if `sn` is 0 the proof is too long; if `fn` is odd or
`fn == sn`, set `r = H(0x01 || p || r)` and then, while `fn` is even and not 0, halve `fn` and
`sn`; otherwise set `r = H(0x01 || r || p)`; then halve `fn` and `sn`. At the end `sn` must be 0
and `r` the checkpoint's root. Here `tree_size` is {NEW_SIZE}.
"""
    ]
    for event in example.events:
        stored = example.bundle["events"][event.stored["version"] - 1]
        proof = [bytes.fromhex(node) for node in stored["inclusion_proof"]]
        index = stored["leaf_index"]
        steps = inclusion_walk(leaf_hash(event.hash), index, NEW_SIZE, proof)
        if steps[-1][3] != example.roots[NEW_SIZE] or not verify_inclusion(
            event.hash, index, NEW_SIZE, proof, example.roots[NEW_SIZE]
        ):
            raise AssertionError("an inclusion proof on the page does not lead to the root")
        rows = [
            f"| {at} | `{node.hex()}` | {_cell(how)} | {fn} | {sn} | `{r.hex()}` |"
            for at, (node, (fn, sn, how, r)) in enumerate(zip(proof, steps, strict=True), 1)
        ]
        parts.append(
            f"Event {stored['version']}, leaf {index}: start with "
            f"`r = {leaf_hash(event.hash).hex()}`, `fn = {index}`, `sn = {NEW_SIZE - 1}`. "
            "Each row shows `fn` and `sn` after the step, before the final halving.\n\n"
            "| step | sibling | r becomes | fn | sn | r |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
        )
    return "\n".join(parts)


def consistency_walk(
    old_size: int, new_size: int, old_root: bytes, proof: tuple[bytes, ...]
) -> list[tuple[bytes, str, bytes, bytes]]:
    """RFC 9162 section 2.1.4.2, step by step: (node c, what was done, fr, sr) per node."""
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    steps = [(path[0], "first node: fr = sr = c", fr, sr)]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr, sr, how = (
                node_hash(c, fr),
                node_hash(c, sr),
                "fr = H(0x01||c||fr), sr = H(0x01||c||sr)",
            )
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr, how = node_hash(sr, c), "sr = H(0x01||sr||c)"
        steps.append((c, how, fr, sr))
        fn, sn = fn >> 1, sn >> 1
    return steps


def _consistency_section(example: Example) -> str:
    old_root, new_root = example.roots[OLD_SIZE], example.roots[NEW_SIZE]
    proof = example.consistency_proof
    if not verify_consistency(OLD_SIZE, NEW_SIZE, old_root, new_root, proof):
        raise AssertionError("the consistency proof on the page does not verify")
    steps = consistency_walk(OLD_SIZE, NEW_SIZE, old_root, proof)
    if (steps[-1][2], steps[-1][3]) != (old_root, new_root):
        raise AssertionError("the walk on the page does not end at the two roots")
    proof_rows = [(f"consistency proof node {at}", node.hex()) for at, node in enumerate(proof)]
    walk_rows = [
        f"| {at} | `{c.hex()}` | {_cell(how)} | `{fr.hex()}` | `{sr.hex()}` |"
        for at, (c, how, fr, sr) in enumerate(steps)
    ]
    return f"""## 5. The consistency proof from size {OLD_SIZE} to size {NEW_SIZE}

A consistency proof shows that the log of the newer checkpoint extends the log of the older
one: RFC 9162 `PROOF(old_size, D[0:new_size])`, empty when `old_size` is 0 or equals
`new_size`. It is what `GET /v1/audit/checkpoint?from_size={OLD_SIZE}` serves (as hex in the
JSON consistency document, as base64 lines in a C2SP tlog-witness request) and what the witness
checks before cosigning. Here the proof holds leaf hash 2, leaf hash 3, node D[0:2] and node
D[4:6]:

{_table(proof_rows)}
To check it (RFC 9162 section 2.1.4.2): if `old_size` is a power of two, put the old root
before the proof (not so here: {OLD_SIZE} is not). Set `fn = old_size - 1`, `sn = new_size - 1`;
while `fn` is odd, halve both. Set `fr = sr =` the first node. For each further node `c`: if
`sn` is 0 fail; if `fn` is odd or `fn == sn`, set `fr = H(0x01 || c || fr)` and
`sr = H(0x01 || c || sr)`, then, while `fn` is even and not 0, halve `fn` and `sn`; otherwise set
`sr = H(0x01 || sr || c)`; then halve `fn` and `sn`. At the end `sn` must be 0, `fr` the old root
and `sr` the new root. Here `fn` starts at {OLD_SIZE - 1} and `sn` at {NEW_SIZE - 1}.

| step | node c | what is done | fr | sr |
| --- | --- | --- | --- | --- |
{chr(10).join(walk_rows)}

`fr` ends at root {OLD_SIZE} and `sr` at root {NEW_SIZE}.
"""


def _access_section(example: Example) -> str:
    body_text = canonical_json(ACCESS_ENTRY).decode()
    link_text = canonical_json(
        {"body": example.access_body.hex(), "entry": 1, "prev": GENESIS.hex()}
    ).decode()
    rows = [
        ("access entry 1 body_hash", example.access_body.hex()),
        ("access entry 1 hash", example.access_hash.hex()),
        ("access entry 1 hash, base64", b64(example.access_hash)),
    ]
    return f"""## 6. The access log entry the checkpoint anchors

Every read of an operation's record is an entry of the access log, chained like the events
(events/verifier/access_chain.py): `body_hash = H(canonical_json` of the seven members below`)`,
`hash = H(canonical_json({{"body": hex(body_hash), "entry": n, "prev": hex(prev_hash)}}))`,
entry 1 chained to 32 zero bytes. Between the two checkpoints, `legal-2` read the operation's
events:

{_block(body_text, anchor="access-body")}
{_block(link_text, anchor="access-link")}
{_table(rows)}"""


def _checkpoint_section(example: Example) -> str:
    old, new = example.old, example.new
    log_line, witness_line = new.note.split("\n\n")[1], new.cosignature_line
    log_raw = base64.b64decode(log_line.split(" ")[2])
    witness_raw = base64.b64decode(witness_line.split(" ")[2])
    note_text = new.note.split("\n\n")[0] + "\n"
    cosigned_message = f"cosignature/v1\ntime {new.cosigned_at}\n{note_text}"
    rows = [
        ("checkpoint 6 signature", new.json_form["signature"]),
        ("note 6 root, base64", b64(example.roots[NEW_SIZE])),
        ("note 6 log signature key ID", log_raw[:4].hex()),
        ("note 6 log signature", log_raw[4:].hex()),
        ("note 6 cosignature key ID", witness_raw[:4].hex()),
        ("note 6 cosignature time", witness_raw[4:12].hex()),
        ("note 6 cosignature", witness_raw[12:].hex()),
        ("checkpoint 3 signature", old.json_form["signature"]),
    ]
    return f"""## 7. The checkpoints

*This section describes the checkpoint as the code built it when the page was generated
(`checkpoints` in `ops/format_example.py`, calling `sign_checkpoint` of
evidence/checkpoint_note.py as the integrator does, and the witness's `check_and_cosign` of
evidence/witness.py).* Each checkpoint is signed in two forms by the same key at the same
moment.

**The JSON checkpoint** states `tree_size`, `root_hash` (hex), `timestamp`, `key_id` and
`origin`, which is always `homeward` in this form. The signature is Ed25519 over exactly the
canonical JSON of those five members; the bundle carries
`{{"checkpoint": {{...}}, "signature": base64}}`. The signed bytes of checkpoint {NEW_SIZE}:

{_block(new.message, anchor="checkpoint-message")}
and of checkpoint {OLD_SIZE}:

{_block(old.message, anchor="old-checkpoint-message")}
**The checkpoint note** is a C2SP `tlog-checkpoint` in a C2SP `signed-note`. Its text is the
origin line (this deployment's log name, here `{ORIGIN}`), the tree size in decimal without
leading zeros, the root in base64, and the extension line `access-log <entries> <base64 head
hash>` (the access log's length and last entry hash when it was signed: 0 and 32 zero bytes
before any read), each line ending in a newline (0x0A). Then an empty line, then signature lines
`— <key name> <base64(4-byte key ID || signature)>` (the dash is U+2014, then one space). The log
signs the text's UTF-8 bytes, every newline included and the empty line excluded. A witness
adds a line whose base64 decodes to key ID (4 bytes) || time (8 bytes, unsigned big-endian,
POSIX seconds) || Ed25519 signature over

{_block(cosigned_message, anchor="cosigned-message")}
The note of checkpoint {NEW_SIZE} as the bundle carries it, with the witness's line:

{_block(new.note + new.cosignature_line, anchor="note")}
The note of checkpoint {OLD_SIZE}, which the witness cosigned first (with no earlier checkpoint,
against the empty log):

{_block(old.note + old.cosignature_line, anchor="old-note")}
{_table(rows)}"""


def _head_section(example: Example) -> str:
    head = example.bundle["stream_head"]
    return f"""## 8. The signed stream head

Inclusion proofs show that each event in the bundle was recorded; they cannot show that no event
came after the last one. So at export the log's key signs the operation's head: the statement
`stream-head`, origin `homeward`, the operation id, its last `version` and that event's `hash`
as `head_hash`, the `tree_size` of the checkpoint the bundle is proven against, `timestamp` and
`key_id`. Ed25519 over the canonical JSON of those eight members:

{_block(example.head_message, anchor="head-message")}
{_table([("stream head signature", head["signature"])])}"""


def _bundle_section(example: Example) -> str:
    manifest = example.bundle["manifest"]
    without = {name: value for name, value in example.bundle.items() if name != "manifest"}
    canonical = canonical_json(without)
    rows = [
        ("bundle digest (manifest sha256)", example.digest.hex()),
        ("manifest signature", manifest["signature"]),
    ]
    return f"""## 9. The bundle and its manifest

The file a court receives (`homeward-bundle/3`). Its members are exactly these (`as_of` may be
added by a time-travel export; `checkpoint_note` is absent for checkpoints signed before notes
existed). Each event holds its recorded fields, `prev_hash`, `hash`, `leaf_index` and
`inclusion_proof`; `corrections` lists the `EventCorrected` events by the event they correct
(none here); `public_keys` are the key records of every key of the keyring.

Last, the exporter signs a **manifest**: `sha256` is `H(canonical_json(the bundle without its
"manifest" member))`, here over {len(canonical)} bytes, and the signature is Ed25519 over the
canonical JSON of `{{"statement": "bundle-manifest", "origin": "homeward", "sha256", "timestamp",
"key_id"}}`. It covers what no other check covers: the statement, `exported_at`, each event's
`position`, `corrections`, the `public_keys` block and the note. The signed bytes:

{_block(example.manifest_message, anchor="manifest-message")}
{_table(rows)}
The whole file (indentation and member order do not matter: only the canonical form is hashed):

{_block(example.bundle_text, "json", anchor="bundle")}"""


def _verdict_section(example: Example) -> str:
    return f"""## 10. What the verifier says

With the published keys and the witness's key, requiring one witness
(`coordinator audit verify bundle.json --keys keys.json --witness-keys witness.vkeys
--require-witnesses 1`), exit 0:

{_block(example.proven)}
With no keys of the reader's own (`coordinator audit verify bundle.json`), every check holds but
the key is one the file carries, so nothing is proven about who signed; exit 3:

{_block(example.unproven)}
With `seen near Lào Cai market` changed to `seen near Lào Cai station` in event 2, exit 1:

{_block(example.tampered)}"""


def _checklist() -> str:
    return """## 11. An independent verifier, in order

This is the order `verify_bundle` (events/verifier/bundle_checks.py) checks a one-stream
bundle; the first failure stops it. [evidence.md](evidence.md#verifying-a-bundle-offline) gives
each check's failure reason.

1. Parse the file as strict JSON: refuse a name given twice in one object, and `NaN` or
   `Infinity`.
2. The outline: `format` is `homeward-bundle/3`; the members are exactly `format`,
   `operation_id`, `exported_at`, `events`, `corrections`, `checkpoint`, `stream_head`,
   `public_keys`, `statement`, `manifest`, and optionally `as_of` and `checkpoint_note`;
   `events` is a non-empty list; the text members are text; `public_keys` are key records whose
   key ids are the first 16 hex digits of `H(public key)`.
3. Choose the keys: the reader's own (`--keys`), or the file's records of the key ids the
   reader pinned (`--key-id`), else the file's own keys, and then nothing is proven.
4. The JSON checkpoint's shape and its signature (section 7), the key in use at its `timestamp`.
5. The checkpoint note, if present: its text parses; a log signature line of one of the keys
   (note key ID under the origin's name) verifies; it states the JSON checkpoint's size and root;
   each line of a trusted witness verifies; enough witnesses cosigned.
6. Each event in order: exactly its fields with their JSON types; `stream_id` is `operation_id`;
   `version` is 1, 2, 3...; `hash` and `prev_hash` are lower-case hex; ids and times are in the
   hashed text form and `body_hash` and the link hash recompute to `hash` (section 2);
   `prev_hash` is the previous `hash` (zeros for version 1); the inclusion proof leads to the
   checkpoint's root (section 4).
7. `corrections` equals the index derived from the events.
8. The stream head's shape and signature (section 8); it is of this operation, at the
   checkpoint's `tree_size`, and ends at the last event's `version` and `hash`.
9. The manifest's signature, and its `sha256` equals `H` of the file's canonical form without
   `manifest` (section 9).
"""


def main() -> int:
    """Write the page, or with --check say whether the committed page is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    arguments = parser.parse_args()
    page = render(build())
    if arguments.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE} is not what the code builds now: run ops/format_example.py")
            return 1
        print(f"{PAGE} is current")
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
