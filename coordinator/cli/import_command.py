"""`coordinator import-csv FILE`: import an organisation's historical rescue records.

Exit status: 0 when every row is in the log (imported now or by an earlier run); 1 when the run
finished but rows were rejected or operations skipped or changed (the rest is imported, the report
says which is which); 2 when the import could not run (file unreadable, a required column
missing, database unreachable) or stopped part way (running it again completes it: operations
already stored are recognised and left alone).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import TextIO

import asyncpg

from coordinator.cli.progress import progress_bar
from coordinator.service.importing import cells
from coordinator.service.importing.cells import BadCell, DateReader
from coordinator.service.importing.importer import import_sheet
from coordinator.service.importing.report import lines, write_rejects
from coordinator.service.importing.sheet import SheetError, read_sheet
from events.catalogue import Channel
from events.feed.signal import CHANNEL
from events.store.errors import StoreError
from events.store.event_store import EventStore
from events.store.migrate import migrated_pool

EXIT_CLEAN = 0
EXIT_REFUSED_ROWS = 1
EXIT_NOTHING_IMPORTED = 2


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `import-csv FILE`."""
    parser = commands.add_parser(
        "import-csv",
        help="import historical rescue records from a spreadsheet export (one row per survivor)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the CSV file (UTF-8; comma, semicolon or tab)")
    parser.add_argument(
        "--organisation",
        default="default",
        help="the organisation whose references the sheet uses; keep it the same on every run "
        "(imported ids derive from it and the references)",
    )
    parser.add_argument("--rejects", type=Path, help="write the rows not imported to this CSV")
    parser.add_argument(
        "--default-channel",
        choices=[channel.value for channel in Channel],
        help="who asked for help, for operations whose rows leave the channel empty",
    )
    parser.add_argument(
        "--utc-offset",
        default="+07:00",
        help="the zone the sheet's calendar days are in (default +07:00, Vietnam)",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and report, append nothing")


async def run(url: str, arguments: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Import the file named in `arguments`; the exit status as the module doc says."""
    try:
        zone = cells.utc_offset(arguments.utc_offset)
        sheet = read_sheet(arguments.file)
    except (BadCell, SheetError) as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_NOTHING_IMPORTED
    try:
        pool = await migrated_pool(url, max_size=8)
    except (OSError, asyncpg.PostgresError, StoreError) as error:
        sys.stderr.write(f"error: cannot use the database: {error}\n")
        return EXIT_NOTHING_IMPORTED
    try:
        with progress_bar() as progress:
            task = progress.add_task(f"importing {arguments.file.name}", total=None)
            report = await import_sheet(
                EventStore(pool),
                sheet,
                file_name=arguments.file.name,
                organisation=arguments.organisation,
                dates=DateReader(zone, datetime.now(zone).date()),
                run_id=uuid.uuid4(),
                default_channel=Channel(arguments.default_channel)
                if arguments.default_channel
                else None,
                dry_run=arguments.dry_run,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        # Running services follow the log; tell them it grew (a hint, they would poll anyway).
        await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, f"import-{report.run_id}")
    except StoreError as error:
        sys.stderr.write(f"error: the import stopped: {error}\n")
        return EXIT_NOTHING_IMPORTED
    finally:
        await pool.close()
    for line in lines(report):
        out.write(f"{line}\n")
    if arguments.rejects is not None:
        written = write_rejects(report, arguments.rejects)
        out.write(f"{written} rows not imported written to {arguments.rejects}\n")
    return EXIT_CLEAN if report.clean else EXIT_REFUSED_ROWS
