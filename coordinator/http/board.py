"""The leadership board: as JSON, as a live stream of server-sent events, and as a page.

The stream's event ids are global positions. A client that reconnects with `Last-Event-ID`
receives every row that changed after that event (looked up by its cursor, not by position,
since positions may commit out of order), then the live changes; nothing is missed.

The stream is written here rather than with aiohttp-sse: rows that arrive together go out in one
write (with many clients, a send per row starved the event loop), and an event is one line of
`id`, `event` and `data`.
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

from aiohttp import web

from coordinator.errors import BadRequest
from coordinator.http.access import LEADERSHIP_AND_ADMIN, authorise
from coordinator.http.answers import answer
from coordinator.http.app_keys import POOL, STORE
from coordinator.http.projecting import BOARD_FEED
from coordinator.http.read_answers import BoardAnswer
from events.store.envelope import Cursor
from projections.read_models.board import COLUMNS, board_row, board_rows_after

HEARTBEAT_SECONDS = 15.0
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def get_board(request: web.Request) -> web.Response:
    """Every open operation's board row, most recently updated first."""
    await authorise(request, LEADERSHIP_AND_ADMIN)
    rows = await request.app[POOL].fetch(
        f"SELECT {COLUMNS} FROM board WHERE open ORDER BY updated_at DESC"  # noqa: S608  fixed columns
    )
    return answer(BoardAnswer, {"operations": [board_row(row) for row in rows]})


def _sse(row: dict[str, Any]) -> bytes:
    return f"id: {row['position']}\nevent: board\ndata: {json.dumps(row)}\n\n".encode()


def _unsent(rows: list[dict[str, Any]], sent: dict[str, int]) -> bytes:
    """The server-sent events of the rows newer than what this client was sent, in order."""
    events = []
    for row in rows:
        if sent.get(row["operation_id"], 0) >= row["version"]:
            continue
        sent[row["operation_id"]] = row["version"]
        events.append(_sse(row))
    return b"".join(events)


async def _resume_cursor(request: web.Request) -> Cursor | None:
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if not last:
        return None
    try:
        position = int(last)
    except ValueError:
        position = 0
    if not 0 < position < 2**63:  # a bigint: the database could not even compare a larger one
        raise BadRequest("Last-Event-ID is the global position of the last event received")
    cursor = await request.app[STORE].cursor_at(position)
    if cursor is None:
        raise BadRequest(f"no event has position {position}")
    return cursor


async def board_stream(request: web.Request) -> web.StreamResponse:
    """The board as server-sent events: the rows since `Last-Event-ID` (or all), then live."""
    await authorise(request, LEADERSHIP_AND_ADMIN)
    cursor = await _resume_cursor(request)
    feed = request.app[BOARD_FEED]
    queue = feed.join()  # before the snapshot, so nothing committed in between is lost
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        sent: dict[str, int] = {}
        async with request.app[POOL].acquire() as connection:
            rows = await board_rows_after(connection, cursor)
        snapshot = _unsent(rows, sent)
        if snapshot:
            await response.write(snapshot)
        while True:
            try:
                rows = [await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)]
            except TimeoutError:
                await response.write(b": still here\n\n")
                continue
            # What is queued already goes in the same write: one wake-up and one send per
            # announcement, not per row (with many clients, per-row sends starve the loop).
            while not queue.empty():
                rows.append(queue.get_nowait())
            resync = next((n for n, row in enumerate(rows) if row.get("resync")), None)
            chunk = _unsent(rows[:resync], sent)
            if chunk:
                await response.write(chunk)
            if resync is not None:
                break  # the client reconnects with its last event id
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.leave(queue)
    return response


def _static(name: str) -> str:
    return (resources.files("coordinator.http") / "static" / name).read_text(encoding="utf-8")


async def board_page(_request: web.Request) -> web.Response:
    """The leadership board page: live from the stream, no personal data, phone-sized."""
    return web.Response(text=_static("board.html"), content_type="text/html", headers=PAGE_HEADERS)


async def board_script(_request: web.Request) -> web.Response:
    """The board page's script."""
    return web.Response(
        text=_static("board.js"), content_type="application/javascript", headers=PAGE_HEADERS
    )


async def board_style(_request: web.Request) -> web.Response:
    """The board page's style sheet."""
    return web.Response(text=_static("board.css"), content_type="text/css", headers=PAGE_HEADERS)


async def _end_streams(app: web.Application) -> None:
    # On SIGTERM the server waits for every handler before it stops; a board stream would hold
    # it for the whole shutdown timeout. Ended now, its client resumes at another replica.
    feed = app.get(BOARD_FEED)
    if feed is not None:
        feed.disconnect_all()


def setup_board_routes(app: web.Application) -> None:
    """The board's routes, and the end of its streams when the service stops."""
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/v1/board", get_board)
    app.router.add_get("/v1/board/stream", board_stream)
    app.router.add_get("/board", board_page)
    app.router.add_get("/board/board.js", board_script)
    app.router.add_get("/board/board.css", board_style)
