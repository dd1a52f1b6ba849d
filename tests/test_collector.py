"""The service's garbage collector: startup's heap frozen, collections spaced out
(coordinator/cli/collector.py), in the process `coordinator serve` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.cli.collector import MIDDLE, OLD, YOUNG
from tests.databases import create_database, drop_database
from tests.services import running_service

SETTLE = """
import gc, json, weakref
from coordinator.cli.collector import settle_collector
class Node:
    pass
node = Node()
node.itself = node  # a cycle only the collector frees
freed = []
weakref.finalize(node, freed.append, True)
del node
before = gc.get_threshold()
frozen = settle_collector()
print(json.dumps([before, gc.get_threshold(), frozen, gc.get_freeze_count(), freed]))
"""


@pytest.mark.unit
def test_settling_collects_startup_garbage_then_freezes_and_spaces_collections() -> None:
    """In a fresh interpreter: CPython's defaults before; after, the service's thresholds and
    the heap frozen, startup's garbage collected first (frozen, it would stay for good)."""
    done = subprocess.run(  # noqa: S603  this interpreter, a fixed program
        [sys.executable, "-c", SETTLE], capture_output=True, text=True, check=True
    )
    before, after, frozen, counted, freed = json.loads(done.stdout)
    assert before == [700, 10, 10]
    assert after == [YOUNG, MIDDLE, OLD]
    assert frozen == counted > 1000, "the imported modules' objects are frozen"
    assert freed == [True], "startup's cycle was collected before the freeze, not frozen"


async def test_the_served_process_settles_its_collector_once_started(
    server_url: str, tmp_path: Path
) -> None:
    """`coordinator serve` logs the settling with the thresholds it set and what it froze."""
    database_url = await create_database(server_url)
    try:
        async with running_service(database_url, tmp_path) as service:
            settled = service.logged("collector_settled")
    finally:
        await drop_database(server_url, database_url)
    assert len(settled) == 1, service.log_tail()
    assert settled[0]["thresholds"] == [YOUNG, MIDDLE, OLD]
    assert settled[0]["frozen_objects"] > 10_000, "the service's imports and app are frozen"
