"""`GET /v1/stats/impact` and `GET /v1/stats/impact.csv`: the organisation's impact report for a
period, as JSON and as a CSV table a spreadsheet opens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from coordinator.domain.actors import Role
from coordinator.errors import InvalidInput
from coordinator.http.access import LEADERSHIP_AND_ADMIN, authorise
from coordinator.http.answers import answer
from coordinator.http.app_keys import POOL
from coordinator.http.read_answers import ImpactReportAnswer
from coordinator.service.small_counts import suppress_small_counts
from events.catalogue.base import placeable_in_utc
from projections.read_models.impact_reports import impact_report, report_csv

BYTE_ORDER_MARK = "\ufeff"
"""Before the CSV, so that spreadsheets read it as UTF-8 (Vietnamese province names)."""


def period_moment(text: str | None, name: str) -> datetime | None:
    """A period's bound given as an ISO 8601 date or time (UTC when it names no zone)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(f"{name} is an ISO 8601 date or time, such as 2020-01-01") from error
    try:
        return placeable_in_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except ValueError as error:
        raise InvalidInput(f"{name}: {error}") from None


async def _report(request: web.Request) -> dict[str, Any]:
    """The report for the request's ?from= and ?to=, as the caller's role may see it."""
    actor = await authorise(request, LEADERSHIP_AND_ADMIN)
    start, end = period(request.query.get("from"), request.query.get("to"))
    async with request.app[POOL].acquire() as connection:
        figures = await impact_report(connection, start, end)
    return as_seen_by(figures, actor.role)


def period(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """The period [start, end) a report is asked for; open where a bound is missing."""
    since, until = period_moment(start, "from"), period_moment(end, "to")
    if since and until and until <= since:
        raise InvalidInput("to must be after from")
    return since, until


def as_seen_by(figures: dict[str, Any], role: Role) -> dict[str, Any]:
    """The report as `role` may see it (small counts hidden from all but admins), checked against
    its documented shape, as JSON values."""
    if role is not Role.ADMIN:
        figures = suppress_small_counts(figures)
    checked = ImpactReportAnswer.model_validate(figures)
    return checked.model_dump(mode="json", by_alias=True)


async def get_impact(request: web.Request) -> web.Response:
    """People rescued (by month, province, ethnic group, country, gender, age, exploitation),
    times to rescue and home, operations and services; counts from 1 to 4 shown as "<5" to all
    but admins."""
    return answer(ImpactReportAnswer, await _report(request))


async def get_impact_csv(request: web.Request) -> web.Response:
    """The same report as CSV, for a spreadsheet."""
    figures = await _report(request)
    return web.Response(
        text=BYTE_ORDER_MARK + report_csv(figures),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="homeward-impact.csv"'},
    )


def setup_stats_routes(app: web.Application) -> None:
    """Register the impact report's routes (documented in read_answers.READ_MODEL_ROUTE_DOCS)."""
    app.router.add_get("/v1/stats/impact", get_impact)
    app.router.add_get("/v1/stats/impact.csv", get_impact_csv)
