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
from pathlib import Path

from aiohttp import web

from coordinator.errors import StartupRefused
from coordinator.http.app_keys import DATABASE_URL, POOL, SETTINGS, SIGNAL, STORE
from coordinator.settings import Settings, signing_key_folder
from events.verifier.timestamp_token import TokenRefused, read_certificate
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import MerkleLog, latest_checkpoint
from evidence.timestamping import Timestamper


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


def _timestamper(settings: Settings) -> Timestamper | None:
    """The configured time-stamping authority (None: no timestamps), its certificate read now so
    a wrong file stops the start rather than every token."""
    if settings.timestamp_authority_url is None:
        return None
    certificate = None
    if settings.timestamp_authority_cert_file is not None:
        path = settings.timestamp_authority_cert_file
        try:
            certificate = read_certificate(Path(path).expanduser().read_bytes())
        except (OSError, TokenRefused) as error:
            raise StartupRefused(f"COORDINATOR_TIMESTAMP_AUTHORITY_CERT_FILE: {error}") from error
    return Timestamper(
        settings.timestamp_authority_url,
        certificate,
        timeout_seconds=settings.timestamp_timeout_seconds,
    )


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
        timestamper=await asyncio.to_thread(_timestamper, settings),
    )
    app[AUDIT_LOG] = AuditLog(keyring, integrator)
    task = asyncio.create_task(integrator.run(), name="merkle-log-integrator")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
