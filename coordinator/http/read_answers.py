"""Answer shapes of the read calls served from projections, and their OpenAPI descriptions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from coordinator.http.access import EVERYONE, LEADERSHIP_AND_ADMIN
from coordinator.http.answers import Answer
from coordinator.http.openapi import RouteDoc


class StatusRow(Answer):
    """One operation's status: stage, version, pseudonymous survivors and partners."""

    operation_id: str
    stage: str
    version: int
    country: str | None
    reference: str | None
    opened_at: str
    updated_at: str
    survivors: list[dict[str, Any]]
    survivors_by_status: dict[str, int]
    partners: list[dict[str, Any]]
    awaiting_approval: bool
    stage_since: str


class OperationsAnswer(Answer):
    """Operations, most recently updated first."""

    operations: list[StatusRow]


class BoardRow(Answer):
    """An operation on the leadership board: no personal data."""

    operation_id: str
    open: bool
    stage: str
    stage_since: str
    seconds_in_stage: int
    version: int
    country: str | None
    survivors: int
    survivors_by_status: dict[str, int]
    reference: str | None
    opened_at: str
    updated_at: str
    dormant: bool
    flags: list[str]
    position: int


class BoardAnswer(Answer):
    """Every open operation's board row."""

    operations: list[BoardRow]


Count = int | Literal["<5"]
"""A count as shown: exact for admins, "<5" for leadership when it is from 1 to 4."""


class ImpactAnswer(Answer):
    """Impact figures: each person once, described as her first successful or partial rescue
    registered her; recoveries, rescues, services and prosecutions. Leadership sees counts from
    1 to 4 as "<5"."""

    period_from: str | None = Field(alias="from")
    period_to: str | None = Field(alias="to")
    operations: Count
    rescues: Count
    people_rescued: Count
    people_recovered: Count
    by_country: dict[str, Count]
    by_gender: dict[str, Count]
    minors: Count
    by_exploitation: dict[str, Count]
    by_form: dict[str, Count]
    by_ethnic_group: dict[str, Count]
    services: dict[str, dict[str, Count]]
    prosecutions: dict[str, Count]


class DurationAnswer(Answer):
    """Days between two moments of the people who have both: how many people, the median and
    the 90th percentile; null, and `withheld` says why, when nobody (or, for leadership, fewer
    than 5 people) has both."""

    people: Count
    median: float | None
    p90: float | None
    withheld: str | None


class ImpactReportAnswer(ImpactAnswer):
    """The impact figures with the report's breakdowns, each adding up to `people_rescued`: by
    year and month of rescue (Vietnam's time), home province, and the days from report to rescue
    and from rescue to her first return (home or to a shelter)."""

    by_year: dict[str, Count]
    by_month: dict[str, Count]
    by_home_province: dict[str, Count]
    report_to_rescue_days: DurationAnswer
    rescue_to_home_days: DurationAnswer


class Page(Answer):
    """A page or asset for the browser."""


READ_MODEL_ROUTE_DOCS = (
    RouteDoc(
        "GET",
        "/v1/operations",
        "Operations by status; query ?stage=, ?country= (ISO alpha-2), ?reference=, ?limit= "
        "(1-500).",
        EVERYONE,
        response_model=OperationsAnswer,
    ),
    RouteDoc(
        "GET",
        "/v1/board",
        "The leadership board: one row per open operation, flags, no personal data.",
        LEADERSHIP_AND_ADMIN,
        response_model=BoardAnswer,
        tag="board",
    ),
    RouteDoc(
        "GET",
        "/v1/board/stream",
        "The board as server-sent events (id: global position); resume with Last-Event-ID.",
        LEADERSHIP_AND_ADMIN,
        statuses=(400,),
        content_type="text/event-stream",
        tag="board",
    ),
    RouteDoc(
        "GET",
        "/v1/stats/impact",
        "Impact figures and report; query ?from= and ?to= (ISO 8601 dates or times).",
        LEADERSHIP_AND_ADMIN,
        response_model=ImpactReportAnswer,
        statuses=(422,),
        description="People rescued by year and month, home province, ethnic group, country, "
        "gender, exploitation and form; minors; days from report to rescue and from rescue to "
        "return (median, 90th percentile); services delivered; prosecutions. Leadership sees "
        'counts from 1 to 4 as "<5" and no time statistic over fewer than 5 people.',
        tag="board",
    ),
    RouteDoc(
        "GET",
        "/v1/stats/impact.csv",
        "The impact report as CSV (section, key, value); query ?from= and ?to=.",
        LEADERSHIP_AND_ADMIN,
        content_type="text/csv",
        statuses=(422,),
        description="The figures of GET /v1/stats/impact, one per row, UTF-8 with a byte order "
        "mark so spreadsheets read Vietnamese names; text starting =, +, -, @ is quoted with a "
        "leading ' so a spreadsheet never runs it. Leadership sees the same suppression.",
        response_example="section,key,value\r\ntotals,people_rescued,26\r\n",
        tag="board",
    ),
    RouteDoc(
        "GET",
        "/board",
        "The leadership board page.",
        None,
        content_type="text/html",
        tag="board",
        needs_database=False,
    ),
    RouteDoc(
        "GET",
        "/board/board.js",
        "The board page's script.",
        None,
        content_type="application/javascript",
        tag="board",
        needs_database=False,
    ),
    RouteDoc(
        "GET",
        "/board/board.css",
        "The board page's style.",
        None,
        content_type="text/css",
        tag="board",
        needs_database=False,
    ),
)
