"""Versioned SQL migrations, applied in order under an advisory lock so two processes may race.

Each file in `events/store/migrations/` is applied once, in one transaction, and recorded with its
checksum; a changed file that was already applied is refused rather than silently skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from events.store.connection import create_pool
from events.store.errors import MigrationError

Connection = asyncpg.Connection | PoolConnectionProxy

# Any fixed 64-bit key: every process migrating this database takes the same lock.
_MIGRATION_LOCK = 0x486F6D6577617264  # "Homeward"


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file: its number, name and text."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text, recorded when it is applied."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """The migrations shipped with this version of Homeward, in order."""
    folder = resources.files("events.store") / "migrations"
    migrations = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            migrations.append(Migration(int(number), name, entry.read_text(encoding="utf-8")))
    return sorted(migrations, key=lambda migration: migration.version)


async def migrate(connection: Connection, *, app_role: str | None = None) -> list[int]:
    """Bring the schema up to date; returns the versions this call applied."""
    applied_now: list[int] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        # Created only when missing: even `IF NOT EXISTS` needs CREATE on the schema, which the
        # service's append-only role (COORDINATOR_APP_ROLE) does not have when it starts.
        if not await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            await connection.execute(
                """
                CREATE TABLE schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """,
            )
        rows = await connection.fetch("SELECT version, checksum FROM schema_migrations")
        done = {row["version"]: row["checksum"] for row in rows}
        for migration in available_migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} ({migration.name}) was changed after "
                        "it was applied; add a new migration instead",
                    )
                continue
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied_now.append(migration.version)
        await _open_new_epoch_after_restore(connection)
        if app_role is not None:
            await _grant_append_only(connection, app_role)
    return applied_now


async def pending_migrations(connection: Connection) -> list[int]:
    """The shipped migrations this database has not applied yet."""
    exists = await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done: set[int] = set()
    if exists:
        rows = await connection.fetch("SELECT version FROM schema_migrations")
        done = {row["version"] for row in rows}
    return [m.version for m in available_migrations() if m.version not in done]


async def _open_new_epoch_after_restore(connection: Connection) -> None:
    # After pg_restore the stored transaction ids can be ahead of this cluster's counter; new
    # events would then sort before old ones. A new epoch sorts after everything restored.
    restored_ahead = await connection.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM events
             WHERE epoch = current_log_epoch() AND xid >= pg_current_xact_id()
        )
        """,
    )
    if restored_ahead:
        epoch = await connection.fetchval(
            "INSERT INTO log_epochs (epoch, reason) "
            "SELECT max(epoch) + 1, 'transaction ids restarted (restore)' FROM log_epochs "
            "RETURNING epoch",
        )
        await connection.execute(f"ALTER TABLE events ALTER COLUMN epoch SET DEFAULT {int(epoch)}")


async def _grant_append_only(connection: Connection, role: str) -> None:
    # The service's own role may read and append to the record, never change or remove it
    # (invariant 1); read models it may maintain. A table is part of the record when a trigger
    # refuses changes to it.
    exists = await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role
    )
    if not exists:
        raise MigrationError(f"the database role {role!r} does not exist")
    quoted = await connection.fetchval("SELECT quote_ident($1)", role)
    tables = await connection.fetch(
        """
        SELECT quote_ident(c.relname) AS name,
               EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                        WHERE t.tgrelid = c.oid AND p.proname = 'refuse_change') AS append_only
          FROM pg_class c
         WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
        """,
    )
    for table in tables:
        rights = "SELECT, INSERT" if table["append_only"] else "SELECT, INSERT, UPDATE, DELETE"
        await connection.execute(f"REVOKE ALL ON {table['name']} FROM {quoted}")
        await connection.execute(f"GRANT {rights} ON {table['name']} TO {quoted}")
    await connection.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    await connection.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}")


async def migrated_pool(dsn: str, *, max_size: int) -> asyncpg.Pool:
    """A store pool on a schema brought up to date first: what a command line tool opens."""
    pool = await create_pool(dsn, min_size=1, max_size=max_size)
    try:
        async with pool.acquire() as connection:
            await migrate(connection)
    except BaseException:
        await pool.close()
        raise
    return pool
