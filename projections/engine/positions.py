"""Projection checkpoints: read, and moved only forward in the caller's transaction."""

from __future__ import annotations

from events.store.connection import Connection
from events.store.envelope import START, Cursor


class CheckpointMovedBack(RuntimeError):
    """Another runner advanced this projection past us: two runners must never both apply."""


async def load_checkpoint(connection: Connection, name: str) -> Cursor:
    """Where projection `name` has got to (the start of the log if it never ran)."""
    row = await connection.fetchrow(
        "SELECT epoch, xid, position FROM projection_checkpoints WHERE name = $1", name
    )
    return START if row is None else Cursor(row["epoch"], row["xid"], row["position"])


async def save_checkpoint(connection: Connection, name: str, cursor: Cursor, applied: int) -> None:
    """Move `name`'s checkpoint to `cursor`, in the caller's transaction, only ever forward."""
    saved = await connection.fetchval(
        """
        INSERT INTO projection_checkpoints AS c (name, epoch, xid, position, events_applied)
        VALUES ($1, $2, $3::xid8, $4, $5)
        ON CONFLICT (name) DO UPDATE
           SET epoch = EXCLUDED.epoch, xid = EXCLUDED.xid, position = EXCLUDED.position,
               events_applied = c.events_applied + EXCLUDED.events_applied, updated_at = now()
         WHERE (c.epoch, c.xid, c.position) < (EXCLUDED.epoch, EXCLUDED.xid, EXCLUDED.position)
        RETURNING true
        """,
        name,
        cursor.epoch,
        cursor.xid,
        cursor.position,
        applied,
    )
    if not saved:
        raise CheckpointMovedBack(f"projection {name} is already at or past {cursor}")


async def lag_seconds(connection: Connection, name: str) -> float:
    """How old the oldest event not yet applied by `name` is (0 when it is up to date)."""
    cursor = await load_checkpoint(connection, name)
    age = await connection.fetchval(
        """
        SELECT extract(epoch FROM now() - recorded_at) FROM events
         WHERE (epoch, xid, position) > ($1, $2::xid8, $3)
         ORDER BY epoch, xid, position LIMIT 1
        """,
        cursor.epoch,
        cursor.xid,
        cursor.position,
    )
    return max(float(age or 0.0), 0.0)
