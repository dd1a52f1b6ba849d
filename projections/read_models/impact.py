"""Impact figures: survivors of successful and partial rescues, and follow-up services.

Counted as the design says, so that an organisation's published figures (people rescued, by
country found in, by gender, minors, by exploitation, operations) come from its own records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from events.catalogue import EventType
from events.store import unnest
from events.store.connection import Connection
from events.store.envelope import Recorded

COUNTED_OUTCOMES = frozenset({"success", "partial"})
ADULT_AGE = 18

# A batch's rows in one statement each (a statement per row left a rebuild waiting on the
# database); a survivor named twice keeps the first row, as one statement per row did.
_SURVIVORS = """
INSERT INTO impact_survivors (survivor_id, operation_id, rescued_at, found_in_country, gender,
                              age_at_rescue, exploitation, form)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[],
                     $6::integer[], $7::text[], $8::text[])
ON CONFLICT (survivor_id) DO NOTHING
"""
_SERVICES = """
INSERT INTO impact_services (event_id, survivor_id, operation_id, service, provided_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
"""


def _survivor(survivor: dict[str, Any]) -> dict[str, Any]:
    # Schema version 1 of RescueExecuted named two fields differently.
    return {
        "found_in_country": survivor.get("found_in_country", survivor.get("country")),
        "age_at_rescue": survivor.get("age_at_rescue", survivor.get("age")),
        **survivor,
    }


class ImpactProjection:
    """Keeps `impact_survivors` and `impact_services` current."""

    name = "impact"

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Record each counted survivor once and each service provided."""
        survivors: list[tuple[Any, ...]] = []
        services: list[tuple[Any, ...]] = []
        for event in events:
            if (
                event.type == EventType.RESCUE_EXECUTED
                and event.data.get("outcome") in COUNTED_OUTCOMES
            ):
                for raw in event.data.get("survivors", []):
                    survivor = _survivor(raw)
                    survivors.append(
                        (
                            UUID(survivor["survivor_id"]),
                            event.stream_id,
                            event.occurred_at,
                            survivor["found_in_country"],
                            survivor["gender"],
                            survivor["age_at_rescue"],
                            survivor["exploitation"],
                            survivor.get("form"),
                        )
                    )
            elif event.type == EventType.SUPPORT_PROVIDED:
                services.append(
                    (
                        event.event_id,
                        UUID(event.data["survivor_id"]),
                        event.stream_id,
                        event.data["service"],
                        event.occurred_at,
                    )
                )
        if survivors:
            await connection.execute(_SURVIVORS, *unnest.columns(survivors))
        if services:
            await connection.execute(_SERVICES, *unnest.columns(services))

    async def reset(self, connection: Connection) -> None:
        """Empty the tables for a rebuild."""
        await connection.execute("DELETE FROM impact_survivors")
        await connection.execute("DELETE FROM impact_services")

    def forget(self) -> None:
        """Nothing is cached."""


async def impact_figures(
    connection: Connection, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """The published figures for rescues in [start, end), and services in the same period."""
    where = (
        "($1::timestamptz IS NULL OR rescued_at >= $1) "
        "AND ($2::timestamptz IS NULL OR rescued_at < $2)"
    )
    # An aggregate without GROUP BY answers exactly one row.
    (totals,) = await connection.fetch(
        f"SELECT count(*) AS people, count(DISTINCT operation_id) AS operations, "  # noqa: S608  fixed text
        f"count(*) FILTER (WHERE age_at_rescue < {ADULT_AGE}) AS minors "
        f"FROM impact_survivors WHERE {where}",
        start,
        end,
    )

    async def grouped(column: str) -> dict[str, int]:
        rows = await connection.fetch(
            f"SELECT {column} AS key, count(*) AS n FROM impact_survivors "  # noqa: S608  fixed column
            f"WHERE {where} GROUP BY {column} ORDER BY {column}",
            start,
            end,
        )
        return {str(row["key"]): int(row["n"]) for row in rows}

    service_rows = await connection.fetch(
        "SELECT service, count(*) AS n, count(DISTINCT survivor_id) AS people "
        "FROM impact_services WHERE ($1::timestamptz IS NULL OR provided_at >= $1) "
        "AND ($2::timestamptz IS NULL OR provided_at < $2) GROUP BY service ORDER BY service",
        start,
        end,
    )
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "operations": int(totals["operations"]),
        "people_rescued": int(totals["people"]),
        "by_country": await grouped("found_in_country"),
        "by_gender": await grouped("gender"),
        "minors": int(totals["minors"]),
        "by_exploitation": await grouped("exploitation"),
        "by_form": await grouped("coalesce(form, 'unknown')"),
        "services": {
            row["service"]: {"times": int(row["n"]), "survivors": int(row["people"])}
            for row in service_rows
        },
    }
