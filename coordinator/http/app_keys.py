"""Typed keys under which the app holds its resources; handlers reach them only through these."""

from __future__ import annotations

from aiohttp import web
from asyncpg import Pool

from coordinator.service.operation_cache import OperationCache
from coordinator.service.privacy.service import Privacy
from coordinator.settings import Settings
from events.feed.signal import LogSignal
from events.store.event_store import EventStore

SETTINGS = web.AppKey("settings", Settings)
DATABASE_URL = web.AppKey("database_url", str)
POOL = web.AppKey("pool", Pool)
STORE = web.AppKey("store", EventStore)
SIGNAL = web.AppKey("signal", LogSignal)
REQUEST_ID = web.RequestKey("request_id", str)
PRIVACY = web.AppKey("privacy", Privacy)
OPERATIONS = web.AppKey("operations", OperationCache)
