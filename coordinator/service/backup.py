"""Backups of an installation, and their restore: the database and the key files, together.

A backup is one private folder, `homeward-<UTC time>` (mode 0700, files 0600), holding
`database.pgdump` (pg_dump's custom format), `keys.tar` (the data folder without the embedded
database, plus every key folder a `*_key_dir` setting keeps outside it) and `manifest.json`
(what was saved, with each file's SHA-256). The keys are archived after the database, so every
checkpoint in the dump was signed by a key in the archive: keyrings keep every public key.

A restore refuses a database that already holds tables and key files that already exist: it
never mixes two installations. It ends with the migrations, which open a new log epoch when the
new server's transaction ids are behind the restored ones (events/store/migrate.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from coordinator.service.pg_tools import find_tool, run_tool, server_major
from coordinator.settings import Settings

FORMAT = "homeward-backup/1"
DUMP = "database.pgdump"
KEYS = "keys.tar"
MANIFEST = "manifest.json"
DATA_SECTION = "data"
# Inside the data folder but not key files: the embedded cluster (its data is in the dump).
EMBEDDED_CLUSTER = "postgres"


class BackupRefused(RuntimeError):
    """A backup or restore that would be unsafe or that cannot be done; the message says why."""


def key_sections(settings: Settings) -> dict[str, Path]:
    """Where key files live: the data folder, and each `*_key_dir` setting outside it."""
    data_dir = Path(settings.data_dir).expanduser().resolve()
    sections = {DATA_SECTION: data_dir}
    for name in sorted(type(settings).model_fields):
        value = getattr(settings, name)
        if name.endswith("key_dir") and isinstance(value, Path):
            folder = value.expanduser().resolve()
            if not folder.is_relative_to(data_dir):
                sections[name] = folder
    return sections


def _private_file(path: Path) -> int:
    """A new file only its owner may read or write (never an existing one)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


async def database_facts(url: str) -> dict[str, Any]:
    """The server's version and the size of the record, to name in the manifest and compare."""
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            """
            SELECT current_setting('server_version_num')::int AS server_version_num,
                   current_database() AS database,
                   (SELECT count(*) FROM events) AS events,
                   (SELECT max(epoch) FROM log_epochs) AS epoch,
                   (SELECT max(tree_size) FROM signed_checkpoints) AS checkpoint_tree_size
            """
        )
    except asyncpg.UndefinedTableError:
        raise BackupRefused("the database holds no Homeward record (run migrate first)") from None
    finally:
        await connection.close()
    assert row is not None  # noqa: S101 -- a select without FROM answers one row
    return dict(row)


def _archive_keys(archive_path: Path, sections: dict[str, Path], skip: set[Path]) -> list[str]:
    """Write every regular file of `sections` into a new private tar; returns the names."""
    names = []
    with (
        os.fdopen(_private_file(archive_path), "wb") as raw,
        tarfile.open(fileobj=raw, mode="w") as archive,
    ):
        for section, root in sections.items():
            if not root.is_dir():
                continue
            for folder, subfolders, files in os.walk(root):
                here = Path(folder)
                subfolders[:] = sorted(d for d in subfolders if here / d not in skip)
                for name in sorted(files):
                    path = here / name
                    if path.is_symlink() or not path.is_file():
                        continue
                    member = f"{section}/{path.relative_to(root).as_posix()}"
                    archive.add(path, arcname=member, recursive=False)
                    names.append(member)
        raw.flush()
        os.fsync(raw.fileno())
    return names


def back_up(settings: Settings, url: str, output_dir: Path) -> Path:
    """Dump the database and archive the key files into a new private folder; returns it."""
    facts = asyncio.run(database_facts(url))
    major = server_major(facts["server_version_num"])
    pg_dump = find_tool("pg_dump", major, configured=settings.pg_bin_dir)
    output_dir = output_dir.expanduser().resolve()
    output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = output_dir / f"homeward-{stamp}"
    folder.mkdir(mode=0o700)  # a new folder: never one someone else prepared
    folder.chmod(0o700)
    with os.fdopen(_private_file(folder / DUMP), "wb") as dump:
        run_tool(pg_dump, ["--format=custom", "--compress=6"], url, stdout=dump.fileno())
        dump.flush()
        os.fsync(dump.fileno())
    sections = key_sections(settings)
    skip = {sections[DATA_SECTION] / EMBEDDED_CLUSTER, output_dir}
    archived = _archive_keys(folder / KEYS, sections, skip)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "database": facts,
        "pg_dump": {"path": str(pg_dump.path), "major": pg_dump.major},
        "key_sections": {name: str(path) for name, path in sections.items()},
        "key_files": archived,
        "files": {name: _sha256(folder / name) for name in (DUMP, KEYS)},
    }
    with os.fdopen(_private_file(folder / MANIFEST), "w", encoding="utf-8") as file:
        json.dump(manifest, file, indent=2, default=str)
        file.write("\n")
    _fsync(folder)
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, once every file it lists matches its checksum."""
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupRefused(f"{folder} is not a Homeward backup: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"{folder} is not a {FORMAT} backup")
    for name, expected in manifest["files"].items():
        if _sha256(folder / name) != expected:
            raise BackupRefused(f"{folder / name} does not match its checksum: damaged or changed")
    return manifest
