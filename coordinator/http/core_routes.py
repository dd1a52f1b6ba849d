"""The OpenAPI descriptions of the core routes: liveness, readiness, the document, operations."""

from __future__ import annotations

from typing import Final

from coordinator.http.access import EVENT_READERS, EVERYONE, FIELD_AND_ADMIN, RECORDERS
from coordinator.http.answers import (
    AppendAnswer,
    HealthAnswer,
    OpenAnswer,
    OperationAnswer,
    ReadyAnswer,
    StoredEventsAnswer,
)
from coordinator.http.openapi import RouteDoc
from coordinator.service.commands import OpenOperationRequest, RecordEventsRequest

CASE_REPORT_EXAMPLE: Final = {
    "occurred_at": "2026-10-01T09:00:00+07:00",
    "data": {
        "channel": "family",
        "reporter": {"relationship": "mother", "personal": {"name": "Reporter Name"}},
        "missing_persons": [
            {
                "gender": "female",
                "age": 16,
                "home_province": "Ha Giang",
                "last_seen": "2026-09-01",
                "personal": {"name": "Missing Girl"},
            }
        ],
        "suspected_exploitation": "sexual",
        "suspected_country": "CN",
    },
}

EVENT_BATCH_EXAMPLE: Final = {
    "events": [
        {"type": "InvestigationOpened", "data": {"lead_investigator": "Investigator A"}},
        {
            "type": "LeadRecorded",
            "occurred_at": "2026-10-02T15:30:00+07:00",
            "data": {"source": "informant", "reliability": "B", "summary": "seen in a venue"},
        },
    ]
}

CORE_ROUTE_DOCS: Final = (
    RouteDoc(
        "GET", "/health", "Liveness: the process is up.", None,
        response_model=HealthAnswer, tag="service", needs_database=False,
        response_example={"status": "ok"},
    ),
    RouteDoc(
        "GET", "/ready",
        "Readiness: database reachable, migrations applied, readers not held back.", None,
        response_model=ReadyAnswer, tag="service", answers={503: ReadyAnswer},
    ),
    RouteDoc(
        "GET", "/openapi.json", "This OpenAPI 3.1 document.", None,
        tag="service", needs_database=False,
    ),
    RouteDoc(
        "GET", "/docs", "This API's documentation as a page.", None,
        tag="service", needs_database=False, content_type="text/html",
    ),
    RouteDoc(
        "POST", "/v1/operations", "Open an operation with its first report (CaseReported).",
        FIELD_AND_ADMIN, OpenOperationRequest, OpenAnswer, statuses=(409,), success=201,
        description="Ids may come from the field (UUIDs), so an offline team can prepare the "
        "report and send it later; re-sending the same ids and content answers as the first time.",
        request_example=CASE_REPORT_EXAMPLE,
    ),
    RouteDoc(
        "POST", "/v1/operations/{operation_id}/events", "Append a batch of events atomically.",
        RECORDERS, RecordEventsRequest, AppendAnswer, statuses=(404, 409), success=201,
        description="Legal may record only legal events, leadership only approvals and "
        "reviews. A field token of a team the operation is not assigned to gets 403 "
        "`not_assigned` unless the request carries `X-Break-Glass: REASON` (10 to 500 "
        "characters; logged and listed for admins). With "
        "`expected_version`, a stale version is a 409 `version_conflict` carrying "
        "`actual_version`. Re-sending the same `event_id`s with the same content appends "
        "nothing and answers as the first time; the same id with other content is a 409.",
        request_example=EVENT_BATCH_EXAMPLE,
    ),
    RouteDoc(
        "GET", "/v1/operations/{operation_id}",
        "An operation's stage, version, survivors, partners and timeline.",
        EVERYONE, response_model=OperationAnswer, statuses=(404,),
        description="Leadership sees no personal data (`personal` is null), no staff names and "
        "no survivor's details. `?as_of=TIME` gives the record as known then. A field token "
        "of a team the operation is not assigned to gets 403 `not_assigned` unless it breaks "
        "the glass (`X-Break-Glass: REASON`).",
    ),
    RouteDoc(
        "GET", "/v1/operations/{operation_id}/events", "An operation's stream as stored.",
        EVENT_READERS, response_model=StoredEventsAnswer, statuses=(404,),
        description="Personal data opened for the caller's role. A field token of a team the "
        "operation is not assigned to gets 403 `not_assigned` unless it breaks the glass "
        "(`X-Break-Glass: REASON`).",
    ),
)  # fmt: skip
"""The routes of `coordinator.http.health`, `.operations` and `.openapi`."""
