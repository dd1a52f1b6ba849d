"""Reading the alerts that stand now: the stored facts (projections/read_models/alerts.py)
judged by the rules (alert_rules.py) at a given time, with their acknowledgements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.store.connection import Connection
from projections.read_models.alert_rules import (
    Alert,
    CaseFacts,
    JourneyFacts,
    OperationFacts,
    ProsecutionFacts,
    Thresholds,
    judge_alerts,
)


@dataclass(frozen=True, slots=True)
class StandingAlert:
    """An alert as read: the alert and whether anyone acknowledged it."""

    alert: Alert
    acknowledged: bool


async def standing_alerts(
    connection: Connection, now: datetime, limits: Thresholds
) -> list[StandingAlert]:
    """Every alert standing at `now`, oldest first, each with whether it was acknowledged."""
    operations = [
        OperationFacts(
            row["operation_id"],
            row["open"],
            row["stage"],
            row["last_update"],
            row["awaiting_review_since"],
        )
        for row in await connection.fetch(
            "SELECT operation_id, open, stage, last_update, awaiting_review_since "
            "FROM alert_operations"
        )
    ]
    journeys = [
        JourneyFacts(
            row["operation_id"],
            row["survivor_id"],
            row["status"],
            row["status_since"],
            row["registered_at"],
        )
        for row in await connection.fetch(
            "SELECT operation_id, survivor_id, status, status_since, registered_at "
            "FROM alert_journeys"
        )
    ]
    cases = {
        row["survivor_id"]: CaseFacts(row["survivor_id"], row["last_service_at"], row["hold"])
        for row in await connection.fetch(
            "SELECT survivor_id, last_service_at, hold FROM alert_cases"
        )
    }
    prosecutions = [
        ProsecutionFacts(
            row["prosecution_id"],
            row["survivor_id"],
            tuple(row["operation_ids"]),
            row["opened_at"],
            row["open"],
            bool(row["standing"]),
            row["withdrawn_at"],
        )
        for row in await connection.fetch(
            """
            SELECT p.prosecution_id, p.survivor_id, p.operation_ids, p.opened_at, p.open,
                   bool_or(c.standing) AS standing,
                   max(c.changed_at) FILTER (WHERE NOT c.standing) AS withdrawn_at
              FROM alert_prosecutions p
              LEFT JOIN alert_consents c ON c.survivor_id = p.survivor_id
             WHERE p.open
             GROUP BY p.prosecution_id, p.survivor_id
            """
        )
    ]
    alerts = judge_alerts(operations, journeys, cases, prosecutions, now, limits)
    acknowledged = {
        row["alert_id"]
        for row in await connection.fetch(
            "SELECT DISTINCT alert_id FROM alert_acknowledgements WHERE alert_id = ANY($1::uuid[])",
            [alert.alert_id for alert in alerts],
        )
    }
    return [StandingAlert(alert, alert.alert_id in acknowledged) for alert in alerts]


def alert_row(standing: StandingAlert) -> dict[str, Any]:
    """An alert as `GET /v1/alerts` shows it (no personal data)."""
    alert = standing.alert
    row: dict[str, Any] = {
        "alert_id": str(alert.alert_id),
        "kind": alert.kind.value,
        "operation_id": str(alert.operation_id),
        "since": alert.since.isoformat(),
        "acknowledged": standing.acknowledged,
    }
    if alert.survivor_id is not None:
        row["survivor_id"] = str(alert.survivor_id)
    return row
