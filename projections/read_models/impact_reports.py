"""Impact reports: the impact figures by month and province, times to rescue and to return, and
the whole as one CSV table a spreadsheet opens.

Counted over the people rescued in the period (each once, as her first successful or partial
rescue registered her), so every breakdown adds up to `people_rescued`. Months are those of the
rescue in `zone` (Vietnam's by default). Durations are in days, over the people who have both
times: from her operation's `CaseReported` to her first rescue (a report dated after the rescue,
as an imported sheet may have, is left out), and from that rescue to her first `SurvivorReturned`
after it (home or to a shelter). The median and 90th percentile interpolate between the nearest
ranks, as PostgreSQL's `percentile_cont` and a spreadsheet's PERCENTILE do.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from events.store.connection import Connection
from projections.read_models.impact import RESCUE
from projections.read_models.impact_figures import impact_figures

DEFAULT_ZONE: Final = "Asia/Ho_Chi_Minh"
UNKNOWN: Final = "unknown"
DURATIONS: Final = ("report_to_rescue_days", "rescue_to_home_days")
"""The report's time statistics, each {"people", "median", "p90", "withheld"}."""

# Each person once: her first counted rescue (served by impact_survivors_first), in the period.
_FIRST_IN_PERIOD = """
WITH first AS (
    SELECT DISTINCT ON (survivor_id) *
      FROM impact_survivors WHERE registered_by = $3
     ORDER BY survivor_id, rescued_at, position
)
SELECT {columns} FROM first {joins}
 WHERE ($1::timestamptz IS NULL OR first.rescued_at >= $1)
   AND ($2::timestamptz IS NULL OR first.rescued_at < $2)
 {grouped}
"""
_BY_MONTH = _FIRST_IN_PERIOD.format(
    columns="to_char(first.rescued_at AT TIME ZONE $4, 'YYYY-MM') AS key, count(*) AS n",
    joins="",
    grouped="GROUP BY 1 ORDER BY 1",
)
_BY_HOME_PROVINCE = _FIRST_IN_PERIOD.format(
    columns=f"coalesce(first.home_province, '{UNKNOWN}') AS key, count(*) AS n",
    joins="",
    grouped="GROUP BY 1 ORDER BY 1",
)
# Her return: the first at or after her first rescue (impact_returns_survivor).
_DURATIONS = _FIRST_IN_PERIOD.format(
    columns="""
    extract(epoch FROM first.rescued_at - report.reported_at) / 86400 AS to_rescue,
    extract(epoch FROM (SELECT min(returned.returned_at) FROM impact_returns AS returned
                         WHERE returned.survivor_id = first.survivor_id
                           AND returned.returned_at >= first.rescued_at)
                       - first.rescued_at) / 86400 AS to_home""",
    joins="LEFT JOIN impact_reports AS report ON report.operation_id = first.operation_id",
    grouped="",
)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile of `values` (not empty), interpolated between nearest ranks."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    below, above = math.floor(rank), math.ceil(rank)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def duration_statistics(days: Sequence[float]) -> dict[str, Any]:
    """How many people, and the median and 90th percentile of their `days` (to 0.1 day)."""
    if not days:
        return {"people": 0, "median": None, "p90": None, "withheld": "nobody has both times"}
    return {
        "people": len(days),
        "median": round(percentile(days, 0.5), 1),
        "p90": round(percentile(days, 0.9), 1),
        "withheld": None,
    }


def by_year(by_month: Mapping[str, int]) -> dict[str, int]:
    """Monthly counts ("2020-01") summed by year ("2020")."""
    years: dict[str, int] = {}
    for month, count in by_month.items():
        years[month[:4]] = years.get(month[:4], 0) + count
    return years


async def impact_report(
    connection: Connection,
    start: datetime | None,
    end: datetime | None,
    zone: str = DEFAULT_ZONE,
) -> dict[str, Any]:
    """The impact figures of [start, end), with the report's breakdowns and durations."""
    figures = await impact_figures(connection, start, end)
    months = {
        str(row["key"]): int(row["n"])
        for row in await connection.fetch(_BY_MONTH, start, end, RESCUE, zone)
    }
    provinces = {
        str(row["key"]): int(row["n"])
        for row in await connection.fetch(_BY_HOME_PROVINCE, start, end, RESCUE)
    }
    durations = await connection.fetch(_DURATIONS, start, end, RESCUE)
    to_rescue = [float(row["to_rescue"]) for row in durations if row["to_rescue"] is not None]
    to_home = [float(row["to_home"]) for row in durations if row["to_home"] is not None]
    return {
        **figures,
        "by_year": by_year(months),
        "by_month": months,
        "by_home_province": provinces,
        "report_to_rescue_days": duration_statistics([d for d in to_rescue if d >= 0]),
        "rescue_to_home_days": duration_statistics(to_home),
    }


# The CSV: one table of section, key, value, in the order a reader expects.
TOTALS: Final = ("operations", "rescues", "people_rescued", "people_recovered", "minors")
BREAKDOWNS: Final = (
    "by_year",
    "by_month",
    "by_home_province",
    "by_ethnic_group",
    "by_country",
    "by_gender",
    "by_exploitation",
    "by_form",
)
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by spreadsheets."""


def spreadsheet_safe(text: str) -> str:
    """`text` as a spreadsheet shows it and never runs it: a formula start gets a quote before."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)  # a number we counted, never a formula
    return spreadsheet_safe(str(value))


def report_rows(figures: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """The report's figures as (section, key, value) rows."""
    yield ("period", "from", figures["from"])
    yield ("period", "to", figures["to"])
    for total in TOTALS:
        yield ("totals", total, figures[total])
    for breakdown in BREAKDOWNS:
        for key, count in figures[breakdown].items():
            yield (breakdown, key, count)
    for duration in DURATIONS:
        for key, value in figures[duration].items():
            yield (duration, key, value)
    for service, counts in figures["services"].items():
        for measure, count in counts.items():
            yield (f"services_{measure}", service, count)
    for key, count in figures["prosecutions"].items():
        yield ("prosecutions", key, count)


def report_csv(figures: Mapping[str, Any]) -> str:
    """The report as CSV: a header, then one row per figure; text made safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("section", "key", "value"))
    for section, key, value in report_rows(figures):
        writer.writerow((section, _cell(key), _cell(value)))
    return out.getvalue()
