"""`coordinator projections rebuild [NAME]`: rebuild projections from the log, with progress."""

from __future__ import annotations

import argparse
import sys

from rich.progress import TaskID

from coordinator.cli.progress import progress_bar
from coordinator.service.projection_set import (
    PROJECTION_NAMES,
    build_projections,
    rebuilt_projection,
)
from events.store.migrate import migrated_pool
from projections.engine.rebuild import ProjectionBusy, rebuild
from projections.engine.stream_rebuild import HelperFailed, default_workers


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `projections rebuild [NAME]`."""
    projections = commands.add_parser("projections", help="rebuild read models from the log")
    actions = projections.add_subparsers(dest="projections_command", required=True)
    rebuild_parser = actions.add_parser("rebuild", help="rebuild one projection or all")
    rebuild_parser.add_argument("name", nargs="?", choices=PROJECTION_NAMES)
    rebuild_parser.add_argument(
        "--workers",
        type=_processes,
        default=default_workers(),
        help="processes folding operations at once (default: one per processor, at most 4)",
    )


def _processes(text: str) -> int:
    count = int(text)
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("the number of processes must be from 1 to 64")
    return count


async def run(url: str, arguments: argparse.Namespace) -> int:
    """Rebuild the named projection (or every one); 1 if a running service holds one."""
    from events.store.event_store import EventStore  # noqa: PLC0415

    pool = await migrated_pool(url, max_size=4)
    store = EventStore(pool)
    chosen = [p for p in build_projections(store, live=False) if arguments.name in {None, p.name}]
    try:
        with progress_bar() as progress:
            for projection in chosen:
                task = progress.add_task(f"rebuilding {projection.name}", total=None)

                def advance(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                applied = await rebuild(
                    projection,
                    store,
                    url,
                    progress=advance,
                    workers=arguments.workers,
                    factory=rebuilt_projection,
                )
                progress.console.print(f"{projection.name}: {applied} events applied")
    except (ProjectionBusy, HelperFailed) as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    return 0
