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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from coordinator.service.privacy.places import (
    ALGORITHM,
    PERSONAL,
    Place,
    is_sealed,
    sealable_places,
    sealed_places,
    with_replaced,
    with_replaced_shallow,
)
from events.verifier.canonical import canonical_json

ERASED = {"erased": True}


def _aad(event_id: UUID | str, subject: UUID | str, path: str) -> bytes:
    return f"homeward-personal|{event_id}|{subject}|{path}".encode()


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(data))
    return copied


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """What sealing and fingerprinting need of one subject's data key, made once per key (the
    sealing cache keeps it, so an append neither rebuilds the cipher nor derives the key again).
    """

    cipher: AESGCM
    fingerprint_mac: Mac

    @classmethod
    def of(cls, data_key: bytes) -> SubjectKey:
        """The cipher and the fingerprint key of a data key."""
        return cls(AESGCM(data_key), Mac(_mac(data_key, b"homeward-fingerprint")))


KeyFor = Callable[[UUID], Awaitable[SubjectKey]]
"""The subject's key for sealing, created on first use."""


def subjects_of(data: Any, operation_id: UUID) -> set[UUID]:
    """The subjects whose keys are needed to open `data`."""
    return {
        UUID(container[key]["subject_id"])
        for container, key, _path, _subject in sealed_places(data, operation_id)
    }


def open_sealed(
    data: dict[str, Any], *, event_id: UUID, operation_id: UUID, keys: Mapping[UUID, bytes | None]
) -> dict[str, Any]:
    """A copy of `data` with sealed values opened, or `{"erased": true}` where the key is gone."""
    opened: dict[tuple[int, str], Any] = {}
    for container, key, path, _subject in sealed_places(data, operation_id):
        sealed = container[key]
        subject = UUID(sealed["subject_id"])
        data_key = keys.get(subject)
        if data_key is None:
            opened[(id(container), key)] = dict(ERASED)
            continue
        try:
            plain = AESGCM(data_key).decrypt(
                base64.b64decode(sealed["nonce"]),
                base64.b64decode(sealed["ciphertext"]),
                _aad(event_id, subject, path),
            )
        except InvalidTag:
            opened[(id(container), key)] = dict(ERASED)
            continue
        opened[(id(container), key)] = json.loads(plain)
    return with_replaced(data, opened) if opened else _copy(data)


def hide(data: dict[str, Any], operation_id: UUID) -> dict[str, Any]:
    """A copy of `data` with every `personal` object and sealed value replaced by null (for
    roles without access)."""
    hidden: dict[tuple[int, str], Any] = {
        (id(container), key): None
        for container, key, _path, _subject in sealable_places(data, operation_id)
        if key == PERSONAL or is_sealed(container[key])
    }
    hidden.update(
        {(id(c), key): None for c, key, _path, _subject in sealed_places(data, operation_id)}
    )
    return with_replaced(data, hidden) if hidden else _copy(data)


def fingerprint(key: bytes, event_type: str, schema_version: int, data: dict[str, Any]) -> bytes:
    """The fingerprint of version 1: keyed by one key for the whole record, on the plain data
    (personal objects included). Kept only to recognise re-sends of events stored with it."""
    document = {"type": event_type, "schema_version": schema_version, "data": data}
    return _mac(key, canonical_json(document))


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


class Mac:
    """HMAC-SHA256 under one key, its keyed state made once: each digest copies it (1.3 us)
    instead of keying a new HMAC (2.1 us; best of 7 timeit repeats), the same value
    (tests/test_fast_paths.py)."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, message: bytes) -> bytes:
        """The HMAC of `message`."""
        keyed = self._keyed.copy()
        keyed.update(message)
        return keyed.digest()


@dataclass(frozen=True, slots=True)
class Sealed:
    """An event's data as stored, and the fingerprint of its plain content."""

    data: dict[str, Any]
    fingerprint: bytes


async def sealed_with_fingerprint(
    key: Mac,
    data: dict[str, Any],
    places: Sequence[Place],
    *,
    stream_id: UUID,
    event_id: UUID,
    event_type: str,
    schema_version: int,
    key_for: KeyFor,
) -> Sealed:
    """`data` with the plain value at each of `places` (from `sealable_places`, none sealed
    already) sealed under its subject's key, and what identifies a re-send of it.

    The fingerprint is an HMAC of the plain content under a key of its own stream and event
    (`key` is the HMAC under `fingerprint.key`), where each of those values is first replaced by
    an HMAC of it under a key derived from its subject's data key. Two operations with identical
    reports get different values, and once a subject's data key is destroyed nobody (not even a
    holder of `fingerprint.key`) can test a guess of her name against the stored value: the
    digest that stands for it needs her key.

    One pass makes both, so the plain values go nowhere else: each is read once, digested and
    sealed, and the data as stored is a copy (`data` is not changed).
    """
    event_text, stream_text = str(event_id), str(stream_id)
    digests: dict[tuple[int, str], Any] = {}
    sealed: dict[tuple[int, str], Any] = {}
    for container, name, path, subject in places:
        plain = canonical_json(container[name])
        subject_key = await key_for(subject)
        subject_text = stream_text if subject == stream_id else str(subject)
        nonce = secrets.token_bytes(12)
        place = (id(container), name)
        digests[place] = {"digest": subject_key.fingerprint_mac.digest(plain).hex()}
        sealed[place] = {
            "sealed": ALGORITHM,
            "subject_id": subject_text,
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(
                subject_key.cipher.encrypt(nonce, plain, _aad(event_text, subject_text, path))
            ).decode(),
        }
    # Without sealable values the data is hashed and stored as it is, with no copy.
    digested = with_replaced_shallow(data, digests) if digests else data
    event_key = key.digest(f"homeward-fingerprint|{stream_text}|{event_text}".encode())
    document = {"type": event_type, "schema_version": schema_version, "data": digested}
    return Sealed(
        data=with_replaced_shallow(data, sealed) if sealed else data,
        fingerprint=_mac(event_key, canonical_json(document)),
    )
