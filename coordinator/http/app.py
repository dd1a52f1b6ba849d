"""The composition root: `create_app` builds the service from settings and a database URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from coordinator.errors import StartupRefused
from coordinator.http.access import AUTHENTICATOR
from coordinator.http.alerts import ALERT_ROUTE_DOCS, run_alert_webhook, setup_alert_routes
from coordinator.http.app_keys import (
    DATABASE_URL,
    OPERATIONS,
    POOL,
    PRIVACY,
    SETTINGS,
    SIGNAL,
    STORE,
)
from coordinator.http.audit import setup_audit_routes
from coordinator.http.audit_log import run_audit_log
from coordinator.http.board import setup_board_routes
from coordinator.http.break_glass import BREAK_GLASS_ROUTE_DOC, setup_break_glass_routes
from coordinator.http.core_routes import CORE_ROUTE_DOCS
from coordinator.http.cors import cors_middleware
from coordinator.http.court import setup_court_routes
from coordinator.http.erasure import ERASURE_ROUTE_DOC, erase_personal_data
from coordinator.http.health import health, ready
from coordinator.http.limits import LIMITER, READ_LIMITER, WriteLimiter
from coordinator.http.listing import list_operations
from coordinator.http.middleware import plain_headers, request_context
from coordinator.http.openapi import document, setup_openapi_routes
from coordinator.http.operations import setup_operation_routes
from coordinator.http.projecting import run_projections
from coordinator.http.prometheus import measure_requests, setup_metrics
from coordinator.http.prosecution_trail import PROSECUTION_TRAIL_DOC, setup_prosecution_trail
from coordinator.http.prosecutions import PROSECUTION_ROUTE_DOCS, setup_prosecution_routes
from coordinator.http.read_answers import READ_MODEL_ROUTE_DOCS
from coordinator.http.stats import setup_stats_routes
from coordinator.http.survivors import SURVIVOR_ROUTE_DOCS, setup_survivor_routes
from coordinator.metrics import METRICS, MeteredEventStore
from coordinator.service.operation_cache import OperationCache
from coordinator.service.privacy.kek import load_keks
from coordinator.service.privacy.service import Privacy
from coordinator.service.tokens import Authenticator
from coordinator.settings import Settings, personal_key_folder
from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.migrate import migrate

log = structlog.get_logger(__name__)


async def _refuse_missing_keks(privacy: Privacy, folder: Path) -> None:
    missing = await privacy.data_keys.missing_keks()
    if missing:
        raise StartupRefused(
            f"the database's personal data keys are wrapped by KEK {', '.join(missing)}, whose "
            f"key file is not in {folder}: start with the key folder that belongs to this "
            "database (restore it from the backup taken with it)"
        )


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    pool = await create_pool(
        app[DATABASE_URL],
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        idle_in_transaction_timeout_ms=settings.idle_in_transaction_timeout_ms,
    )
    try:
        async with pool.acquire() as connection:
            applied = await migrate(connection, app_role=settings.app_role)
        folder = personal_key_folder(settings)
        privacy = Privacy(pool, load_keks(folder))
        await _refuse_missing_keks(privacy, folder)
    except BaseException:
        await pool.close()
        raise
    if applied:
        log.info("migrations_applied", versions=applied)
    signal = LogSignal()
    signal.start(app[DATABASE_URL])
    app[POOL] = pool
    app[SIGNAL] = signal
    app[STORE] = MeteredEventStore(pool, app[METRICS], on_append=signal.appended)
    app[AUTHENTICATOR] = Authenticator(pool)
    app[PRIVACY] = privacy
    app[OPERATIONS] = OperationCache(int(settings.operation_cache_mb * 1024 * 1024))
    yield
    await signal.stop()
    await pool.close()


def setup_routes(app: web.Application) -> None:
    """Every route of the service."""
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/v1/operations", list_operations)
    setup_operation_routes(app)
    setup_survivor_routes(app)
    document(app, *SURVIVOR_ROUTE_DOCS)
    setup_prosecution_routes(app)
    document(app, *PROSECUTION_ROUTE_DOCS)
    setup_prosecution_trail(app)
    document(app, PROSECUTION_TRAIL_DOC)
    app.router.add_delete("/v1/survivors/{survivor_id}/personal-data", erase_personal_data)
    document(app, ERASURE_ROUTE_DOC)
    setup_audit_routes(app)
    setup_break_glass_routes(app)
    document(app, BREAK_GLASS_ROUTE_DOC)
    setup_court_routes(app)
    setup_board_routes(app)
    setup_stats_routes(app)
    document(app, *READ_MODEL_ROUTE_DOCS)
    setup_alert_routes(app)
    document(app, *ALERT_ROUTE_DOCS)
    # The API's own description; routes are documented with coordinator.http.openapi.document.
    setup_openapi_routes(app)
    document(app, *CORE_ROUTE_DOCS)


def create_app(settings: Settings, database_url: str) -> web.Application:
    """The service, wired: pool, migrations, log signal, routes and middleware."""
    middlewares: list[Middleware] = [measure_requests, request_context]
    if settings.cors_origins:
        middlewares.insert(0, cors_middleware(settings.cors_origins))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app.on_response_prepare.append(plain_headers)
    app[SETTINGS] = settings
    app[LIMITER] = WriteLimiter(settings.write_rate_per_minute, settings.write_burst)
    app[READ_LIMITER] = WriteLimiter(
        settings.personal_read_rate_per_minute,
        settings.personal_read_burst,
        "read of personal data",
    )
    app[DATABASE_URL] = database_url
    # Its own Prometheus registry and GET /metrics; measure_requests counts into it.
    setup_metrics(app)
    app.cleanup_ctx.append(_database)
    # Integrates the Merkle log and signs checkpoints while this process leads.
    app.cleanup_ctx.append(run_audit_log)
    if settings.run_projections:
        app.cleanup_ctx.append(run_projections)
    # Delivers each new alert once (across replicas) when a webhook is configured.
    app.cleanup_ctx.append(run_alert_webhook)
    setup_routes(app)
    return app
