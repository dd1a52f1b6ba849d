"""One middleware gives every request an id and turns every error into `{"error", "detail"}`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from coordinator.errors import CoordinatorError, RateLimited
from coordinator.http.app_keys import REQUEST_ID
from events.store.connection import translate_errors
from events.store.errors import (
    DuplicateEventConflict,
    InvalidEventData,
    LogIsAppendOnly,
    StoreUnavailable,
    VersionConflict,
)

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_HEADER = "X-Request-Id"


def error_response(status: int, code: str, detail: str, **extra: object) -> web.Response:
    """The contract's error body."""
    body = {"error": code, "detail": detail, **extra}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _request_id(request: web.Request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    # Accept a client's id only when it is short and plain, so it can never carry anything else.
    if 0 < len(supplied) <= 64 and all(c.isalnum() or c in "-_." for c in supplied):
        return supplied
    return uuid.uuid4().hex


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id to the logs and the answer, and map errors to statuses."""
    request_id = _request_id(request)
    request[REQUEST_ID] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await _answer(request, handler)
        # The route's pattern, never the raw path or query (ids are fine, but keep lines uniform).
        resource = request.match_info.route.resource
        log.info(
            "request",
            method=request.method,
            route=resource.canonical if resource is not None else "unmatched",
            status=response.status,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


async def plain_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """Headers of every answer, streams too: the type is never sniffed (a JSON error is never
    read as a page), and the server names no software versions to look up flaws for."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers["Server"] = "Homeward"


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        # Handlers that query the pool themselves (board, lists, figures) meet a database that
        # went away too: the store's one translation makes that a StoreUnavailable, a 503.
        with translate_errors():
            return await handler(request)
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        reason = http_error.reason
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            http_error.status, "http_error"
        )
        return error_response(http_error.status, code, reason)
    except RateLimited as limited:
        response = error_response(limited.status, limited.code, str(limited))
        response.headers["Retry-After"] = str(int(limited.retry_after))
        return response
    except CoordinatorError as error:
        return error_response(error.status, error.code, str(error))
    except VersionConflict as conflict:
        return error_response(
            409, "version_conflict", str(conflict), actual_version=conflict.actual
        )
    except DuplicateEventConflict as conflict:
        return error_response(409, "event_id_conflict", str(conflict))
    except StoreUnavailable as unavailable:
        log.warning("database_unavailable")
        return error_response(503, "database_unavailable", str(unavailable))
    except InvalidEventData as invalid:
        return error_response(422, "validation_error", str(invalid))
    except LogIsAppendOnly as refused:
        return error_response(409, "append_only", str(refused))
    except Exception:  # the one boundary that answers anything unexpected, without leaking it
        log.exception("unhandled_error", path=request.path, method=request.method)
        return error_response(500, "internal_error", "an unexpected error occurred; see logs")
