"""The names event types are stored under, as one closed vocabulary."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Every event type of every kind of stream, by the name stored with it (the contract).

    A member equals its name as text, so a stored event's `type` compares with it directly.
    """

    CASE_REPORTED = "CaseReported"
    INVESTIGATION_OPENED = "InvestigationOpened"
    LEAD_RECORDED = "LeadRecorded"
    LOCATION_CONFIRMED = "LocationConfirmed"
    PARTNER_ENGAGED = "PartnerEngaged"
    RESCUE_PLANNED = "RescuePlanned"
    RESCUE_APPROVED = "RescueApproved"
    RESCUE_EXECUTED = "RescueExecuted"
    RESCUE_ABORTED = "RescueAborted"
    RESCUE_REVIEWED = "RescueReviewed"
    SURVIVOR_RECOVERED = "SurvivorRecovered"
    CUSTODY_TRANSFERRED = "CustodyTransferred"
    SURVIVOR_RETURNED = "SurvivorReturned"
    FAMILY_REUNITED = "FamilyReunited"
    SUPPORT_PROVIDED = "SupportProvided"
    TESTIMONY_RECORDED = "TestimonyRecorded"
    EVIDENCE_LOGGED = "EvidenceLogged"
    PROSECUTION_UPDATED = "ProsecutionUpdated"
    STATUS_NOTED = "StatusNoted"
    EVENT_CORRECTED = "EventCorrected"
    PERSONAL_DATA_ERASED = "PersonalDataErased"
    OPERATION_CLOSED = "OperationClosed"
    # A survivor's case.
    CONSENT_RECORDED = "ConsentRecorded"
    CONSENT_WITHDRAWN = "ConsentWithdrawn"
    SUPPORT_DECLINED = "SupportDeclined"
    CONTACT_LOST = "ContactLost"
    CONTACT_RESTORED = "ContactRestored"
    SURVIVOR_RETRAFFICKED = "SurvivorRetrafficked"
    SURVIVOR_INDEPENDENT = "SurvivorIndependent"
    # A prosecution.
    PROSECUTION_OPENED = "ProsecutionOpened"
    DEFENDANT_CHARGED = "DefendantCharged"
    HEARING_HELD = "HearingHeld"
    VERDICT_REACHED = "VerdictReached"
    APPEAL_FILED = "AppealFiled"
    PROSECUTION_CLOSED = "ProsecutionClosed"
    # Alerts (on the operation an alert concerns).
    ALERT_ACKNOWLEDGED = "AlertAcknowledged"
    # Need-to-know: the field teams assigned to an operation.
    TEAM_ASSIGNED = "TeamAssigned"
    TEAM_UNASSIGNED = "TeamUnassigned"
