"""Export one operation's prosecution bundle from the database, refusing a record that was changed.

The export reads the operation's events with their leaves, waits until a signed checkpoint
covers all of them (asking the integrator to sign now rather than at its pace), signs the stream
head, builds the bundle and runs the offline verifier over it with the service's own keys. So a
row changed behind the triggers' back (its hash recomputed or not) fails here, naming the event,
an event row deleted after the log integrated it is named from the log's own leaves, and a stored
leaf that is not the one this process integrated fails every export (log_forensics.py). A
prosecution's bundle of several streams is exported the same way, stream by stream, with all of
them proven in one checkpoint.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.store.connection import Queryable
from events.verifier.bundle_checks import verify_bundle
from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.findings import Failure, Reason
from events.verifier.stream_head import SignedStreamHead
from evidence.bundle import build_bundle
from evidence.bundle_parts import BundleError
from evidence.checkpoint_note import cosigned_note
from evidence.export_checkpoint import LogBehind, NoCheckpointAsOf, checkpoint_for
from evidence.export_rows import read_events
from evidence.integrator import LogIntegrator
from evidence.keyring import sign_stream_head
from evidence.log_forensics import StoredLeafChanged, check_stored_leaves, which_leaves_changed
from evidence.merkle_log import LogInconsistent
from evidence.merkle_tree import MerkleTree
from evidence.streams_bundle import StreamToBundle, build_streams_bundle
from evidence.timestamping import timestamp_token

__all__ = [
    "KeyringMismatch",
    "LogBehind",
    "NoCheckpointAsOf",
    "NothingRecordedAsOf",
    "OperationNotFound",
    "RecordTampered",
    "export_bundle",
    "export_streams_bundle",
]

# Served by merkle_leaves_stream (0005_merkle_leaf_streams.sql).
_LEAVES = "SELECT leaf_index, position, version FROM merkle_leaves WHERE stream_id = $1"


class OperationNotFound(LookupError):
    """No event of that operation is recorded."""


class RecordTampered(RuntimeError):
    """The stored record does not verify: it was changed outside the service."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(f"{failure.reason}{failure.where()}: {failure.sentence}")


class KeyringMismatch(LookupError):
    """The checkpoint was signed by a key this process's keyring does not know (a setup error)."""


class NothingRecordedAsOf(OperationNotFound):
    """The operation has events, but none recorded by the time asked for."""


async def export_bundle(
    pool: asyncpg.Pool,
    integrator: LogIntegrator,
    operation_id: UUID,
    *,
    wait_seconds: float = 10.0,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The operation's verified bundle; raises OperationNotFound, LogBehind or RecordTampered.

    With `as_of` (a time with a zone), the bundle of the events recorded up to then, proven in
    the latest checkpoint signed by then; NoCheckpointAsOf if that one does not cover them.
    """
    rows = await read_events(pool, operation_id, as_of)
    if not rows:
        raise _nothing(f"operation {operation_id}", as_of)
    try:
        signed = await checkpoint_for(pool, integrator, rows, wait_seconds, as_of)
    except LogInconsistent as error:  # the export signed, and the log is not the one signed
        raise await _log_tampered(pool, error) from error
    await _check_no_event_deleted(pool, operation_id, rows, _below(signed, as_of))
    try:
        tree, public_keys = await _tree_and_keys(pool, integrator, signed)
        head = await asyncio.to_thread(_sign_head, integrator, str(operation_id), rows, signed)
        bundle = build_bundle(
            operation_id,
            rows,
            tree,
            signed,
            public_keys,
            stream_head=head,
            keyring=integrator.keyring,
            as_of=as_of,
            check_leaves=False,
            checkpoint_note=await cosigned_note(pool, signed.checkpoint.tree_size),
            checkpoint_timestamp=await timestamp_token(pool, signed.checkpoint.tree_size),
        )
    except (LogInconsistent, StoredLeafChanged, BundleError) as error:
        raise await _log_tampered(pool, error) from error
    report = verify_bundle(bundle, trusted_keys=public_keys)
    if report.first_failure is not None:
        raise RecordTampered(report.first_failure)
    return bundle


async def export_streams_bundle(
    pool: asyncpg.Pool,
    integrator: LogIntegrator,
    streams: Sequence[UUID],
    *,
    primary: UUID,
    stub: Callable[[str, UUID], bool] | None = None,
    kinds: Mapping[UUID, str] | None = None,
    wait_seconds: float = 10.0,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The verified bundle of `primary` and the linked `streams`, all proven in one checkpoint.

    The primary stream comes first, then the others in the order given; a linked stream with no
    events is left out, a primary stream with none raises OperationNotFound. `stub(type,
    stream_id)` picks the events written as stubs, without data or metadata (counselling notes
    must not reach the defence); `kinds` labels streams ("operation", "survivor_case"). Raises
    LogBehind or RecordTampered (naming the stream) as export_bundle does; `as_of` as there.
    """
    order = list(dict.fromkeys([primary, *streams]))
    read = [await read_events(pool, stream_id, as_of) for stream_id in order]
    if not read[0]:
        raise _nothing(f"stream {primary}", as_of)
    found = [(stream_id, rows) for stream_id, rows in zip(order, read, strict=True) if rows]
    every_row = [row for _, rows in found for row in rows]
    try:
        signed = await checkpoint_for(pool, integrator, every_row, wait_seconds, as_of)
    except LogInconsistent as error:  # the export signed, and the log is not the one signed
        raise await _log_tampered(pool, error) from error
    for stream_id, rows in found:
        try:
            await _check_no_event_deleted(pool, stream_id, rows, _below(signed, as_of))
        except RecordTampered as error:
            failure = dataclasses.replace(error.failure, stream_id=str(stream_id))
            raise RecordTampered(failure) from error
    labels = kinds or {}
    try:
        tree, public_keys = await _tree_and_keys(pool, integrator, signed)
        to_bundle = [
            StreamToBundle(
                stream_id,
                rows,
                await asyncio.to_thread(_sign_head, integrator, str(stream_id), rows, signed),
                labels.get(stream_id),
            )
            for stream_id, rows in found
        ]
        bundle = build_streams_bundle(
            primary,
            to_bundle,
            tree,
            signed,
            public_keys,
            keyring=integrator.keyring,
            stub=stub,
            as_of=as_of,
            check_leaves=False,
            checkpoint_note=await cosigned_note(pool, signed.checkpoint.tree_size),
            checkpoint_timestamp=await timestamp_token(pool, signed.checkpoint.tree_size),
        )
    except (LogInconsistent, StoredLeafChanged, BundleError) as error:
        raise await _log_tampered(pool, error) from error
    report = verify_bundle(bundle, trusted_keys=public_keys)
    if report.first_failure is not None:
        raise RecordTampered(report.first_failure)
    return bundle


async def _log_tampered(pool: Queryable, error: Exception) -> RecordTampered:
    """The stored Merkle log does not give the signed root: say which leaves changed, as far as
    the signed checkpoints tell."""
    narrowed = await which_leaves_changed(pool)
    sentence = str(error) if narrowed is None else f"{error}; {narrowed}"
    return RecordTampered(Failure(Reason.BAD_PROOF, sentence))


async def _tree_and_keys(
    pool: asyncpg.Pool, integrator: LogIntegrator, signed: SignedCheckpoint
) -> tuple[MerkleTree, dict[str, PublicKeyRecord]]:
    """The log's tree, brought up to date and still the one stored, and the keyring's public keys,
    which must hold the key that signed the checkpoint (raises LogInconsistent, StoredLeafChanged
    or KeyringMismatch)."""
    async with pool.acquire() as connection:
        tree = await integrator.log.refresh(connection)
        # A running service proves against the tree it integrated: refuse to while the stored
        # leaves differ from it, so a rewritten log fails every export, not only the rewritten
        # operation's.
        await check_stored_leaves(connection, tree)
    public_keys = await asyncio.to_thread(integrator.keyring.public_keys)
    if signed.checkpoint.key_id not in public_keys:
        raise KeyringMismatch(
            f"the latest checkpoint was signed with key {signed.checkpoint.key_id}, which the "
            "keyring here does not hold: use the service's signing key folder"
        )
    return tree, public_keys


def _sign_head(
    integrator: LogIntegrator, stream_id: str, rows: list[dict[str, Any]], signed: SignedCheckpoint
) -> SignedStreamHead:
    """The stream's head at its last row, signed now in the checkpoint's log (a thread's work)."""
    last = rows[-1]
    return sign_stream_head(
        integrator.keyring,
        stream_id,
        last["version"],
        bytes.fromhex(last["hash"]),
        signed.checkpoint.tree_size,
    )


def _nothing(what: str, as_of: datetime | None) -> OperationNotFound:
    if as_of is None:
        return OperationNotFound(f"{what} has no recorded events")
    return NothingRecordedAsOf(f"{what} has no events recorded by {as_of.isoformat()}")


def _below(signed: SignedCheckpoint, as_of: datetime | None) -> int | None:
    """Which leaves an export as known at `as_of` answers for: those of its checkpoint."""
    return None if as_of is None else signed.checkpoint.tree_size


async def _check_no_event_deleted(
    pool: Queryable, operation_id: UUID, rows: list[dict[str, Any]], below: int | None
) -> None:
    """RecordTampered if a leaf of the stream (below `below`, if given) lost its event row."""
    positions = {row["position"] for row in rows}
    unread = [
        leaf
        for leaf in await pool.fetch(_LEAVES, operation_id)
        if leaf["position"] not in positions and (below is None or leaf["leaf_index"] < below)
    ]
    if not unread:
        return
    # An event appended, and integrated, after `rows` were read is a leaf they lack but not a
    # deleted event: only a leaf whose event the table no longer holds is one.
    present = {
        row["position"]
        for row in await pool.fetch(
            "SELECT position FROM events WHERE position = ANY($1::bigint[])",
            [leaf["position"] for leaf in unread],
        )
    }
    for leaf in sorted(unread, key=lambda leaf: leaf["version"]):
        if leaf["position"] not in present:
            sentence = (
                f"the Merkle log integrated version {leaf['version']} of this operation as leaf "
                f"{leaf['leaf_index']}, but the database no longer holds that event"
            )
            raise RecordTampered(Failure(Reason.MISSING_EVENT, sentence, version=leaf["version"]))
