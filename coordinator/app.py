"""The composition root: `create_app` builds the service from settings and a database URL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from coordinator.auditing import run_audit_log
from coordinator.auth import Authenticator
from coordinator.http.access import AUTHENTICATOR
from coordinator.http.audit import setup_audit_routes
from coordinator.http.board import setup_board_routes
from coordinator.http.health import health, ready
from coordinator.http.listing import list_operations
from coordinator.http.metrics import measure_requests, setup_metrics
from coordinator.http.middleware import request_context
from coordinator.http.openapi import document, setup_openapi_routes
from coordinator.http.operations import setup_operation_routes
from coordinator.http.read_models import READ_MODEL_ROUTE_DOCS
from coordinator.http.stats import get_impact
from coordinator.keys import DATABASE_URL, POOL, SETTINGS, SIGNAL, STORE
from coordinator.metrics import METRICS, MeteredEventStore
from coordinator.projecting import run_projections
from coordinator.settings import Settings
from events.migrate import migrate
from events.signal import LogSignal
from events.store import create_pool

log = structlog.get_logger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    pool = await create_pool(
        app[DATABASE_URL],
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        idle_in_transaction_timeout_ms=settings.idle_in_transaction_timeout_ms,
    )
    async with pool.acquire() as connection:
        applied = await migrate(connection, app_role=settings.app_role)
    if applied:
        log.info("migrations_applied", versions=applied)
    signal = LogSignal()
    signal.start(app[DATABASE_URL])
    app[POOL] = pool
    app[SIGNAL] = signal
    app[STORE] = MeteredEventStore(pool, app[METRICS], on_append=signal.appended)
    app[AUTHENTICATOR] = Authenticator(pool)
    yield
    await signal.stop()
    await pool.close()


def setup_routes(app: web.Application) -> None:
    """Every route of the service."""
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/v1/operations", list_operations)
    setup_operation_routes(app)
    setup_audit_routes(app)
    setup_board_routes(app)
    app.router.add_get("/v1/stats/impact", get_impact)
    document(app, *READ_MODEL_ROUTE_DOCS)
    # The API's own description; routes are documented with coordinator.http.openapi.document.
    setup_openapi_routes(app)


def create_app(settings: Settings, database_url: str) -> web.Application:
    """The service, wired: pool, migrations, log signal, routes and middleware."""
    app = web.Application(
        middlewares=[measure_requests, request_context], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[DATABASE_URL] = database_url
    # Its own Prometheus registry and GET /metrics; measure_requests counts into it.
    setup_metrics(app)
    app.cleanup_ctx.append(_database)
    # Integrates the Merkle log and signs checkpoints while this process leads.
    app.cleanup_ctx.append(run_audit_log)
    if settings.run_projections:
        app.cleanup_ctx.append(run_projections)
    setup_routes(app)
    return app
