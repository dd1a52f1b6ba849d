"""The garbage collector's settings for a long-running service process.

CPython's defaults (a young-generation collection every 700 net allocations of container
objects, an old-generation one every 100 young ones) suit short scripts. The service keeps a
large heap that lives for hours (imported modules, pydantic's validators, the folded states of
the operations cache and of the projections), and every full collection walks all of it. Under
`ops/bench_http.py` with the defaults, the collector took about a third of the service's CPU
(64 full collections of about 56 ms each, plus 8,500 younger ones, in a one-round run), and the
more an append allocates, the more often it ran: sealing's few extra objects cost more in
collections than in encryption.

So, once the service has started: what startup left is collected, then frozen (moved where no
collection looks again, `gc.freeze`), and young collections wait for `YOUNG` allocations. Cycles
are still collected, only in larger, rarer sweeps; the memory this costs is measured by
`ops/load_test.py` (peak RSS) and given in the README (Deploying it, Memory).
"""

from __future__ import annotations

import gc

YOUNG = 50_000
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
