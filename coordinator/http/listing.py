"""`GET /v1/operations`: status rows from the operation status projection, filtered."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coordinator.domain import Stage
from coordinator.errors import InvalidInput
from coordinator.http.access import EVERYONE, authorise
from coordinator.http.answers import answer
from coordinator.http.app_keys import POOL
from coordinator.http.read_answers import OperationsAnswer
from events.catalogue import ISO_3166_ALPHA_2

MAX_ROWS = 500


def _filters(request: web.Request) -> tuple[str | None, str | None, int]:
    stage = request.query.get("stage")
    if stage is not None and stage not in {s.value for s in Stage}:
        raise InvalidInput(f"stage must be one of {', '.join(s.value for s in Stage)}")
    country = request.query.get("country")
    if country is not None and country not in ISO_3166_ALPHA_2:
        raise InvalidInput("country is an ISO 3166-1 alpha-2 code such as VN or CN")
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError as error:
        raise InvalidInput("limit is a whole number") from error
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit is between 1 and {MAX_ROWS}")
    return stage, country, limit


def _status(row: Any) -> dict[str, Any]:
    summary = row["summary"]
    return {
        "operation_id": str(row["operation_id"]),
        "stage": row["stage"],
        "version": row["version"],
        "country": row["country"],
        "opened_at": row["opened_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "survivors": summary["survivors"],
        "partners": summary["partners"],
        "awaiting_approval": summary["awaiting_approval"],
        "stage_since": summary["stage_since"],
    }


async def list_operations(request: web.Request) -> web.Response:
    """Operations, most recently updated first, optionally of one stage and one country."""
    await authorise(request, EVERYONE)
    stage, country, limit = _filters(request)
    rows = await request.app[POOL].fetch(
        "SELECT operation_id, stage, version, country, opened_at, updated_at, summary "
        "FROM operation_status "
        "WHERE ($1::text IS NULL OR stage = $1) AND ($2::text IS NULL OR country = $2) "
        "ORDER BY updated_at DESC LIMIT $3",
        stage,
        country,
        limit,
    )
    return answer(OperationsAnswer, {"operations": [_status(row) for row in rows]})
