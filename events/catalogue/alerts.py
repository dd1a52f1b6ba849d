"""Payloads about the alerts leadership watches: an acknowledgement that someone saw one.

Recorded on the operation the alert concerns; who saw it and when are the envelope's.
"""

from __future__ import annotations

from uuid import UUID

from events.catalogue.base import EventData, FreeText


class AlertAcknowledged(EventData):
    """Someone saw an alert (`GET /v1/alerts`); `alert_id` names one episode of one alert."""

    alert_id: UUID
    note: FreeText | None = None
