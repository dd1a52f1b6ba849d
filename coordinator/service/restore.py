"""Restore a backup (coordinator/service/backup.py) into a new, empty database and new key folders.

Everything is checked before anything is written: the checksums, that the database is empty,
that no key file would be overwritten, and that the signing keys land where the service will
read them. The database is restored in one transaction, then migrated (which opens a new log
epoch when this server's transaction ids are behind the restored ones), then the keys extracted.
"""

from __future__ import annotations

import asyncio
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from coordinator.service.backup import DATA_SECTION, DUMP, KEYS, BackupRefused, read_manifest
from coordinator.service.pg_tools import find_tool, run_tool, server_major
from coordinator.settings import Settings, signing_key_folder
from events.store.migrate import migrate

KEYRING = "keyring.json"


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did."""

    events: int
    epoch_before: int
    epoch_after: int
    key_folders: dict[str, Path]

    @property
    def new_epoch(self) -> bool:
        """Whether the migrations found the transaction ids restarted and opened a new epoch."""
        return self.epoch_after > self.epoch_before


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def prepare_database(url: str) -> int:
    """Create the target database if it is missing and refuse it if it holds anything.

    Returns the server's `server_version_num`.
    """
    try:
        connection = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        name = urlsplit(url).path.lstrip("/")
        server = await asyncpg.connect(_with_database(url, "postgres"))
        try:
            quoted = await server.fetchval("SELECT quote_ident($1)", name)
            await server.execute(f"CREATE DATABASE {quoted}")
        finally:
            await server.close()
        connection = await asyncpg.connect(url)
    try:
        relations = await connection.fetchval(
            """
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
            """
        )
        if relations:
            database = await connection.fetchval("SELECT current_database()")
            raise BackupRefused(
                f"the database {database} already holds tables; restore into a new, empty one"
            )
        return int(await connection.fetchval("SELECT current_setting('server_version_num')"))
    finally:
        await connection.close()


def key_destinations(manifest: dict[str, Any], settings: Settings) -> dict[str, Path]:
    """Where each archived key section goes under `settings`."""
    destinations = {}
    for section in manifest["key_sections"]:
        if section == DATA_SECTION:
            destinations[section] = Path(settings.data_dir).expanduser().resolve()
            continue
        folder = getattr(settings, section, None)
        if not isinstance(folder, Path):
            raise BackupRefused(
                f"the backup holds keys from {section}; set COORDINATOR_{section.upper()} to "
                "the folder they go to"
            )
        destinations[section] = folder.expanduser().resolve()
    return destinations


def _target(member: tarfile.TarInfo, destinations: dict[str, Path]) -> Path:
    section, _, rest = member.name.partition("/")
    if section not in destinations or not rest or member.name.startswith("/"):
        raise BackupRefused(f"the key archive holds an unexpected entry {member.name!r}")
    return destinations[section] / rest


def check_keys(folder: Path, destinations: dict[str, Path], settings: Settings) -> None:
    """Refuse to overwrite any key file, or to put the signing keys where they are not read."""
    with tarfile.open(folder / KEYS) as archive:
        targets = [_target(member, destinations) for member in archive if member.isfile()]
    taken = [str(target) for target in targets if target.exists()]
    if taken:
        raise BackupRefused(
            f"{len(taken)} key files already exist (e.g. {taken[0]}); restore into new folders"
        )
    keyrings = {target.parent for target in targets if target.name == KEYRING}
    expected = signing_key_folder(settings)
    if keyrings and expected not in keyrings:
        raise BackupRefused(
            f"the signing keys would be restored to {', '.join(map(str, keyrings))} but the "
            f"service reads them from {expected}; set COORDINATOR_SIGNING_KEY_DIR accordingly"
        )


def extract_keys(folder: Path, destinations: dict[str, Path]) -> None:
    """Extract the key archive; every folder made private (0700), every file 0600."""
    written: list[Path] = []
    with tarfile.open(folder / KEYS) as archive:
        for member in archive:
            if not member.isfile():
                continue
            target = _target(member, destinations)
            root = destinations[member.name.partition("/")[0]]
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            member.name = target.relative_to(root).as_posix()
            archive.extract(member, path=root, filter="data")
            written.append(target)
    for target in written:
        target.chmod(0o600)
        for parent in target.parents:
            if not any(parent.is_relative_to(root) for root in destinations.values()):
                break
            parent.chmod(0o700)


async def _record(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        events = await connection.fetchval("SELECT count(*) FROM events")
        epoch = await connection.fetchval("SELECT max(epoch) FROM log_epochs")
    finally:
        await connection.close()
    return int(events), int(epoch)


async def _migrate(url: str, app_role: str | None) -> None:
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection, app_role=app_role)
    finally:
        await connection.close()


def restore(settings: Settings, url: str, folder: Path) -> Restored:
    """Restore the backup in `folder` into the (new) database at `url` and the key folders."""
    folder = folder.expanduser().resolve()
    manifest = read_manifest(folder)
    destinations = key_destinations(manifest, settings)
    check_keys(folder, destinations, settings)
    version = asyncio.run(prepare_database(url))
    newest = max(server_major(version), int(manifest["pg_dump"]["major"]))
    pg_restore = find_tool("pg_restore", newest, configured=settings.pg_bin_dir)
    arguments = ["--no-owner", "--no-acl", "--single-transaction", "--exit-on-error"]
    run_tool(pg_restore, [*arguments, str(folder / DUMP)], url)
    events, epoch_before = asyncio.run(_record(url))
    if events != manifest["database"]["events"]:
        raise BackupRefused(
            f"restored {events} events but the backup holds {manifest['database']['events']}"
        )
    asyncio.run(_migrate(url, settings.app_role))
    _, epoch_after = asyncio.run(_record(url))
    extract_keys(folder, destinations)
    return Restored(events, epoch_before, epoch_after, destinations)
