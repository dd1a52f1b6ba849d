"""A mutation fuzzer over real bundles: hundreds of byte flips and structural changes, none of
which may verify under Homeward's keys or end in a traceback."""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from coordinator.cli.audit_commands import run_offline
from events.verifier.bundle_checks import read_bundle, verify_bundle
from events.verifier.strict_json import NotStrictJson
from events.verifier.tlog_checkpoint import GENESIS, AccessAnchor, NoteCheckpoint
from evidence.checkpoint_note import sign_checkpoint
from evidence.keyring import SigningKeyring, sign_stream_head
from evidence.merkle_tree import MerkleTree
from evidence.streams_bundle import StreamToBundle, build_streams_bundle
from tests.test_bundle_verify import a_bundle, recorded_stream

pytestmark = pytest.mark.unit

Bundle = dict[str, Any]
SEED = 20250203
FLIPS = 300
CHANGES = 300
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1.5, 2**53, "", "x", [], {}, ["00" * 32]]


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """Homeward's signing keys."""
    return SigningKeyring(tmp_path_factory.mktemp("keys"))


def a_streams_bundle(keyring: SigningKeyring) -> Bundle:
    """A prosecution's bundle of two streams, one event of the second written as a stub, with
    its checkpoint note."""
    primary, linked = uuid4(), uuid4()
    streams = {primary: recorded_stream(primary, 3), linked: recorded_stream(linked, 4)}
    tree = MerkleTree()
    for at in range(4):
        for events in streams.values():
            if at < len(events):
                events[at]["leaf_index"] = tree.append(events[at]["hash"])
    body = NoteCheckpoint("homeward.example/fuzz", tree.size, tree.root(), AccessAnchor(0, GENESIS))
    forms = sign_checkpoint(keyring, body)
    signed = forms.json
    to_bundle = [
        StreamToBundle(
            stream_id,
            events,
            sign_stream_head(keyring, str(stream_id), len(events), events[-1]["hash"], tree.size),
            kind,
        )
        for (stream_id, events), kind in zip(
            streams.items(), ("prosecution", "operation"), strict=True
        )
    ]
    bundle = build_streams_bundle(
        primary,
        to_bundle,
        tree,
        signed,
        keyring.public_keys(),
        keyring=keyring,
        stub=lambda event_type, stream_id: stream_id == linked and event_type == "LeadRecorded",
        checkpoint_note=forms.note,
    )
    loaded: Bundle = json.loads(json.dumps(bundle))
    return loaded


def meaning(value: Any) -> str:
    """What a parsed file means, independent of member order and white space."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of every object and list in `value`."""
    if isinstance(value, dict | list):
        yield path
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from containers(item, (*path, key))


def at(value: Any, path: tuple[Any, ...]) -> Any:
    """The part of `value` at `path`."""
    for key in path:
        value = value[key]
    return value


def mutate(bundle: Bundle, rng: random.Random) -> Bundle:
    """One structural change somewhere in a copy of `bundle`."""
    mutant = copy.deepcopy(bundle)
    paths = list(containers(mutant))
    target = at(mutant, rng.choice(paths))
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    if not keys:
        return mutant
    key, other = rng.choice(keys), rng.choice(keys)
    operation = rng.choice(
        ["drop", "duplicate", "swap", "type", "number", "hex-case", "rename", "add"]
    )
    value = target[key]
    if operation == "drop":
        del target[key]
    elif operation == "duplicate":
        if isinstance(target, list):
            target.insert(key, copy.deepcopy(value))
        else:
            target[f"{key}_copy"] = copy.deepcopy(value)
    elif operation == "swap":
        target[key], target[other] = target[other], value
    elif operation == "type":
        target[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif operation == "number":
        target[key] = (value if type(value) is int else 0) + rng.choice([-1, 1, 2**31, 0.5])
    elif operation == "hex-case" and isinstance(value, str):
        target[key] = value.upper()
    elif operation == "rename" and isinstance(target, dict):
        target[str(key).upper()] = target.pop(key)
    elif operation == "add" and isinstance(target, dict):
        target["x-extra"] = value
    return mutant


def with_duplicate_name(bundle: Bundle, rng: random.Random) -> str:
    """The bundle's text with one member of one object written twice, the second changed."""
    paths = [path for path in containers(bundle) if isinstance(at(bundle, path), dict)]
    path = rng.choice([path for path in paths if at(bundle, path)])
    target = at(bundle, path)
    name = rng.choice(list(target))
    marker = "\x00duplicate\x00"
    copied = copy.deepcopy(bundle)
    parent = at(copied, path[:-1]) if path else None
    members = ", ".join(
        f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
        for key, value in target.items()
    )
    text = f'{{{members}, {json.dumps(name)}: "something else"}}'
    if parent is None:
        return text
    parent[path[-1]] = marker
    return json.dumps(copied, ensure_ascii=False).replace(json.dumps(marker), text, 1)


def check_rejected(text: bytes, original: str, keys: dict[str, Any], folder: Path) -> bool:
    """Assert the changed file is refused, by the library and the command; False if the change
    did not change what the file means (nothing to refuse)."""
    try:
        parsed = read_bundle(text)
    except NotStrictJson:
        parsed = None
    if parsed is not None and meaning(parsed) == original:
        return False
    if parsed is not None:
        report = verify_bundle(parsed, trusted_keys=keys)
        assert not report.ok, report.summary()
        assert report.summary().startswith("NOT verified")
    path = folder / "mutant.json"
    path.write_bytes(text)
    keys_path = folder / "keys.json"
    arguments = argparse.Namespace(audit_command="verify", file=path, keys=keys_path, key_ids=None)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_offline(arguments)
    assert code == 1, out.getvalue() + err.getvalue()
    said = (out.getvalue() + err.getvalue()).strip()
    assert said.startswith("NOT verified"), said
    assert "\n" not in said
    return True


@pytest.mark.parametrize("kind", ["one-stream", "several-streams"])
def test_no_byte_flip_or_structural_change_is_accepted(
    kind: str, keyring: SigningKeyring, tmp_path: Path
) -> None:
    """Byte flips, dropped, duplicated, swapped, retyped, renumbered and re-cased members: each is
    refused with a sentence, none verifies, none raises."""
    bundle = a_bundle(keyring, 5) if kind == "one-stream" else a_streams_bundle(keyring)
    keys = keyring.public_keys()
    (tmp_path / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    assert verify_bundle(bundle, trusted_keys=keys).proven
    original = meaning(bundle)
    text = json.dumps(bundle, ensure_ascii=False).encode("utf-8")
    rng = random.Random(SEED)
    refused = 0
    for _ in range(FLIPS):
        flipped = bytearray(text)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        refused += check_rejected(bytes(flipped), original, keys, tmp_path)
    for _ in range(CHANGES):
        mutant = mutate(bundle, rng)
        encoded = json.dumps(mutant, ensure_ascii=False).encode("utf-8")
        refused += check_rejected(encoded, original, keys, tmp_path)
    for _ in range(50):
        doubled = with_duplicate_name(bundle, rng).encode("utf-8")
        refused += check_rejected(doubled, original, keys, tmp_path)
    # Nearly every change changes the meaning; the few that do not (a flipped escape) are skipped.
    assert refused > (FLIPS + CHANGES) * 0.8
