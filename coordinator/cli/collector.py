"""The garbage collector's settings for a long-running service process.

The service keeps a heap that lives for hours (imported modules, pydantic's validators, the
folded states of the operations cache and of the projections), and every full collection walks
all of it. With CPython's defaults, under `ops/bench_http.py` the collector took about 6 s of the
service's CPU in one round (64 full collections of about 56 ms each made 3.6 s), and HTTP appends
fell from 1,819 to 1,352 a second over five rounds as the heap grew (p99 from 73 to 123 ms).

So, once the service has started, what startup left is collected, the rest frozen (`gc.freeze`:
no collection looks at it again), and young collections wait for `YOUNG` allocations instead of
700. Measured on the same two-core machine:

- `ops/bench_http.py`: 1,889 appends a second with these settings (two rounds), 1,771 with the
  freeze alone; 50,000 allocations gained little more and lengthened each pause (p99 at 200
  appends a second went to 75 ms);
- `ops/load_test.py`, 5 minutes at 200 appends a second with 50 board clients: appends p50 3.0
  ms, p99 19.9 ms (22.2 ms before), peak RSS 126 MB (129 MB before): cycles are still
  collected, and memory is no higher.
"""

from __future__ import annotations

import gc

YOUNG = 10_000
"""Net allocations of container objects between young-generation collections (CPython: 700)."""
MIDDLE = 10
"""Young collections between middle-generation ones (CPython's default)."""
OLD = 10
"""Middle collections between full ones (CPython's default; CPython also waits until the
objects that survived since the last full collection are a quarter of the old generation)."""


def settle_collector() -> int:
    """Collect startup's garbage, freeze what is left, and space the collections out; returns
    how many objects were frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    return gc.get_freeze_count()
