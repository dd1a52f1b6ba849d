"""The audit commands that need the service's keys or database: `export` and `rotate-key`.

An export from the command line is a read like any other: it is written to the access log, under
the operator's login name and the admin role, before the bundle is written out.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import uuid
from pathlib import Path

from coordinator.database import database_url
from coordinator.domain.actors import Actor, Role
from coordinator.service.access_log import Read, record_read
from coordinator.service.trail_page import render_trail
from coordinator.settings import Settings, signing_key_folder
from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.store.migrate import migrate
from evidence import export as exporter
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import MerkleLog


def _operator() -> Actor:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor(f"command line ({login})", Role.ADMIN)


async def _export(settings: Settings, url: str, operation_id: uuid.UUID, page: str) -> str:
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        async with pool.acquire() as connection:
            await migrate(connection, app_role=settings.app_role)
        integrator = LogIntegrator(
            MerkleLog(),
            EventStore(pool),
            LogSignal(),
            url,
            SigningKeyring(signing_key_folder(settings)),
            interval_seconds=settings.checkpoint_interval_seconds,
        )
        bundle = await exporter.export_bundle(
            pool, integrator, operation_id, wait_seconds=settings.audit_wait_seconds
        )
        request_id = f"cli-{uuid.uuid4().hex}"
        await record_read(
            pool, _operator(), operation_id, Read.AUDIT_TRAIL, request_id, page_format=page
        )
    finally:
        await pool.close()
    if page == "html":
        return render_trail(bundle)
    return json.dumps(bundle, ensure_ascii=False) + "\n"


def export(settings: Settings, operation_id: str, out: Path | None, page: str) -> int:
    """Write the operation's verified bundle (or its printable page); 1 if there is none."""
    try:
        operation = uuid.UUID(operation_id)
    except ValueError:
        sys.stderr.write(f"error: {operation_id!r} is not an operation id (a UUID)\n")
        return 1
    try:
        with database_url(settings) as url:
            text = asyncio.run(_export(settings, url, operation, page))
    except (exporter.OperationNotFound, exporter.LogBehind, exporter.KeyringMismatch) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except exporter.RecordTampered as error:
        sys.stderr.write(f"REFUSED: the stored record does not verify, {error}\n")
        return 1
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote the audit trail of operation {operation} to {out}\n")
    return 0


def rotate_key(settings: Settings) -> int:
    """Retire the active signing key and generate a new one; print both ids."""
    keyring = SigningKeyring(signing_key_folder(settings))
    old = keyring.active_key_id
    new = keyring.rotate()
    sys.stdout.write(f"retired signing key {old}; new checkpoints are signed with {new}\n")
    sys.stdout.write("publish the new public key: GET /v1/audit/public-key lists both\n")
    return 0
