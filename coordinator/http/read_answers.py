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
        "Impact figures; query ?from= and ?to= (ISO 8601 dates or times).",
        LEADERSHIP_AND_ADMIN,
        response_model=ImpactAnswer,
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
