"""The break-the-glass list: every request by which a field team read or recorded an operation
(or a survivor's case) its team is not assigned to, with the reason it gave, for admins to review.

Each is also in the hash-chained access log (`entry` is its number there, and its `what` ends in
"(break-glass)"); coordinator/domain/need_to_know.py says who is scoped.
"""

from __future__ import annotations

from aiohttp import web

from coordinator.errors import BadRequest
from coordinator.http.access import ADMIN_ONLY, authorise
from coordinator.http.answers import Answer, answer
from coordinator.http.app_keys import POOL
from coordinator.http.openapi import RouteDoc
from coordinator.service.access_log import read_break_glass

MAX_PAGE = 1000


class BreakGlassRead(Answer):
    """One break-the-glass request: who (token name and team), when, what of which operation or
    survivor, and why."""

    entry: int
    accessed_at: str
    actor_name: str
    team: str
    operation_id: str
    what: str
    reason: str
    request_id: str


class BreakGlassAnswer(Answer):
    """A page of break-the-glass requests, oldest first; `next_after` pages on (None at the end)."""

    reads: list[BreakGlassRead]
    next_after: int | None


def _number(request: web.Request, name: str, default: int, largest: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    # ASCII digits only ("²".isdigit() is true), and few enough that int() cannot refuse them.
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) > largest:
        raise BadRequest(f"{name} is a number from 0 to {largest}")
    return int(text)


async def get_break_glass(request: web.Request) -> web.Response:
    """The break-the-glass requests after `?after=` (an access-log entry), `?limit=` at a time."""
    await authorise(request, ADMIN_ONLY)
    after = _number(request, "after", 0, 2**62)
    limit = max(_number(request, "limit", 500, MAX_PAGE), 1)
    reads = await read_break_glass(request.app[POOL], after=after, limit=limit)
    next_after = reads[-1]["entry"] if len(reads) == limit else None
    return answer(BreakGlassAnswer, {"reads": reads, "next_after": next_after})


def setup_break_glass_routes(app: web.Application) -> None:
    """The break-the-glass list's route."""
    app.router.add_get("/v1/audit/break-glass", get_break_glass)


BREAK_GLASS_ROUTE_DOC = RouteDoc(
    "GET", "/v1/audit/break-glass",
    "Every read or append by a field team past need-to-know, with its reason, for review.",
    ADMIN_ONLY, response_model=BreakGlassAnswer, statuses=(400,), tag="audit",
    description="A field token of a team not assigned to an operation is answered 403 "
    "`not_assigned` unless it sends `X-Break-Glass: REASON` (10 to 500 printable characters); "
    "then it is served, and the request is listed here and in the access log (`entry`, with "
    "`what` ending in \"(break-glass)\"). `?after=N&limit=M` pages (at most 1000).",
)  # fmt: skip
