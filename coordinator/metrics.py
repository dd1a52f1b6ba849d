"""The service's Prometheus metrics: one registry per app, so every app (and test) counts alone.

Requests and appends are counted as they happen; the state of the log, the projections, the
pool and the live board is read when Prometheus scrapes (`refresh`, then `render`), so a value
is never older than the scrape that shows it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from events.store.envelope import Appended, NewEvent
from events.store.errors import DuplicateEventConflict, StoreError, VersionConflict
from events.store.event_store import EventStore
from projections.engine.positions import lag_seconds

# Buckets from a fast read (a few ms) to a slow batch append on a busy database (10 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCRAPE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class LogState:
    """What the database says at scrape time (None: the database did not answer)."""

    projection_lag_seconds: dict[str, float]
    reader_lag_seconds: float
    merkle_log_size: int
    checkpoint_tree_size: int | None
    checkpoint_age_seconds: float | None


@dataclass(frozen=True, slots=True)
class ProcessState:
    """This process's own state at scrape time (None: that part of the app is not running)."""

    pool_connections: int | None = None
    pool_idle_connections: int | None = None
    pool_max_connections: int | None = None
    board_clients: int | None = None
    projections_leading: dict[str, bool] | None = None
    merkle_log_leading: bool | None = None


class ServiceMetrics:
    """The counters the app updates, and the gauges read from its state at each scrape.

    In a worker of several (`PROMETHEUS_MULTIPROC_DIR` set by the supervisor), counters and
    histograms are kept in files there and summed over all workers at each scrape; the gauges of
    process state are those of the worker that answers.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        shared = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # In multiprocess mode the values live in files; the collector below reads them all.
        counted = None if shared else self.registry
        self.requests = Counter(
            "homeward_http_requests",
            "HTTP requests answered, by method, route pattern and status.",
            ["method", "route", "status"],
            registry=counted,
        )
        self.latency = Histogram(
            "homeward_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern (streams: their length).",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=counted,
        )
        self.append_batches = Counter(
            "homeward_append_batches",
            "Batches appended to operations by the service, by outcome.",
            ["outcome"],
            registry=counted,
        )
        self.events_appended = Counter(
            "homeward_events_appended",
            "Events appended to the log by the service (re-sends not counted).",
            registry=counted,
        )
        if shared:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        # CPU, memory, open files and start time of this process (where /proc exists).
        ProcessCollector(registry=self.registry)
        self._state = _StateCollector()
        self.registry.register(self._state)

    async def refresh(
        self, pool: asyncpg.Pool, store: EventStore, projections: Sequence[str]
    ) -> None:
        """Read the log's state from the database for the next `render`."""
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
                self._state.log = await read_log_state(pool, store, projections)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, StoreError):
            self._state.log = None

    def render(self, process: ProcessState) -> bytes:
        """Every metric in the Prometheus text format, with this process's state as given."""
        self._state.process = process
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", ServiceMetrics)


async def read_log_state(
    pool: asyncpg.Pool, store: EventStore, projections: Sequence[str]
) -> LogState:
    """Projection lag, reader lag, the Merkle log's size and the last checkpoint's age."""
    async with pool.acquire() as connection:
        lags = {name: await lag_seconds(connection, name) for name in projections}
        # The latest checkpoint by its primary key, not a scan for the newest time.
        row = await connection.fetchrow(
            """
            SELECT (SELECT coalesce(max(leaf_index) + 1, 0) FROM merkle_leaves) AS leaves,
                   c.tree_size, extract(epoch FROM now() - c.signed_at) AS age
              FROM (SELECT 1) AS one
              LEFT JOIN LATERAL (SELECT tree_size, signed_at FROM signed_checkpoints
                                  ORDER BY tree_size DESC LIMIT 1) AS c ON true
            """
        )
    assert row is not None  # noqa: S101 -- a select from (SELECT 1) always answers one row
    return LogState(
        projection_lag_seconds=lags,
        reader_lag_seconds=await store.reader_lag_seconds(),
        merkle_log_size=int(row["leaves"]),
        checkpoint_tree_size=row["tree_size"],
        checkpoint_age_seconds=None if row["age"] is None else max(float(row["age"]), 0.0),
    )


@dataclass(slots=True, eq=False)  # the registry keys collectors by identity
class _StateCollector:
    """Gauges built at each scrape from the last `LogState` and this process's state."""

    process: ProcessState = field(default_factory=ProcessState)
    log: LogState | None = None

    def describe(self) -> Iterator[Metric]:
        """The families this collector yields (names only), so the registry can check them."""
        yield from self._families(with_samples=False)

    def collect(self) -> Iterator[Metric]:
        """The families with their current values."""
        yield from self._families(with_samples=True)

    def _families(self, *, with_samples: bool) -> Iterator[Metric]:
        gauges = _Gauges(with_samples=with_samples)
        log = self.log
        gauges.add(
            "homeward_database_up",
            "1 if the database answered the last scrape's queries.",
            0.0 if log is None else 1.0,
        )
        gauges.add(
            "homeward_projection_lag_seconds",
            "Age of the oldest event a projection has not applied yet (0 when current).",
            None if log is None else log.projection_lag_seconds,
            label="projection",
        )
        gauges.add(
            "homeward_log_reader_lag_seconds",
            "Age of the oldest writing transaction: how long readers of the log may be held.",
            None if log is None else log.reader_lag_seconds,
        )
        gauges.add(
            "homeward_merkle_log_size",
            "Events integrated into the Merkle log (its leaves).",
            None if log is None else log.merkle_log_size,
        )
        gauges.add(
            "homeward_checkpoint_tree_size",
            "Tree size of the latest signed checkpoint.",
            None if log is None else log.checkpoint_tree_size,
        )
        gauges.add(
            "homeward_checkpoint_age_seconds",
            "Age of the latest signed checkpoint.",
            None if log is None else log.checkpoint_age_seconds,
        )
        self._process_families(gauges)
        yield from gauges.families

    def _process_families(self, gauges: _Gauges) -> None:
        process = self.process
        gauges.add(
            "homeward_db_pool_connections",
            "Connections this process's pool holds open.",
            process.pool_connections,
        )
        gauges.add(
            "homeward_db_pool_idle_connections",
            "Open connections of the pool not in use.",
            process.pool_idle_connections,
        )
        gauges.add(
            "homeward_db_pool_max_connections",
            "Most connections the pool may open.",
            process.pool_max_connections,
        )
        gauges.add(
            "homeward_board_stream_clients",
            "Live board (server-sent events) clients this process feeds.",
            process.board_clients,
        )
        leading = process.projections_leading
        gauges.add(
            "homeward_projection_leading",
            "1 where this process is the leader that advances the projection.",
            None if leading is None else {name: float(lead) for name, lead in leading.items()},
            label="projection",
        )
        merkle = process.merkle_log_leading
        gauges.add(
            "homeward_merkle_log_leading",
            "1 if this process integrates the Merkle log and signs its checkpoints.",
            None if merkle is None else float(merkle),
        )


@dataclass(slots=True)
class _Gauges:
    """Gauge families; a value of None leaves the family without samples (unknown, not 0)."""

    with_samples: bool
    families: list[Metric] = field(default_factory=list)

    def add(
        self,
        name: str,
        documentation: str,
        value: float | dict[str, float] | None,
        *,
        label: str | None = None,
    ) -> None:
        family = GaugeMetricFamily(name, documentation, labels=[label] if label else None)
        if self.with_samples and value is not None:
            if isinstance(value, dict):
                for key, sample in sorted(value.items()):
                    family.add_metric([key], sample)
            else:
                family.add_metric([], value)
        self.families.append(family)


class MeteredEventStore(EventStore):
    """The event store, counting this process's appended batches and events by outcome."""

    def __init__(self, pool: asyncpg.Pool, metrics: ServiceMetrics, **options: Any) -> None:
        super().__init__(pool, **options)
        self._metrics = metrics

    async def append(
        self,
        stream_id: UUID,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = None,
    ) -> Appended:
        """Append as the store does, and count the outcome."""
        try:
            appended = await super().append(stream_id, events, expected_version=expected_version)
        except (VersionConflict, DuplicateEventConflict):
            self._metrics.append_batches.labels("conflict").inc()
            raise
        if appended.duplicate:
            self._metrics.append_batches.labels("duplicate").inc()
        else:
            self._metrics.append_batches.labels("appended").inc()
            self._metrics.events_appended.inc(len(appended.events))
        return appended
