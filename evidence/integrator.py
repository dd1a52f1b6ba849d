"""The Merkle log's integrator and checkpoint publisher: one process at a time, as projections.

The process holding the log's session advisory lock on a dedicated connection is the integrator:
it follows the event log from the last leaf's cursor, appends leaves in global order, and at a
steady pace, only when the log grew, signs a checkpoint. Every write goes through that one
connection, so a process whose connection (and with it the lock) is gone cannot write at all.
Whoever needs a checkpoint sooner (an export) asks the leader with a notification; when no
process leads (a command-line export with no service running), the asker integrates and signs
itself, holding the same lock for that moment. With a time-stamping authority configured
(evidence/timestamping.py), the leader also asks it for a token on each new checkpoint, apart
from signing, so a TSA that does not answer never holds the log back.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from events.feed.dedicated import Leadership, keep_dedicated, lock_key, open_dedicated
from events.feed.signal import LogSignal
from events.feed.subscription import subscribe_with
from events.store.connection import Connection
from events.store.event_store import EventStore
from events.verifier.tlog_checkpoint import NoteCheckpoint
from evidence.checkpoint_note import access_log_head, log_origin, sign_checkpoint, store_note
from evidence.keyring import SigningKeyring
from evidence.merkle_log import (
    LogInconsistent,
    MerkleLog,
    check_against,
    latest_checkpoint,
    store_checkpoint,
)
from evidence.timestamping import Timestamper, TimestampFailed, store_timestamp

log = structlog.get_logger(__name__)

LOCK_KEY = lock_key("homeward-merkle-log")
WANTED_CHANNEL = "homeward_checkpoint_wanted"


async def connect(dsn: str) -> asyncpg.Connection:
    """A dedicated connection for the integrator (its session holds the lock)."""
    return await open_dedicated(dsn, "homeward-merkle-log")


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


class LogIntegrator:
    """Keeps the Merkle log integrated and its checkpoints signed while this process leads."""

    def __init__(
        self,
        merkle_log: MerkleLog,
        store: EventStore,
        signal: LogSignal,
        dsn: str,
        keyring: SigningKeyring,
        *,
        interval_seconds: float = 5.0,
        batch_size: int = 2000,
        retry_seconds: float = 1.0,
        origin: str | None = None,
        timestamper: Timestamper | None = None,
    ) -> None:
        self.log = merkle_log
        # The checkpoints' origin line: configured, else the database's own (log_origin).
        self.origin = origin
        self.keyring = keyring
        self._store = store
        self._signal = signal
        self._dsn = dsn
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._retry = retry_seconds
        self._wanted = asyncio.Event()
        self._timestamper = timestamper
        self._stamp_wanted = asyncio.Event()
        # The leader's connection runs one statement at a time: integration or signing.
        self._writing = asyncio.Lock()
        self._signed_size = 0
        self.leading = False

    async def run(self) -> None:
        """Run forever: wait to lead, then integrate and sign; start again after any failure."""
        # Waits in the server until the current leader's session ends: failover is immediate.
        await keep_dedicated(
            self._dsn,
            self._lead,
            name="merkle_log_integrator",
            leadership=Leadership(LOCK_KEY, block=True),
            retry_seconds=self._retry,
        )

    async def _lead(self, connection: asyncpg.Connection) -> None:
        """As the leader: check the tree, then integrate new events and sign checkpoints."""
        try:
            await connection.add_listener(WANTED_CHANNEL, self._on_wanted)
            await self._take_over(connection)
            self.leading = True
            log.info("merkle_log_leading", tree_size=self.log.size)
            tasks = {
                asyncio.create_task(self._follow(connection), name="merkle-log-follow"),
                asyncio.create_task(self._publish(connection), name="merkle-log-publish"),
            }
            if self._timestamper is not None:
                stamping = self._stamp(connection, self._timestamper)
                tasks.add(asyncio.create_task(stamping, name="merkle-log-timestamps"))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        except LogInconsistent as error:
            # Never sign on top of a log that does not match its signatures; say so, slowly.
            log.error("merkle_log_refused", reason=str(error))  # noqa: TRY400  not a bug
            await asyncio.sleep(self._retry * 29)
        finally:
            # Stop claiming the lead before the lock goes with the connection.
            self.leading = False

    async def _take_over(self, connection: Connection) -> None:
        """Load the tree and refuse to go on if it is not the tree the last checkpoint signed."""
        tree = await self.log.refresh(connection)
        latest = await latest_checkpoint(connection)
        if latest is not None:
            public_keys = await asyncio.to_thread(self.keyring.public_keys)
            check_against(tree, latest, public_keys)
        self._signed_size = latest.checkpoint.tree_size if latest else 0
        if self.origin is None:
            self.origin = await log_origin(connection)

    async def _follow(self, connection: Connection) -> None:
        async for batch in subscribe_with(
            self._store.read_all_hashes,
            self._store,
            self._signal,
            self.log.cursor,
            batch_size=self._batch_size,
        ):
            async with self._writing:
                await self.log.integrate(connection, batch)

    async def _publish(self, connection: Connection) -> None:
        while True:
            await _wait(self._wanted, self._interval)
            self._wanted.clear()
            async with self._writing:
                await self._sign_if_grown(connection)

    async def _sign_if_grown(self, connection: Connection) -> None:
        size = self.log.size
        if size <= self._signed_size:
            return
        root = self.log.tree.root(size)
        assert self.origin is not None  # noqa: S101 -- _take_over read it before any signing
        # The access log's head now: entries recorded before this checkpoint are anchored in it.
        body = NoteCheckpoint(self.origin, size, root, await access_log_head(connection))
        forms = await asyncio.to_thread(sign_checkpoint, self.keyring, body)
        signed = forms.json
        async with connection.transaction():
            if await store_checkpoint(connection, signed):
                await store_note(connection, size, forms.note)
        self._signed_size = size
        self._stamp_wanted.set()
        log.info("checkpoint_signed", tree_size=size, key_id=signed.checkpoint.key_id)

    async def _stamp(self, connection: Connection, timestamper: Timestamper) -> None:
        """After each signing (or at the signing pace, to retry): timestamp what has no token."""
        while True:
            await _wait(self._stamp_wanted, self._interval)
            self._stamp_wanted.clear()
            await self.stamp_pending(connection, timestamper)

    async def stamp_pending(self, connection: Connection, timestamper: Timestamper) -> int:
        """Ask the TSA for a token on each recent checkpoint without one and record it; stop at
        the first failure (logged, retried next round). Return how many were recorded."""
        async with self._writing:
            pending = await timestamper.pending(connection)
        recorded = 0
        for tree_size, note_text in pending:
            try:
                # Outside the lock: the log goes on integrating while the TSA answers.
                stamped = await timestamper.stamp(note_text)
            except TimestampFailed as error:
                log.warning(
                    "checkpoint_timestamp_failed",
                    tree_size=tree_size,
                    authority=timestamper.host,
                    reason=str(error),
                )
                break
            async with self._writing:
                await store_timestamp(connection, tree_size, stamped)
            recorded += 1
            log.info("checkpoint_timestamped", tree_size=tree_size, gen_time=str(stamped.gen_time))
        return recorded

    def _on_wanted(self, _connection: object, _pid: int, _channel: str, _payload: object) -> None:
        self._wanted.set()

    async def request_checkpoint(self) -> None:
        """Have a checkpoint of everything readable signed soon: by the leader, or right here."""
        if self.leading:
            self._wanted.set()
            return
        connection = await connect(self._dsn)
        try:
            if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                await connection.execute("SELECT pg_notify($1, '')", WANTED_CHANNEL)
                return
            # No process leads: integrate and sign as the leader, for this moment only.
            await self._take_over(connection)
            read = self._store.read_all_hashes
            while batch := await read(self.log.cursor, limit=self._batch_size):
                await self.log.integrate(connection, batch)
            await self._sign_if_grown(connection)
            if self._timestamper is not None:
                await self.stamp_pending(connection, self._timestamper)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)
