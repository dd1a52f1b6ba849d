"""The signed checkpoint an export proves its events in: the latest, once it covers them (asking
the integrator to sign now rather than at its pace), or the latest signed by a time asked for."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

from events.store.connection import Queryable
from events.verifier.checkpoints import SignedCheckpoint
from evidence.integrator import LogIntegrator
from evidence.merkle_log import latest_checkpoint

# The checkpoint of a bundle "as known at": the largest signed by then.
_CHECKPOINT_AS_OF = """
SELECT document FROM signed_checkpoints WHERE signed_at <= $1 ORDER BY tree_size DESC LIMIT 1
"""
# The first checkpoint signed after it that covers leaves up to $1, to say what to ask instead.
_FIRST_COVERING = "SELECT min(signed_at) FROM signed_checkpoints WHERE tree_size > $1"
# How often a waiting export asks again for a checkpoint.
_ASK_EVERY = 0.5


class LogBehind(TimeoutError):
    """No signed checkpoint covered the operation's events in the time allowed."""


class NoCheckpointAsOf(LookupError):
    """No checkpoint signed by the time asked for covers the events recorded by then."""


async def checkpoint_for(
    pool: Queryable,
    integrator: LogIntegrator,
    rows: list[dict[str, Any]],
    wait_seconds: float,
    as_of: datetime | None,
) -> SignedCheckpoint:
    """The checkpoint to prove `rows` in: the latest (waiting for one to cover them), or with
    `as_of` the latest signed by then, which must cover them (else NoCheckpointAsOf). Without a
    leader the export signs the checkpoint itself, which raises LogInconsistent for a log that is
    not the one its last checkpoint signed."""
    if as_of is None:
        return await _covering_checkpoint(pool, integrator, rows, wait_seconds)
    document = await pool.fetchval(_CHECKPOINT_AS_OF, as_of)
    signed = None if document is None else SignedCheckpoint.from_json(_document(document))
    leaves = [row["leaf_index"] for row in rows]
    needed = 1 + max(-1 if leaf is None else leaf for leaf in leaves)
    if signed is not None and None not in leaves and signed.checkpoint.tree_size >= needed:
        return signed
    later = await pool.fetchval(_FIRST_COVERING, needed - 1) if None not in leaves else None
    hint = (
        f"; the first checkpoint that covers them was signed at {later.isoformat()}"
        if later is not None
        else ""
    )
    raise NoCheckpointAsOf(
        f"no checkpoint signed by {as_of.isoformat()} covers the {len(rows)} events recorded "
        f"by then{hint}"
    )


def _document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _covering_checkpoint(
    pool: Queryable, integrator: LogIntegrator, rows: list[dict[str, Any]], wait_seconds: float
) -> SignedCheckpoint:
    deadline = time.monotonic() + wait_seconds
    asked = 0.0
    while True:
        missing = [row for row in rows if row["leaf_index"] is None]
        if missing:
            found = await pool.fetch(
                "SELECT position, leaf_index FROM merkle_leaves WHERE position = ANY($1::bigint[])",
                [row["position"] for row in missing],
            )
            leaves = {leaf["position"]: leaf["leaf_index"] for leaf in found}
            for row in missing:
                row["leaf_index"] = leaves.get(row["position"])
        latest = await latest_checkpoint(pool)
        needed = 1 + max(-1 if row["leaf_index"] is None else row["leaf_index"] for row in rows)
        covered = all(row["leaf_index"] is not None for row in rows)
        if covered and latest is not None and latest.checkpoint.tree_size >= needed:
            return latest
        now = time.monotonic()
        if now > deadline:
            raise LogBehind(
                f"the Merkle log did not cover the operation's {len(rows)} events within "
                f"{wait_seconds:g} s; a long transaction may be holding readers back"
            )
        if now - asked >= _ASK_EVERY:
            asked = now
            await integrator.request_checkpoint()
        await asyncio.sleep(0.02)
