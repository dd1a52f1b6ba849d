"""Data keys, one per data subject, kept in PostgreSQL only wrapped by a KEK.

Opening (reads) never caches: a key erased by another replica must stop opening data at once.
Sealing (writes) keeps keys for `SEALING_CACHE_SECONDS`: a key erased by another replica within
that time may still seal new data, which nobody can then open (it is erased with the rest);
this replica's own erasures drop the key from the cache at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from uuid import UUID

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from coordinator.errors import RuleBroken
from coordinator.service.privacy.kek import KeyEncryptionKeys, KeyFileError
from coordinator.service.privacy.sealing import SubjectKey
from events.store.connection import translate_errors

_NONCE = 12
SEALING_CACHE_SECONDS = 30.0
_SEALING_CACHE_SIZE = 10_000


def _wrap(keks: KeyEncryptionKeys, subject_id: UUID, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    aad = subject_id.bytes + keks.active_id.encode()
    return nonce + AESGCM(keks.active).encrypt(nonce, data_key, aad)


def _unwrap(keks: KeyEncryptionKeys, subject_id: UUID, kek_id: str, wrapped: bytes) -> bytes:
    kek = keks.keys.get(kek_id)
    if kek is None:
        raise KeyFileError(f"data keys are wrapped by KEK {kek_id}, whose key file is missing")
    try:
        return AESGCM(kek).decrypt(
            wrapped[:_NONCE], wrapped[_NONCE:], subject_id.bytes + kek_id.encode()
        )
    except InvalidTag as error:
        raise KeyFileError(f"KEK {kek_id} does not open the data key of a subject") from error


class DataKeys:
    """Creates, opens, destroys and re-wraps data keys."""

    def __init__(self, pool: asyncpg.Pool, keks: KeyEncryptionKeys) -> None:
        self._pool = pool
        self.keks = keks
        self._sealing: dict[UUID, tuple[float, SubjectKey]] = {}

    async def missing_keks(self) -> list[str]:
        """The KEKs that wrap live data keys in the database but have no key file here."""
        with translate_errors():
            rows = await self._pool.fetch(
                "SELECT DISTINCT kek_id FROM personal_data_keys WHERE wrapped_key IS NOT NULL"
            )
        return sorted(row["kek_id"] for row in rows if row["kek_id"] not in self.keks.keys)

    async def for_sealing(self, subject_id: UUID) -> SubjectKey:
        """The subject's data key (as its cipher and fingerprint key), created on first use;
        refused once it was erased."""
        cached = self._sealing.get(subject_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < SEALING_CACHE_SECONDS:
            return cached[1]
        key = SubjectKey.of(await self._fetch_for_sealing(subject_id))
        if len(self._sealing) >= _SEALING_CACHE_SIZE:
            self._sealing.clear()
        self._sealing[subject_id] = (now, key)
        return key

    async def _fetch_for_sealing(self, subject_id: UUID) -> bytes:
        fresh = secrets.token_bytes(32)
        with translate_errors():
            # One round trip: the new key if this call created it, else the stored one.
            row = await self._pool.fetchrow(
                """
                WITH created AS (
                    INSERT INTO personal_data_keys (subject_id, kek_id, wrapped_key)
                    VALUES ($1, $2, $3) ON CONFLICT (subject_id) DO NOTHING
                    RETURNING kek_id, wrapped_key
                )
                SELECT kek_id, wrapped_key FROM created
                UNION ALL
                SELECT kek_id, wrapped_key FROM personal_data_keys WHERE subject_id = $1
                LIMIT 1
                """,
                subject_id,
                self.keks.active_id,
                _wrap(self.keks, subject_id, fresh),
            )
        if row is None or row["wrapped_key"] is None:
            raise RuleBroken(
                f"The personal data of {subject_id} was erased; it cannot be recorded again."
            )
        return _unwrap(self.keks, subject_id, row["kek_id"], bytes(row["wrapped_key"]))

    async def for_opening(self, subject_ids: Iterable[UUID]) -> dict[UUID, bytes | None]:
        """Each subject's data key, or None where it was erased (or never existed)."""
        wanted = list(set(subject_ids))
        if not wanted:
            return {}
        with translate_errors():
            rows = await self._pool.fetch(
                "SELECT subject_id, kek_id, wrapped_key FROM personal_data_keys "
                "WHERE subject_id = ANY($1::uuid[])",
                wanted,
            )
        keys: dict[UUID, bytes | None] = dict.fromkeys(wanted)
        for row in rows:
            if row["wrapped_key"] is not None:
                keys[row["subject_id"]] = _unwrap(
                    self.keks, row["subject_id"], row["kek_id"], bytes(row["wrapped_key"])
                )
        return keys

    async def erase(self, subject_id: UUID) -> None:
        """Destroy the subject's data key for good (idempotent)."""
        self._sealing.pop(subject_id, None)
        with translate_errors():
            await self._pool.execute(
                "INSERT INTO personal_data_keys (subject_id, kek_id, wrapped_key, erased_at) "
                "VALUES ($1, NULL, NULL, now()) "
                "ON CONFLICT (subject_id) DO UPDATE SET kek_id = NULL, wrapped_key = NULL, "
                "erased_at = now() WHERE personal_data_keys.erased_at IS NULL",
                subject_id,
            )

    async def kek_ids_in_use(self) -> set[str]:
        """The KEKs that wrap a live data key in the database."""
        with translate_errors():
            rows = await self._pool.fetch(
                "SELECT DISTINCT kek_id FROM personal_data_keys WHERE wrapped_key IS NOT NULL"
            )
        return {row["kek_id"] for row in rows}

    async def compact(self) -> None:
        """Rewrite the key table so no page keeps a destroyed or re-wrapped key's old bytes.

        An erasure or a re-wrap leaves the old row version in the table's pages until it is
        overwritten; VACUUM FULL writes the live rows into a new file and drops the old one. It
        needs the table's owner (run it from the command line, not as the service's role).
        """
        with translate_errors():
            await self._pool.execute("VACUUM (FULL) personal_data_keys")

    async def rewrap(self) -> int:
        """Wrap every live data key with the active KEK; returns how many were re-wrapped."""
        count = 0
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "SELECT subject_id, kek_id, wrapped_key FROM personal_data_keys "
                "WHERE wrapped_key IS NOT NULL AND kek_id <> $1 FOR UPDATE",
                self.keks.active_id,
            )
            for row in rows:
                key = _unwrap(
                    self.keks, row["subject_id"], row["kek_id"], bytes(row["wrapped_key"])
                )
                await connection.execute(
                    "UPDATE personal_data_keys SET kek_id = $2, wrapped_key = $3 "
                    "WHERE subject_id = $1",
                    row["subject_id"],
                    self.keks.active_id,
                    _wrap(self.keks, row["subject_id"], key),
                )
                count += 1
        return count
