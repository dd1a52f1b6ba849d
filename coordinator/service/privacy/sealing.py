"""Sealing and opening the `personal` objects of an event's data.

Every object under a key named `personal`, anywhere in the data, is replaced by
`{"sealed": "AES-256-GCM", "subject_id", "nonce", "ciphertext"}`. Its subject is the person
whose object holds it: a survivor (`survivor_id` beside it), a missing person of a report
(`missing_person_id`) or a defendant (`defendant_id`); else the stream itself (a reporter, a
missing person reported without an id). The associated data binds the ciphertext to its event
and place, so it cannot be moved to another event or field. The event's hash covers the sealed
form, so destroying the key erases the data and every hash still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.verifier.canonical import canonical_json

ALGORITHM = "AES-256-GCM"
PERSONAL = "personal"
SEALED_KEYS = frozenset({"sealed", "subject_id", "nonce", "ciphertext"})
ERASED = {"erased": True}


def is_sealed(value: object) -> bool:
    """Whether a value is a sealed personal object."""
    return isinstance(value, dict) and set(value) == SEALED_KEYS and value["sealed"] == ALGORITHM


SUBJECT_KEYS = ("survivor_id", "missing_person_id", "defendant_id")
"""The ids beside a `personal` object that name whose data it is, in order of precedence."""


def _subject(container: Mapping[str, Any], operation_id: UUID) -> UUID:
    for key in SUBJECT_KEYS:
        named = container.get(key)
        if isinstance(named, str):
            try:
                return UUID(named)
            except ValueError:
                continue
    return operation_id


def personal_places(
    data: Any, operation_id: UUID, path: str = ""
) -> list[tuple[dict[str, Any], str, UUID]]:
    """Every (container, path, subject) whose `personal` holds a plain or sealed object."""
    found: list[tuple[dict[str, Any], str, UUID]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == PERSONAL and isinstance(value, dict):
                found.append((data, f"{path}/{key}", _subject(data, operation_id)))
            else:
                found.extend(personal_places(value, operation_id, f"{path}/{key}"))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(personal_places(item, operation_id, f"{path}/{index}"))
    return found


def _aad(event_id: UUID, subject: UUID, path: str) -> bytes:
    return f"homeward-personal|{event_id}|{subject}|{path}".encode()


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(data))
    return copied


def with_personal(data: dict[str, Any], replacements: Mapping[int, Any]) -> dict[str, Any]:
    """`data` with the `personal` object of each container in `replacements` (by `id`) replaced:
    new dicts and lists only on the way to a replaced object, the rest shared with `data` (which
    is not changed). It runs twice per append (the fingerprint, the sealing): 5.2 us against
    8.0 us for a copy through JSON then changed in place, for a note naming a witness
    (tests/test_fast_paths.py pins it to that plain way)."""

    def rebuilt(value: Any) -> Any:
        if isinstance(value, dict):
            replacement = replacements.get(id(value), _KEEP)
            return {
                key: replacement if key == PERSONAL and replacement is not _KEEP else rebuilt(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [rebuilt(item) for item in value]
        return value

    result: dict[str, Any] = rebuilt(data)
    return result


_KEEP = object()


async def seal(
    data: dict[str, Any],
    *,
    event_id: UUID,
    operation_id: UUID,
    key_for: Callable[[UUID], Awaitable[bytes]],
) -> dict[str, Any]:
    """A copy of `data` with every plain `personal` object sealed under its subject's key."""
    sealed: dict[int, Any] = {}
    for container, path, subject in personal_places(data, operation_id):
        plain = container[PERSONAL]
        if is_sealed(plain):
            continue
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(await key_for(subject)).encrypt(
            nonce, canonical_json(plain), _aad(event_id, subject, path)
        )
        sealed[id(container)] = {
            "sealed": ALGORITHM,
            "subject_id": str(subject),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ciphertext).decode(),
        }
    return with_personal(data, sealed) if sealed else _copy(data)


def subjects_of(data: Any, operation_id: UUID) -> set[UUID]:
    """The subjects whose keys are needed to open `data`."""
    return {
        UUID(container[PERSONAL]["subject_id"])
        for container, _path, _subject in personal_places(data, operation_id)
        if is_sealed(container[PERSONAL])
    }


def open_sealed(
    data: dict[str, Any], *, event_id: UUID, operation_id: UUID, keys: Mapping[UUID, bytes | None]
) -> dict[str, Any]:
    """A copy of `data` with sealed objects opened, or `{"erased": true}` where the key is gone."""
    opened = _copy(data)
    for container, path, _subject in personal_places(opened, operation_id):
        sealed = container[PERSONAL]
        if not is_sealed(sealed):
            continue
        subject = UUID(sealed["subject_id"])
        key = keys.get(subject)
        if key is None:
            container[PERSONAL] = dict(ERASED)
            continue
        try:
            plain = AESGCM(key).decrypt(
                base64.b64decode(sealed["nonce"]),
                base64.b64decode(sealed["ciphertext"]),
                _aad(event_id, subject, path),
            )
        except InvalidTag:
            container[PERSONAL] = dict(ERASED)
            continue
        container[PERSONAL] = json.loads(plain)
    return opened


def hide(data: dict[str, Any], operation_id: UUID) -> dict[str, Any]:
    """A copy of `data` with every `personal` object replaced by null (for roles without access)."""
    hidden = _copy(data)
    for container, _path, _subject in personal_places(hidden, operation_id):
        container[PERSONAL] = None
    return hidden


def fingerprint(key: bytes, event_type: str, schema_version: int, data: dict[str, Any]) -> bytes:
    """The fingerprint of version 1: keyed by one key for the whole record, on the plain data
    (personal objects included). Kept only to recognise re-sends of events stored with it."""
    document = {"type": event_type, "schema_version": schema_version, "data": data}
    return hmac.new(key, canonical_json(document), hashlib.sha256).digest()


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


async def subject_fingerprint(
    key: bytes,
    data: dict[str, Any],
    *,
    stream_id: UUID,
    event_id: UUID,
    event_type: str,
    schema_version: int,
    key_for: Callable[[UUID], Awaitable[bytes]],
) -> bytes:
    """What identifies a re-sent event: an HMAC of its plain content under a key of its own
    stream and event, where each personal object is first replaced by an HMAC of it under a key
    derived from its subject's data key.

    Two operations with identical reports get different values, and once a subject's data key
    is destroyed nobody (not even a holder of `fingerprint.key`) can test a guess of her name
    against the stored value: the digest that stands for it needs her key.
    """
    digests: dict[int, Any] = {}
    for container, _path, subject in personal_places(data, stream_id):
        plain = container[PERSONAL]
        if is_sealed(plain):
            continue
        subject_key = _mac(await key_for(subject), b"homeward-fingerprint")
        digests[id(container)] = {"digest": _mac(subject_key, canonical_json(plain)).hex()}
    # Read only: without personal objects the data is hashed as it is, with no copy.
    digested = with_personal(data, digests) if digests else data
    event_key = _mac(key, f"homeward-fingerprint|{stream_id}|{event_id}".encode())
    document = {"type": event_type, "schema_version": schema_version, "data": digested}
    return _mac(event_key, canonical_json(document))
