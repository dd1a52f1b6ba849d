"""Liveness and readiness: is the process up, and can it serve (database, schema, readers)."""

from __future__ import annotations

from aiohttp import web

from coordinator.http.answers import HealthAnswer, ReadyAnswer, answer
from coordinator.http.app_keys import POOL, SETTINGS, SIGNAL, STORE
from coordinator.service.projection_set import PROJECTION_NAMES
from events.store.errors import StoreError
from events.store.migrate import pending_migrations
from projections.engine.positions import lag_seconds

# Readers of the log wait for the oldest open transaction; beyond this they are too far behind.
MAX_READER_LAG_SECONDS = 30.0


async def health(_request: web.Request) -> web.Response:
    """The process is alive."""
    return answer(HealthAnswer, {"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """The service can serve: database reachable, migrations applied, readers not held back."""
    checks: dict[str, object] = {}
    ok = True
    try:
        async with request.app[POOL].acquire() as connection:
            pending = await pending_migrations(connection)
        checks["database"] = "reachable"
        checks["pending_migrations"] = pending
        ok = ok and not pending
        lag = await request.app[STORE].reader_lag_seconds()
        checks["reader_lag_seconds"] = round(lag, 3)
        ok = ok and lag < MAX_READER_LAG_SECONDS
        limit = request.app[SETTINGS].max_projection_lag_seconds
        lags: dict[str, float] = {}
        async with request.app[POOL].acquire() as connection:
            for name in PROJECTION_NAMES:
                lags[name] = round(await lag_seconds(connection, name), 3)
        checks["projection_lag_seconds"] = lags
        ok = ok and all(value < limit for value in lags.values())
    except (OSError, StoreError):
        checks["database"] = "unreachable"
        ok = False
    except Exception:  # noqa: BLE001  any driver failure means not ready, never a 500
        checks["database"] = "unreachable"
        ok = False
    checks["notifications"] = "connected" if request.app[SIGNAL].connected else "reconnecting"
    status = "ready" if ok else "not_ready"
    return answer(ReadyAnswer, {"status": status, "checks": checks}, status=200 if ok else 503)
