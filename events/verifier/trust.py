"""Which public keys the verifier trusts: the ones the person running it supplied or pinned.

A bundle carries the public keys that signed it, but a forger can carry a key of their own just
as well. So a bundle, or a checkpoint, is proven only under keys from outside the file: a keys
file fetched from Homeward separately (`--keys`, the answer of GET /v1/audit/public-key or the
bare mapping), or key ids pinned on the command line (`--key-id`), whose records are then taken
from the file: a key id is the first 16 hex digits of SHA-256 over the key, so a record listed
under a pinned id that is not that key is refused when the signature is checked. Without either,
the file's own keys are used, every other check still runs, and nothing is proven about who
signed. Standard library and the verifier's own modules only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509

from events.verifier.checkpoints import PublicKeyRecord, key_id_of
from events.verifier.signed_note import COSIGNATURE_V1, VerifierKey
from events.verifier.timestamp_token import TokenRefused, check_authority

KEY_ID = re.compile(r"[0-9a-f]{16}", re.ASCII)
# A key record as a bundle carries it; the public-key answer adds whether it signs now.
_RECORD_FIELDS = frozenset({"public_key", "created_at", "retired_at"})
_PUBLISHED_FIELDS = _RECORD_FIELDS | {"active"}
_ANSWER_FIELDS = frozenset({"active_key_id", "keys"})
# The answer also names the log's origin and its note verifier keys (C2SP vkeys), for other tools.
_ANSWER_OPTIONAL = frozenset({"origin", "vkeys"})


class KeysFrom(StrEnum):
    """Where the keys that checked a file came from."""

    TRUSTED = "trusted"  # a keys file the caller supplied
    PINNED = "pinned"  # key ids the caller pinned, their records taken from the file
    FILE = "bundle"  # the file's own keys: nothing is proven about who signed


class KeysRefused(ValueError):
    """A keys file, a key record or a pinned key id that is not what it must be."""


@dataclass(frozen=True, slots=True)
class Trust:
    """What the caller supplied: a keys file's keys, or pinned key ids, or neither; and the
    witnesses it trusts, of which `required_witnesses` must have cosigned the checkpoint; and
    the time-stamping authorities' certificates, one of which must have dated the checkpoint
    note if any is given."""

    keys: Mapping[str, PublicKeyRecord] | None = None
    pinned: frozenset[str] = frozenset()
    witnesses: tuple[VerifierKey, ...] = ()
    required_witnesses: int = 0
    tsa_certificates: tuple[x509.Certificate, ...] = ()

    @property
    def source(self) -> KeysFrom:
        """Where the keys that check a file will come from."""
        if self.keys is not None:
            return KeysFrom.TRUSTED
        return KeysFrom.PINNED if self.pinned else KeysFrom.FILE

    def keys_for(self, carried: Mapping[str, Any]) -> Mapping[str, Any]:
        """The keys to check a file with, given the keys the file carries."""
        if self.keys is not None:
            return self.keys
        if self.pinned:
            return {key_id: record for key_id, record in carried.items() if key_id in self.pinned}
        return carried


def trust(
    keys: Mapping[str, PublicKeyRecord] | None = None,
    pinned: Collection[str] | None = None,
    *,
    witnesses: Collection[VerifierKey] = (),
    required_witnesses: int = 0,
    tsa_certificates: Collection[x509.Certificate] = (),
) -> Trust:
    """The trust of a caller who supplied `keys` (checked) or pinned the key ids `pinned`,
    requires `required_witnesses` of the cosignature keys `witnesses` to have cosigned, and a
    timestamp by one of `tsa_certificates` (each must vouch for times), if any is given."""
    if not 0 <= required_witnesses <= len(witnesses):
        raise KeysRefused(
            f"{required_witnesses} witnesses are required but {len(witnesses)} witness keys given"
        )
    if any(key.kind != COSIGNATURE_V1 for key in witnesses):
        raise KeysRefused("a witness key is not a cosignature key (type 0x04)")
    listed, required = tuple(witnesses), required_witnesses
    try:
        for certificate in tsa_certificates:
            check_authority(certificate)
    except TokenRefused as error:
        raise KeysRefused(str(error)) from None
    authorities = tuple(tsa_certificates)
    if keys is not None:
        checked = check_key_records(keys, what="the keys file", published=True)
        return Trust(
            keys=checked,
            witnesses=listed,
            required_witnesses=required,
            tsa_certificates=authorities,
        )
    ids = frozenset(pinned or ())
    for key_id in ids:
        if not KEY_ID.fullmatch(key_id):
            raise KeysRefused(f"{key_id!r} is not a key id (16 lower-case hex digits)")
    return Trust(
        pinned=ids, witnesses=listed, required_witnesses=required, tsa_certificates=authorities
    )


def read_keys_file(document: Any) -> dict[str, PublicKeyRecord]:
    """The keys of a keys file: the answer of GET /v1/audit/public-key, or the bare mapping of key
    id to record; raise KeysRefused with one sentence if it is neither."""
    if isinstance(document, dict) and _ANSWER_FIELDS <= set(document) <= _ANSWER_FIELDS | (
        _ANSWER_OPTIONAL
    ):
        keys, active = document["keys"], document["active_key_id"]
        if not isinstance(keys, dict) or not isinstance(active, str) or active not in keys:
            raise KeysRefused("the keys file's active_key_id is not one of its keys")
        return check_key_records(keys, what="the keys file", published=True)
    return check_key_records(document, what="the keys file", published=True)


def check_key_records(
    keys: Any, *, what: str, published: bool = False
) -> dict[str, PublicKeyRecord]:
    """`keys` if it maps key ids to exactly key records (with `published`, maybe marked active)
    whose keys are the keys their ids name; else KeysRefused."""
    if not isinstance(keys, Mapping) or not keys:
        raise KeysRefused(f"{what} is not a non-empty mapping of key id to key record")
    allowed = _PUBLISHED_FIELDS if published else _RECORD_FIELDS
    checked: dict[str, PublicKeyRecord] = {}
    for key_id, record in keys.items():
        if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
            raise KeysRefused(f"{what} lists {key_id!r}, which is not a key id")
        if not isinstance(record, Mapping) or not _RECORD_FIELDS <= set(record) <= allowed:
            raise KeysRefused(
                f"{what}: the record of {key_id} has not exactly public_key, created_at and "
                "retired_at"
            )
        created, retired = record["created_at"], record["retired_at"]
        if not isinstance(created, str) or not (retired is None or isinstance(retired, str)):
            raise KeysRefused(f"{what}: the times of key {key_id} are not text")
        if "active" in record and not isinstance(record["active"], bool):
            raise KeysRefused(f"{what}: whether key {key_id} is active is not true or false")
        if key_id_of(_raw_key(record["public_key"], key_id, what)) != key_id:
            raise KeysRefused(f"{what}: the key listed as {key_id} is not that key")
        checked[key_id] = {"public_key": record["public_key"], "created_at": created,
                           "retired_at": retired}  # fmt: skip
    return checked


def _raw_key(text: Any, key_id: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != text:
        raise KeysRefused(f"{what}: key {key_id} is not a base64 Ed25519 public key")
    return raw
