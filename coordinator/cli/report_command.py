"""`coordinator report [--from DATE] [--to DATE] [--format csv|json] [--out FILE]`: the impact
report, exact (as an admin sees it), for the operator on the server.

The impact tables are first brought up to the end of the log, unless a running service keeps them
(then they are as current as the board's figures). Exit status: 0 written; 2 when the period is
not understood or the database cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

import asyncpg

from coordinator.domain.actors import Role
from coordinator.errors import InvalidInput
from coordinator.http.stats import BYTE_ORDER_MARK, as_seen_by, period
from events.store.connection import init_connection
from events.store.errors import StoreError
from events.store.event_store import EventStore
from events.store.migrate import migrated_pool
from projections.engine.positions import load_checkpoint
from projections.engine.runner import apply_batch, projection_lock
from projections.read_models.impact import ImpactProjection
from projections.read_models.impact_reports import impact_report, report_csv

EXIT_WRITTEN = 0
EXIT_NOT_RUN = 2
_BATCH = 5_000


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `report`."""
    parser = commands.add_parser(
        "report",
        help="the impact report (exact figures) as CSV or JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from", dest="start", help="first day counted (ISO 8601, UTC)")
    parser.add_argument("--to", dest="end", help="the day after the last counted (ISO 8601)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--out", type=Path, help="write to this file (default: standard output)")


async def catch_up_impact(url: str, store: EventStore) -> int:
    """Apply to the impact tables the events past their checkpoint, as the runner would, unless
    a running service leads the projection; how many events were applied."""
    connection = await asyncpg.connect(url)
    await init_connection(connection)
    try:
        lock = projection_lock(ImpactProjection.name)
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", lock):
            return 0
        projection = ImpactProjection(store)
        cursor = await load_checkpoint(connection, projection.name)
        applied = 0
        while batch := await store.read_all(cursor, limit=_BATCH):
            await apply_batch(connection, projection, batch)
            cursor = batch[-1].cursor
            applied += len(batch)
        return applied
    finally:
        await connection.close()


async def run(url: str, arguments: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Write the report the arguments ask for; the exit status as the module doc says."""
    try:
        start, end = period(arguments.start, arguments.end)
    except InvalidInput as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_NOT_RUN
    try:
        pool = await migrated_pool(url, max_size=2)
    except (OSError, asyncpg.PostgresError, StoreError) as error:
        sys.stderr.write(f"error: cannot use the database: {error}\n")
        return EXIT_NOT_RUN
    try:
        await catch_up_impact(url, EventStore(pool))
        async with pool.acquire() as connection:
            figures = as_seen_by(await impact_report(connection, start, end), Role.ADMIN)
    finally:
        await pool.close()
    if arguments.format == "json":
        text = json.dumps(figures, ensure_ascii=False, indent=2) + "\n"
    else:
        text = report_csv(figures)
    if arguments.out is None:
        out.write(text)
    else:
        # The byte order mark tells spreadsheets the file is UTF-8 (Vietnamese names).
        bom = BYTE_ORDER_MARK if arguments.format == "csv" else ""
        arguments.out.write_text(bom + text, encoding="utf-8", newline="")
        out.write(f"report written to {arguments.out}\n")
    return EXIT_WRITTEN
