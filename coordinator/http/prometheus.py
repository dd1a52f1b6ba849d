"""`GET /metrics` for Prometheus, and the middleware that counts and times every request.

Requests are labelled by the route's pattern (`/v1/operations/{operation_id}`), never the raw
path, so ids cannot multiply the series; paths that match no route share one label.
"""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from coordinator.http.access import LEADERSHIP_AND_ADMIN, authorise
from coordinator.http.app_keys import POOL, STORE
from coordinator.http.audit_log import AUDIT_LOG
from coordinator.http.middleware import Handler
from coordinator.http.openapi import RouteDoc, document
from coordinator.http.projecting import BOARD_FEED, RUNNERS
from coordinator.metrics import METRICS, ProcessState, ServiceMetrics
from coordinator.service.projection_set import PROJECTION_NAMES

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(request: web.Request) -> str:
    """The pattern of the route that served `request`, or `unmatched`."""
    resource = request.match_info.route.resource
    return UNMATCHED if resource is None else resource.canonical


@web.middleware
async def measure_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every answer by method, route and status, and time it."""
    metrics = request.app[METRICS]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as http_exception:  # redirects pass through the error middleware
        status = http_exception.status
        raise
    finally:
        method = request.method if request.method in _METHODS else "other"
        route = route_label(request)
        metrics.requests.labels(method, route, str(status)).inc()
        metrics.latency.labels(method, route).observe(time.perf_counter() - started)
    return response


def process_state(app: web.Application) -> ProcessState:
    """This process's pool, live board clients and leaderships, as far as they are running."""
    pool = app.get(POOL)
    feed = app.get(BOARD_FEED)
    runners = app.get(RUNNERS)
    audit_log = app.get(AUDIT_LOG)
    return ProcessState(
        pool_connections=None if pool is None else pool.get_size(),
        pool_idle_connections=None if pool is None else pool.get_idle_size(),
        pool_max_connections=None if pool is None else pool.get_max_size(),
        board_clients=None if feed is None else feed.clients,
        projections_leading=(
            None
            if runners is None
            else {runner.projection.name: runner.leading for runner in runners}
        ),
        merkle_log_leading=None if audit_log is None else audit_log.integrator.leading,
    )


async def get_metrics(request: web.Request) -> web.Response:
    """Every metric of this process, in the Prometheus text format, for a leadership or admin
    token (Prometheus sends one with `authorization: credentials_file`)."""
    await authorise(request, LEADERSHIP_AND_ADMIN)
    app = request.app
    metrics = app[METRICS]
    pool, store = app.get(POOL), app.get(STORE)
    if pool is not None and store is not None:
        await metrics.refresh(pool, store, PROJECTION_NAMES)
    body = metrics.render(process_state(app))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


METRICS_ROUTE_DOC = RouteDoc(
    "GET",
    "/metrics",
    "Prometheus metrics of this process: requests, appends, projection lag, pool, live clients.",
    LEADERSHIP_AND_ADMIN,
    tag="service",
    needs_database=False,
    content_type="text/plain",
    description="The Prometheus text exposition format. Requests are labelled by route pattern "
    "and status; `homeward_projection_lag_seconds`, `homeward_merkle_log_size` and "
    "`homeward_checkpoint_age_seconds` are read from the database at each scrape and left out "
    "(with `homeward_database_up` 0) when it does not answer. It needs a token (leadership or "
    "admin: create one for Prometheus alone), since route counts and pool sizes tell an "
    "outsider how the service is used; serve it to Prometheus only, not to the internet.",
)


def setup_metrics(app: web.Application) -> None:
    """Give `app` its own metrics registry and serve it at /metrics."""
    app[METRICS] = ServiceMetrics()
    app.router.add_get("/metrics", get_metrics)
    document(app, METRICS_ROUTE_DOC)
