"""`GET /v1/operations`: status rows from the operation status projection, filtered."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coordinator.domain import Stage
from coordinator.domain.actors import Role
from coordinator.errors import InvalidInput
from coordinator.http.access import EVERYONE, authorise
from coordinator.http.answers import answer
from coordinator.http.app_keys import POOL
from coordinator.http.read_answers import OperationsAnswer
from coordinator.service.leadership import survivor_without_details
from events.catalogue import ISO_3166_ALPHA_2
from projections.read_models.operation_status import operation_rows

MAX_ROWS = 500
MAX_REFERENCE = 200


def _filters(request: web.Request) -> tuple[str | None, str | None, str | None, int]:
    stage = request.query.get("stage")
    if stage is not None and stage not in {s.value for s in Stage}:
        raise InvalidInput(f"stage must be one of {', '.join(s.value for s in Stage)}")
    country = request.query.get("country")
    if country is not None and country not in ISO_3166_ALPHA_2:
        raise InvalidInput("country is an ISO 3166-1 alpha-2 code such as VN or CN")
    reference = request.query.get("reference")
    if reference is not None and not 1 <= len(reference) <= MAX_REFERENCE:
        raise InvalidInput(f"reference is 1 to {MAX_REFERENCE} characters")
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError as error:
        raise InvalidInput("limit is a whole number") from error
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit is between 1 and {MAX_ROWS}")
    return stage, country, reference, limit


def _status(row: Any, role: Role) -> dict[str, Any]:
    summary = row["summary"]
    survivors = summary["survivors"]
    if role is Role.LEADERSHIP:
        survivors = [survivor_without_details(survivor) for survivor in survivors]
    return {
        "operation_id": str(row["operation_id"]),
        "stage": row["stage"],
        "version": row["version"],
        "country": row["country"],
        "reference": row["reference"],
        "opened_at": row["opened_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "survivors": survivors,
        "survivors_by_status": summary.get("survivors_by_status", {}),
        "partners": summary["partners"],
        "awaiting_approval": summary["awaiting_approval"],
        "stage_since": summary["stage_since"],
    }


async def list_operations(request: web.Request) -> web.Response:
    """Operations, most recently updated first, optionally of one stage, country and
    reference."""
    actor = await authorise(request, EVERYONE)
    stage, country, reference, limit = _filters(request)
    async with request.app[POOL].acquire() as connection:
        rows = await operation_rows(
            connection, stage=stage, country=country, reference=reference, limit=limit
        )
    return answer(OperationsAnswer, {"operations": [_status(row, actor.role) for row in rows]})
