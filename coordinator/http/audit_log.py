"""The audit trail in the service: the signing keys, this process's Merkle log, its integrator.

`run_audit_log` is a cleanup_ctx generator: it opens the keyring (generating the first key on a
new installation), starts the integrator, which integrates and signs only while this process holds
the log's lock, and stops it with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from coordinator.errors import StartupRefused
from coordinator.http.app_keys import DATABASE_URL, POOL, SETTINGS, SIGNAL, STORE
from coordinator.settings import signing_key_folder
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import MerkleLog, latest_checkpoint


@dataclass(frozen=True, slots=True)
class AuditLog:
    """The keyring that signs checkpoints and the integrator that keeps the Merkle log."""

    keyring: SigningKeyring
    integrator: LogIntegrator

    @property
    def merkle_log(self) -> MerkleLog:
        """This process's copy of the Merkle log."""
        return self.integrator.log


AUDIT_LOG = web.AppKey("audit_log", AuditLog)


async def run_audit_log(app: web.Application) -> AsyncIterator[None]:
    """Open the keyring and run the integrator for the app's lifetime."""
    settings = app[SETTINGS]
    keyring = SigningKeyring(signing_key_folder(settings))
    # The first start of a new installation generates the key, before anything is signed.
    public_keys = await asyncio.to_thread(keyring.public_keys)
    latest = await latest_checkpoint(app[POOL])
    if latest is not None and latest.checkpoint.key_id not in public_keys:
        raise StartupRefused(
            f"the log's latest checkpoint is signed by key {latest.checkpoint.key_id}, which is "
            f"not in {signing_key_folder(settings)}: start with the signing key folder that "
            "belongs to this database (restore it from the backup taken with it)"
        )
    integrator = LogIntegrator(
        MerkleLog(),
        app[STORE],
        app[SIGNAL],
        app[DATABASE_URL],
        keyring,
        interval_seconds=settings.checkpoint_interval_seconds,
        origin=settings.checkpoint_origin,
    )
    app[AUDIT_LOG] = AuditLog(keyring, integrator)
    task = asyncio.create_task(integrator.run(), name="merkle-log-integrator")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
