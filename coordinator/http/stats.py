"""`GET /v1/stats/impact`: the organisation's impact figures for a period."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from coordinator.domain.actors import Role
from coordinator.errors import InvalidInput
from coordinator.http.access import LEADERSHIP_AND_ADMIN, authorise
from coordinator.http.answers import answer
from coordinator.http.app_keys import POOL
from coordinator.http.read_answers import ImpactAnswer
from coordinator.service.small_counts import suppress_small_counts
from events.catalogue.base import placeable_in_utc
from projections.read_models.impact import impact_figures


def _moment(text: str | None, name: str) -> datetime | None:
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


async def get_impact(request: web.Request) -> web.Response:
    """People rescued (by country, gender, age, exploitation), operations and services; counts
    from 1 to 4 shown as "<5" to all but admins."""
    actor = await authorise(request, LEADERSHIP_AND_ADMIN)
    start = _moment(request.query.get("from"), "from")
    end = _moment(request.query.get("to"), "to")
    if start and end and end <= start:
        raise InvalidInput("to must be after from")
    async with request.app[POOL].acquire() as connection:
        figures = await impact_figures(connection, start, end)
    if actor.role is not Role.ADMIN:
        figures = suppress_small_counts(figures)
    return answer(ImpactAnswer, figures)
