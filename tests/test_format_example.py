"""The worked example (docs/format-example.md) is what the code builds, and a reader using only
hashlib and cryptography, never the project's verifier, reproduces every number on the page.

The recomputations below are written from the page and RFC 6962/9162, RFC 8032 and C2SP
signed-note alone, as an expert writing an independent verifier would.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "format-example.md"
SCRIPT = ROOT / "ops" / "format_example.py"
Bundle = dict[str, Any]


def load_script() -> ModuleType:
    """ops/format_example.py as a module (ops/ is not a package)."""
    spec = importlib.util.spec_from_file_location("format_example", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page() -> str:
    """The committed page."""
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bundle(page: str) -> Bundle:
    """The bundle file the page shows."""
    loaded: Bundle = json.loads(block(page, "bundle"))
    return loaded


def value(page: str, label: str) -> str:
    """The value of the table row `label`."""
    found = re.search(rf"^\| {re.escape(label)} \| `([^`]+)` \|$", page, re.MULTILINE)
    assert found is not None, f"the page has no row {label!r}"
    return found.group(1)


def block(page: str, anchor: str) -> str:
    """The text of the code block marked `<!-- example:anchor -->`, as written."""
    found = re.search(rf"<!-- example:{anchor} -->\n```\w*\n(.*?)```\n", page, re.DOTALL)
    assert found is not None, f"the page has no block {anchor!r}"
    return found.group(1)


def line(page: str, anchor: str) -> str:
    """A one-line block's text, without its newline."""
    return block(page, anchor).removesuffix("\n")


def sha256(data: bytes) -> bytes:
    """H(x)."""
    return hashlib.sha256(data).digest()


def canonical(document: Any) -> bytes:
    """RFC 8785 for documents of text, integers, null and ASCII names (all this page holds):
    sorted names, no whitespace, UTF-8, only quotes, backslashes and controls escaped."""
    assert not _has_float(document), "a fraction needs RFC 8785's number form"
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def _has_float(document: Any) -> bool:
    if isinstance(document, dict):
        return any(_has_float(item) for item in document.values())
    if isinstance(document, list):
        return any(_has_float(item) for item in document)
    return isinstance(document, float)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether the Ed25519 `signature` by `public_key` covers `message`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def public_key_of(seed: bytes) -> bytes:
    """The Ed25519 public key of a 32-byte seed (RFC 8032 section 5.1.5)."""
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def mth(leaf_hashes: list[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes, by its recursive definition."""
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = 1 << ((len(leaf_hashes) - 1).bit_length() - 1)
    return sha256(b"\x01" + mth(leaf_hashes[:k]) + mth(leaf_hashes[k:]))


def root_from_path(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2; None if the proof is too long or too short."""
    fn, sn, r = index, size - 1, sha256(b"\x00" + leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2
    return r if sn == 0 else None


def consistent(old_size: int, new_size: int, old: bytes, new: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2, for 0 < old_size < new_size."""
    path = ([old] if old_size & (old_size - 1) == 0 else []) + proof
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = sha256(b"\x01" + c + fr), sha256(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            sr = sha256(b"\x01" + sr + c)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and fr == old and sr == new


def leaves_of(page: str) -> list[tuple[bytes, bytes]]:
    """The page's leaf table: (leaf, leaf hash) by index."""
    rows = re.findall(r"^\| (\d+) \| `([0-9a-f]{64})` \| `([0-9a-f]{64})` \|", page, re.MULTILINE)
    assert [int(index) for index, _, _ in rows] == list(range(len(rows)))
    return [(bytes.fromhex(leaf), bytes.fromhex(hashed)) for _, leaf, hashed in rows]


def log_public_key(page: str) -> bytes:
    """The log's public key, from its seed on the page."""
    return public_key_of(bytes.fromhex(value(page, "log key seed (RFC 8032 TEST 1 secret key)")))


def test_the_committed_page_is_what_the_code_builds_now(page: str) -> None:
    """The page cannot drift from the code: regenerating it gives the committed text."""
    script = load_script()
    assert script.render(script.build()) == page, "run .venv/bin/python ops/format_example.py"


def test_the_keys_and_their_ids_follow_from_the_seeds(page: str, bundle: Bundle) -> None:
    """Public keys from the seeds, key_id from the public key, note key IDs from name and type."""
    log_key = log_public_key(page)
    witness_seed = bytes.fromhex(value(page, "witness key seed (RFC 8032 TEST 2 secret key)"))
    witness_key = public_key_of(witness_seed)
    # RFC 8032 section 7.1, TEST 1 and TEST 2.
    assert log_key.hex().startswith("d75a980182b10ab7")
    assert witness_key.hex().startswith("3d4017c3e843895a")
    assert value(page, "log public key") == log_key.hex()
    assert value(page, "log public key, base64") == base64.b64encode(log_key).decode()
    key_id = sha256(log_key).hex()[:16]
    assert value(page, "key_id") == key_id
    assert bundle["public_keys"][key_id]["public_key"] == base64.b64encode(log_key).decode()
    origin = line(page, "note").split("\n")[0]
    note_id = sha256(origin.encode() + b"\n\x01" + log_key)[:4]
    assert value(page, "note key ID") == note_id.hex()
    witness_name = value(page, "witness vkey").split("+")[0]
    witness_id = sha256(witness_name.encode() + b"\n\x04" + witness_key)[:4]
    assert value(page, "witness key ID") == witness_id.hex()
    material = base64.b64encode(b"\x04" + witness_key).decode()
    assert value(page, "witness vkey") == f"{witness_name}+{witness_id.hex()}+{material}"


def test_each_event_hashes_and_chains_as_the_page_shows(page: str, bundle: Bundle) -> None:
    """The body document of each event hashes to its body_hash, its link to its hash, and each
    links to the one before (the first to 32 zero bytes)."""
    previous = bytes(32)
    for event in bundle["events"]:
        version = event["version"]
        names = ("data", "event_id", "metadata", "occurred_at", "recorded_at", "schema_version")
        body_document = {name: event[name] for name in (*names, "stream_id", "type")}
        body_text = canonical(body_document)
        assert body_text == line(page, f"body-{version}").encode("utf-8")
        body = sha256(body_text)
        assert value(page, f"event {version} body_hash") == body.hex()
        assert bytes.fromhex(event["prev_hash"]) == previous
        link = canonical({"body": body.hex(), "prev": previous.hex(), "version": version})
        assert link == line(page, f"link-{version}").encode("ascii")
        assert sha256(link).hex() == event["hash"] == value(page, f"event {version} hash")
        previous = bytes.fromhex(event["hash"])
    assert "Lào Cai".encode() in line(page, "body-2").encode()


def test_the_leaves_nodes_and_roots_recompute(page: str, bundle: Bundle) -> None:
    """Leaf hashes are H(0x00 || leaf), the roots RFC 9162's MTH, the signed root the root of 6;
    each event is the leaf at its leaf_index."""
    leaves = leaves_of(page)
    assert len(leaves) == 6
    for leaf, hashed in leaves:
        assert sha256(b"\x00" + leaf) == hashed
    hashes = [hashed for _, hashed in leaves]
    node = {
        "node D[0:2]": sha256(b"\x01" + hashes[0] + hashes[1]),
        "node D[2:4]": sha256(b"\x01" + hashes[2] + hashes[3]),
        "node D[4:6]": sha256(b"\x01" + hashes[4] + hashes[5]),
    }
    node["node D[0:4]"] = sha256(b"\x01" + node["node D[0:2]"] + node["node D[2:4]"])
    for label, expected in node.items():
        assert value(page, label) == expected.hex()
    assert value(page, "root 3") == mth(hashes[:3]).hex()
    assert value(page, "root 6") == mth(hashes).hex()
    assert bundle["checkpoint"]["checkpoint"]["root_hash"] == mth(hashes).hex()
    for event in bundle["events"]:
        assert leaves[event["leaf_index"]][0].hex() == event["hash"]


def test_every_inclusion_proof_leads_to_the_signed_root(bundle: Bundle) -> None:
    """Each event's proof leads from its leaf to the checkpoint's root; a changed node does not."""
    checkpoint = bundle["checkpoint"]["checkpoint"]
    root, size = bytes.fromhex(checkpoint["root_hash"]), checkpoint["tree_size"]
    for event in bundle["events"]:
        proof = [bytes.fromhex(node) for node in event["inclusion_proof"]]
        leaf = bytes.fromhex(event["hash"])
        assert root_from_path(leaf, event["leaf_index"], size, proof) == root
        forged = [bytes(32), *proof[1:]]
        assert root_from_path(leaf, event["leaf_index"], size, forged) != root
        assert root_from_path(leaf, event["leaf_index"] ^ 1, size, proof) != root


def test_the_consistency_proof_leads_from_root_3_to_root_6(page: str) -> None:
    """The proof ties the checkpoint of 3 to the checkpoint of 6; a changed node does not."""
    proof = [bytes.fromhex(value(page, f"consistency proof node {at}")) for at in range(4)]
    old, new = bytes.fromhex(value(page, "root 3")), bytes.fromhex(value(page, "root 6"))
    assert consistent(3, 6, old, new, proof)
    assert not consistent(3, 6, old, new, [*proof[:2], bytes(32), proof[3]])
    assert not consistent(3, 6, new, new, proof)


def test_the_json_statements_verify_under_the_log_key(page: str, bundle: Bundle) -> None:
    """The checkpoint, the stream head and the manifest: Ed25519 over their canonical JSON, and
    the manifest states H of the bundle's canonical form without it."""
    key = log_public_key(page)
    checkpoint = bundle["checkpoint"]
    assert canonical(checkpoint["checkpoint"]) == line(page, "checkpoint-message").encode()
    assert verify(
        key, base64.b64decode(checkpoint["signature"]), canonical(checkpoint["checkpoint"])
    )
    assert value(page, "checkpoint 6 signature") == checkpoint["signature"]
    old = json.loads(line(page, "old-checkpoint-message"))
    assert old["root_hash"] == value(page, "root 3")
    old_signature = base64.b64decode(value(page, "checkpoint 3 signature"))
    assert verify(key, old_signature, canonical(old))
    head = bundle["stream_head"]
    assert canonical(head["head"]) == line(page, "head-message").encode()
    assert verify(key, base64.b64decode(head["signature"]), canonical(head["head"]))
    assert head["head"]["head_hash"] == bundle["events"][-1]["hash"]
    manifest = bundle["manifest"]
    digest = sha256(canonical({name: v for name, v in bundle.items() if name != "manifest"}))
    assert (
        manifest["manifest"]["sha256"]
        == digest.hex()
        == value(page, "bundle digest (manifest sha256)")
    )
    assert canonical(manifest["manifest"]) == line(page, "manifest-message").encode()
    assert verify(key, base64.b64decode(manifest["signature"]), canonical(manifest["manifest"]))
    changed = canonical({**manifest["manifest"], "sha256": sha256(b"another file").hex()})
    assert not verify(key, base64.b64decode(manifest["signature"]), changed)


def test_the_checkpoint_note_and_its_cosignature_verify(page: str, bundle: Bundle) -> None:
    """The note states the signed tree; the log's line and the witness's line verify as C2SP
    signed-note and tlog-cosignature say."""
    note = bundle["checkpoint_note"]
    assert note == block(page, "note")
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    origin, size, root, anchor = text.removesuffix("\n").split("\n")
    checkpoint = bundle["checkpoint"]["checkpoint"]
    assert (int(size), base64.b64decode(root).hex()) == (
        checkpoint["tree_size"],
        checkpoint["root_hash"],
    )
    assert root == value(page, "note 6 root, base64")
    log_line, witness_line = signatures.removesuffix("\n").split("\n")
    dash, name, encoded = log_line.split(" ")
    assert (dash, name) == ("\u2014", origin)
    raw = base64.b64decode(encoded, validate=True)
    assert raw[:4] == sha256(origin.encode() + b"\n\x01" + log_public_key(page))[:4]
    assert verify(log_public_key(page), raw[4:], text.encode())
    assert raw[4:].hex() == value(page, "note 6 log signature")
    _, witness, encoded = witness_line.split(" ")
    raw = base64.b64decode(encoded, validate=True)
    witness_key = public_key_of(
        bytes.fromhex(value(page, "witness key seed (RFC 8032 TEST 2 secret key)"))
    )
    assert raw[:4] == sha256(witness.encode() + b"\n\x04" + witness_key)[:4]
    (moment,) = struct.unpack(">Q", raw[4:12])
    message = f"cosignature/v1\ntime {moment}\n{text}"
    assert message == block(page, "cosigned-message")
    assert verify(witness_key, raw[12:], message.encode())
    assert not verify(witness_key, raw[12:], message.replace("\n6\n", "\n7\n").encode())
    assert anchor.startswith("access-log 1 ")


def test_the_access_log_anchor_is_the_entry_on_the_page(page: str, bundle: Bundle) -> None:
    """The note's access-log line holds the hash of the access entry the page shows."""
    body_text = line(page, "access-body")
    assert canonical(json.loads(body_text)) == body_text.encode()
    body = sha256(body_text.encode())
    link = canonical({"body": body.hex(), "entry": 1, "prev": bytes(32).hex()})
    assert link == line(page, "access-link").encode()
    head = sha256(link)
    assert value(page, "access entry 1 hash") == head.hex()
    anchor = bundle["checkpoint_note"].split("\n")[3]
    assert anchor == f"access-log 1 {base64.b64encode(head).decode()}"
    old_anchor = block(page, "old-note").split("\n")[3]
    assert old_anchor == f"access-log 0 {base64.b64encode(bytes(32)).decode()}"
