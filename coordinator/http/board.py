"""The leadership board: as JSON, as a live stream of server-sent events, and as a page.

The stream's event ids are global positions. A client that reconnects with `Last-Event-ID`
receives every row that changed after that event (looked up by its cursor, not by position,
since positions may commit out of order), then the live changes; nothing is missed.

The stream is written here rather than with aiohttp-sse: rows that arrive together go out in one
write (with many clients, a send per row starved the event loop), and an event is one line of
`id`, `event` and `data`. With `?impact=1` the same stream also carries `impact` events (no id):
the impact figures after the snapshot, and again whenever they change.

The page itself, in the reader's language, is served by coordinator/http/board_page.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

from aiohttp import web

from coordinator.domain.actors import Role
from coordinator.errors import BadRequest
from coordinator.http.access import LEADERSHIP_AND_ADMIN, authorise
from coordinator.http.answers import answer
from coordinator.http.app_keys import POOL, STORE
from coordinator.http.board_page import board_page, board_script, board_style
from coordinator.http.projecting import BOARD_FEED
from coordinator.http.read_answers import BoardAnswer, ImpactAnswer
from coordinator.service.small_counts import suppress_small_counts
from events.store.connection import Connection
from events.store.envelope import Cursor
from events.store.event_store import EventStore
from projections.engine.positions import load_checkpoint
from projections.read_models.board import COLUMNS, board_row, board_rows_after
from projections.read_models.impact_figures import impact_figures

HEARTBEAT_SECONDS = 15.0
IMPACT_POLL_SECONDS: Final = 0.2
"""How often a stream looks whether the impact figures caught up with a board change."""
IMPACT_WAIT_SECONDS: Final = 10.0
"""How long it waits for them at most (the impact projection may be rebuilding)."""


async def get_board(request: web.Request) -> web.Response:
    """Every open operation's board row, most recently updated first."""
    await authorise(request, LEADERSHIP_AND_ADMIN)
    rows = await request.app[POOL].fetch(
        f"SELECT {COLUMNS} FROM board WHERE open ORDER BY updated_at DESC"  # noqa: S608  fixed columns
    )
    return answer(BoardAnswer, {"operations": [board_row(row) for row in rows]})


class ImpactCache:
    """The figures at the impact projection's latest checkpoint, read once for every stream of
    this replica (exact for admins, with small counts suppressed for the others)."""

    def __init__(self) -> None:
        self._latest: dict[bool, tuple[Cursor, dict[str, Any]]] = {}

    async def figures(
        self, connection: Connection, checkpoint: Cursor, *, exact: bool
    ) -> dict[str, Any]:
        """The figures as the answer of `GET /v1/stats/impact` shows them, as of `checkpoint`
        or later."""
        cached = self._latest.get(exact)
        if cached is not None and cached[0] >= checkpoint:
            return cached[1]
        figures = await impact_figures(connection, None, None)
        if not exact:
            figures = suppress_small_counts(figures)
        checked = ImpactAnswer.model_validate(figures).model_dump(mode="json", by_alias=True)
        self._latest[exact] = (checkpoint, checked)
        return checked


IMPACT_CACHE: Final = web.AppKey("board_impact_cache", ImpactCache)


class ImpactNews:
    """One stream's impact figures: read once the impact projection has applied the board
    changes the stream sent, and sent again only when they changed."""

    def __init__(self, store: EventStore, cache: ImpactCache, *, exact: bool) -> None:
        self._store = store
        self._cache = cache
        self._exact = exact  # admins see exact counts; others "<5" for counts from 1 to 4
        self._awaited: Cursor | None = None
        self._waiting_since = 0.0
        self._checkpoint: Cursor | None = None
        self._sent: dict[str, Any] | None = None

    @property
    def waiting(self) -> bool:
        """Whether a board change was sent that the figures may not count yet."""
        return self._awaited is not None

    async def after(self, position: int) -> None:
        """The board sent a change at `position`: the figures are due once impact has it."""
        cursor = await self._store.cursor_at(position)
        if cursor is not None and (self._awaited is None or cursor > self._awaited):
            self._awaited = cursor
            self._waiting_since = asyncio.get_running_loop().time()

    async def news(self, connection: Connection) -> bytes:
        """The `impact` event if the figures changed since the last one sent, else nothing."""
        checkpoint = await load_checkpoint(connection, "impact")
        if self._awaited is not None:
            waited = asyncio.get_running_loop().time() - self._waiting_since
            if checkpoint < self._awaited and waited < IMPACT_WAIT_SECONDS:
                return b""
            self._awaited = None
        if checkpoint == self._checkpoint:
            return b""
        self._checkpoint = checkpoint
        checked = await self._cache.figures(connection, checkpoint, exact=self._exact)
        if checked == self._sent:
            return b""
        self._sent = checked
        return f"event: impact\ndata: {json.dumps(checked)}\n\n".encode()


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


async def _send_impact(
    request: web.Request, response: web.StreamResponse, impact: ImpactNews | None
) -> None:
    if impact is None:
        return
    async with request.app[POOL].acquire() as connection:
        news = await impact.news(connection)
    if news:
        await response.write(news)


async def board_stream(request: web.Request) -> web.StreamResponse:
    """The board as server-sent events: the rows since `Last-Event-ID` (or all), then live;
    with `?impact=1`, the impact figures too, whenever they change."""
    actor = await authorise(request, LEADERSHIP_AND_ADMIN)
    cursor = await _resume_cursor(request)
    impact = None
    if request.query.get("impact") == "1":
        impact = ImpactNews(
            request.app[STORE], request.app[IMPACT_CACHE], exact=actor.role is Role.ADMIN
        )
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
        await _send_impact(request, response, impact)
        while True:
            waiting = impact is not None and impact.waiting
            try:
                rows = [
                    await asyncio.wait_for(
                        queue.get(), IMPACT_POLL_SECONDS if waiting else HEARTBEAT_SECONDS
                    )
                ]
            except TimeoutError:
                # Services and verdicts change the figures without touching the board: they
                # are looked at with each heartbeat.
                await _send_impact(request, response, impact)
                if not waiting:
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
                if impact is not None:
                    await impact.after(max(row["position"] for row in rows[:resync]))
                    await _send_impact(request, response, impact)
            if resync is not None:
                break  # the client reconnects with its last event id
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.leave(queue)
    return response


async def _end_streams(app: web.Application) -> None:
    # On SIGTERM the server waits for every handler before it stops; a board stream would hold
    # it for the whole shutdown timeout. Ended now, its client resumes at another replica.
    feed = app.get(BOARD_FEED)
    if feed is not None:
        feed.disconnect_all()


def setup_board_routes(app: web.Application) -> None:
    """The board's routes, and the end of its streams when the service stops."""
    app[IMPACT_CACHE] = ImpactCache()
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/v1/board", get_board)
    app.router.add_get("/v1/board/stream", board_stream)
    app.router.add_get("/board", board_page)
    app.router.add_get("/board/board.js", board_script)
    app.router.add_get("/board/board.css", board_style)
