"""The impact figures as published: counted over the impact projection's tables
(`projections/read_models/impact.py`) for a period, each person once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from events.store.connection import Connection
from projections.read_models.impact import ADULT_AGE, RECOVERY, RESCUE

# Each person once: her first counted registration of a kind (as corrected), which also places
# her in a period. Served by impact_survivors_first.
_FIRST = """
WITH first AS (
    SELECT DISTINCT ON (survivor_id) *
      FROM impact_survivors WHERE registered_by = $3
     ORDER BY survivor_id, rescued_at, position
)
"""
_IN_PERIOD = "($1::timestamptz IS NULL OR {at} >= $1) AND ($2::timestamptz IS NULL OR {at} < $2)"


async def impact_figures(
    connection: Connection, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """The published figures for rescues (and recoveries, prosecutions, services) in
    [start, end)."""
    in_period = _IN_PERIOD.format(at="rescued_at")
    (people,) = await connection.fetch(
        f"{_FIRST} SELECT count(*) AS people, "  # noqa: S608  fixed text
        f"count(*) FILTER (WHERE age_at_rescue < {ADULT_AGE}) AS minors "
        f"FROM first WHERE {in_period}",
        start,
        end,
        RESCUE,
    )
    recovered = await connection.fetchval(
        f"{_FIRST} SELECT count(*) FROM first WHERE {in_period}",  # noqa: S608  fixed text
        start,
        end,
        RECOVERY,
    )
    (rescues,) = await connection.fetch(
        "SELECT count(DISTINCT event_id) AS rescues, "  # noqa: S608  fixed text
        "count(DISTINCT operation_id) AS operations "
        f"FROM impact_survivors WHERE registered_by = $3 AND {in_period}",
        start,
        end,
        RESCUE,
    )

    async def grouped(column: str) -> dict[str, int]:
        rows = await connection.fetch(
            f"{_FIRST} SELECT {column} AS key, count(*) AS n FROM first "  # noqa: S608  fixed column
            f"WHERE {in_period} GROUP BY 1 ORDER BY 1",
            start,
            end,
            RESCUE,
        )
        return {str(row["key"]): int(row["n"]) for row in rows}

    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "operations": int(rescues["operations"]),
        "rescues": int(rescues["rescues"]),
        "people_rescued": int(people["people"]),
        "people_recovered": int(recovered),
        "by_country": await grouped("found_in_country"),
        "by_gender": await grouped("gender"),
        "minors": int(people["minors"]),
        "by_exploitation": await grouped("exploitation"),
        "by_form": await grouped("coalesce(form, 'unknown')"),
        "by_ethnic_group": await grouped("coalesce(ethnic_group, 'unknown')"),
        "services": await _services(connection, start, end),
        "prosecutions": await _prosecutions(connection, start, end),
    }


async def _services(
    connection: Connection, start: datetime | None, end: datetime | None
) -> dict[str, dict[str, int]]:
    """Each service provided in the period: how often, and to how many people."""
    rows = await connection.fetch(
        "SELECT service, count(*) AS n, count(DISTINCT survivor_id) AS people "  # noqa: S608  fixed text
        f"FROM impact_services WHERE {_IN_PERIOD.format(at='provided_at')} "
        "GROUP BY service ORDER BY service",
        start,
        end,
    )
    return {
        row["service"]: {"times": int(row["n"]), "survivors": int(row["people"])} for row in rows
    }


async def _prosecutions(
    connection: Connection, start: datetime | None, end: datetime | None
) -> dict[str, int]:
    """Prosecutions opened in the period, and defendants whose standing verdict (the latest
    reached on them, as corrected) is a conviction reached in the period."""
    opened = await connection.fetchval(
        "SELECT count(*) FROM impact_prosecutions "  # noqa: S608  fixed text
        f"WHERE {_IN_PERIOD.format(at='opened_at')}",
        start,
        end,
    )
    convicted = await connection.fetchval(
        "SELECT count(*) FROM ("  # noqa: S608  fixed text
        "  SELECT DISTINCT ON (prosecution_id, defendant_id) verdict, reached_at "
        "    FROM impact_verdicts ORDER BY prosecution_id, defendant_id, position DESC"
        f") AS standing WHERE verdict = 'convicted' AND {_IN_PERIOD.format(at='reached_at')}",
        start,
        end,
    )
    return {"opened": int(opened), "defendants_convicted": int(convicted)}
