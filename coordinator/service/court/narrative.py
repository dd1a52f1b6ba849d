"""One plain sentence per event, from its type and fields, for the court page, in its language.

Every event type of every kind of stream (operations, survivors' cases, prosecutions) has a
sentence; an unknown type gets a generic one. The words are the message catalogue's
(`event.<Type>` and its parts, `court.person.*`, and each vocabulary's `term.<field>.<value>`),
with named placeholders, so a language is a file (coordinator/locale). People are named where
their personal data was opened for the reader, else described ("a 16-year-old girl", "survivor
1a2b3c4d"), and "name erased" where their data was erased. The text is plain: the page escapes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Final

from coordinator.i18n.catalogues import Catalogue, catalogue
from coordinator.service.court.legal_sentences import (
    charged_sentence,
    consent_sentence,
    evidence_sentence,
    opened_sentence,
    prosecution_updated_sentence,
    testimony_sentence,
    verdict_sentence,
)
from coordinator.service.court.times import Clock
from coordinator.service.court.wording import (
    VOCABULARIES,
    People,
    note_part,
    person,
    short_id,
    where_part,
)
from events.catalogue import EventType

__all__ = ["SENTENCES", "VOCABULARIES", "People", "what_happened"]


def _case_reported(d: Mapping[str, Any], p: People) -> str:
    reporter = d.get("reporter") or {}
    relationship = reporter.get("relationship")
    who = (
        p.text("court.reporter", relationship=p.term("relationship", relationship))
        if relationship
        else p.text("court.someone")
    )
    missing = [person(m, p, "missing_person_id") for m in d.get("missing_persons") or []]
    text = p.text(
        "event.CaseReported",
        who=who,
        missing=p.listed(missing) or p.text("court.a_person"),
        channel=p.term("channel", d["channel"]),
    )
    suspected = d.get("suspected_exploitation")
    if suspected and suspected != "unknown":
        text += p.text(
            "event.CaseReported.suspected", exploitation=p.term("exploitation", suspected)
        )
    if d.get("suspected_country"):
        text += p.text("event.CaseReported.country", country=p.say.country(d["suspected_country"]))
    if d.get("reference"):
        text += p.text("event.CaseReported.reference", reference=d["reference"])
    return text


def _location_confirmed(d: Mapping[str, Any], p: People) -> str:
    venue = p.term("venue", d["venue"]) if d.get("venue") else p.text("court.a_place")
    return p.text(
        "event.LocationConfirmed",
        venue=venue,
        place=where_part(d, p, word="in"),
        country=p.say.country(d["country"]),
    )


def _partner_engaged(d: Mapping[str, Any], p: People) -> str:
    text = p.text(
        "event.PartnerEngaged",
        agency=d["agency"],
        agency_type=p.term("agency_type", d["agency_type"]),
        country=p.say.country(d["country"]),
    )
    if d.get("contact_officer"):
        text += p.text("event.PartnerEngaged.officer", officer=d["contact_officer"])
    return text


def _rescue_planned(d: Mapping[str, Any], p: People) -> str:
    text = p.text("event.RescuePlanned", when=d["planned_for_text"], risk=p.term("risk", d["risk"]))
    if d.get("team"):
        text += p.text("event.RescuePlanned.team", team=p.listed(list(d["team"])))
    if d.get("partners"):
        text += p.text("event.RescuePlanned.partners", partners=p.listed(list(d["partners"])))
    return text


def _rescue_executed(d: Mapping[str, Any], p: People) -> str:
    outcome = str(d["outcome"])
    known = f"event.RescueExecuted.{outcome}"
    if known in p.say.messages:
        text = p.text(known)
    else:
        text = p.text("event.RescueExecuted", outcome=p.term("outcome", outcome))
    if d.get("emergency"):
        reason = d.get("emergency_reason") or p.text("court.no_reason")
        text += p.text("event.RescueExecuted.emergency", reason=reason)
    freed = [person(s, p, "survivor_id") for s in d.get("survivors") or []]
    if freed:
        text += p.text("event.RescueExecuted.freed", count=len(freed), people=p.listed(freed))
    return text


def _rescue_reviewed(d: Mapping[str, Any], p: People) -> str:
    decision = "endorsed" if d.get("decision") == "endorsed" else "concerns"
    return p.text(f"event.RescueReviewed.{decision}") + note_part(d, p)


def _survivor_recovered(d: Mapping[str, Any], p: People) -> str:
    found = [person(s, p, "survivor_id") for s in d.get("survivors") or []]
    return p.text("event.SurvivorRecovered", people=p.listed(found), how=p.term("how", d["how"]))


def _custody(d: Mapping[str, Any], p: People) -> str:
    def party(side: Mapping[str, Any]) -> str:
        officer = (
            p.text("court.party.officer", officer=side["officer"]) if side.get("officer") else ""
        )
        return p.text(
            "court.party",
            agency=side["agency"],
            country=p.say.country(side["country"]),
            officer=officer,
        )

    return p.text(
        "event.CustodyTransferred",
        survivors=p.survivors(d["survivor_ids"]),
        source=party(d["from_party"]),
        to=party(d["to_party"]),
        place=where_part(d, p),
    )


def _returned(d: Mapping[str, Any], p: People) -> str:
    where = "home" if d.get("destination") == "home" else "shelter"
    crossing = (
        p.text("event.SurvivorReturned.crossing", crossing=p.term("crossing", d["crossing"]))
        if d.get("crossing")
        else ""
    )
    return p.text(
        f"event.SurvivorReturned.{where}",
        survivors=p.survivors(d["survivor_ids"]),
        place=where_part(d, p, word="in"),
        crossing=crossing,
    )


def _reunited(d: Mapping[str, Any], p: People) -> str:
    family = (
        p.text("court.part.brackets", text=p.listed(list(d["family_present"])))
        if d.get("family_present")
        else ""
    )
    return p.text(
        "event.FamilyReunited",
        survivor=p.survivor(d["survivor_id"]),
        family=family,
        place=where_part(d, p),
    )


def _support(d: Mapping[str, Any], p: People) -> str:
    who = p.survivor(d["survivor_id"]) if d.get("survivor_id") else p.her()
    return p.text(
        "event.SupportProvided", who=who, service=p.term("service", d["service"])
    ) + note_part(d, p)


def _simple(key: str, *, note: str | None = None, **fields: str) -> Sentence:
    """A sentence that is one message: its `{names}` are the data's fields named in `fields`
    (the survivor of the stream as `her`), with the field `note` after it, if any."""

    def sentence(d: Mapping[str, Any], p: People) -> str:
        values = {name: d[source] for name, source in fields.items()}
        text = p.text(key, her=p.her(), **values)
        return text + (note_part(d, p, note) if note else "")

    return sentence


Sentence = Callable[[Mapping[str, Any], People], str]

SENTENCES: Final[Mapping[str, Sentence]] = {
    EventType.CASE_REPORTED: _case_reported,
    EventType.INVESTIGATION_OPENED: _simple(
        "event.InvestigationOpened", investigator="lead_investigator"
    ),
    EventType.LEAD_RECORDED: _simple(
        "event.LeadRecorded", note="summary", source="source", reliability="reliability"
    ),
    EventType.LOCATION_CONFIRMED: _location_confirmed,
    EventType.PARTNER_ENGAGED: _partner_engaged,
    EventType.RESCUE_PLANNED: _rescue_planned,
    EventType.RESCUE_APPROVED: _simple("event.RescueApproved", note="note"),
    EventType.RESCUE_EXECUTED: _rescue_executed,
    EventType.RESCUE_ABORTED: _simple("event.RescueAborted", reason="reason"),
    EventType.RESCUE_REVIEWED: _rescue_reviewed,
    EventType.SURVIVOR_RECOVERED: _survivor_recovered,
    EventType.CUSTODY_TRANSFERRED: _custody,
    EventType.SURVIVOR_RETURNED: _returned,
    EventType.FAMILY_REUNITED: _reunited,
    EventType.SUPPORT_PROVIDED: _support,
    EventType.TESTIMONY_RECORDED: testimony_sentence,
    EventType.EVIDENCE_LOGGED: evidence_sentence,
    EventType.PROSECUTION_UPDATED: prosecution_updated_sentence,
    EventType.STATUS_NOTED: lambda d, p: p.text(
        "event.StatusNoted", place=where_part(d, p), note=d["note"]
    ),
    EventType.EVENT_CORRECTED: _simple(
        "event.EventCorrected", corrects="corrects_text", reason="reason"
    ),
    EventType.PERSONAL_DATA_ERASED: lambda d, p: p.text(
        "event.PersonalDataErased",
        survivor=p.survivor(d.get("survivor_id") or p.stream_id),
        reason=d["reason"],
    ),
    EventType.OPERATION_CLOSED: lambda d, p: (
        p.text("event.OperationClosed", reason=p.term("reason", d["reason"])) + note_part(d, p)
    ),
    EventType.CONSENT_RECORDED: consent_sentence,
    EventType.CONSENT_WITHDRAWN: lambda d, p: p.text(
        "event.ConsentWithdrawn",
        her=p.her(),
        recipient=d["recipient"],
        purpose=p.term("purpose", d["purpose"]),
    ),
    EventType.SUPPORT_DECLINED: _simple("event.SupportDeclined", note="note"),
    EventType.CONTACT_LOST: _simple("event.ContactLost", note="note"),
    EventType.CONTACT_RESTORED: _simple("event.ContactRestored", note="note"),
    EventType.SURVIVOR_RETRAFFICKED: lambda d, p: (
        p.text("event.SurvivorRetrafficked", her=p.her(), operation=short_id(d["operation_id"]))
        + note_part(d, p)
    ),
    EventType.SURVIVOR_INDEPENDENT: _simple("event.SurvivorIndependent", note="note"),
    EventType.PROSECUTION_OPENED: opened_sentence,
    EventType.DEFENDANT_CHARGED: charged_sentence,
    EventType.HEARING_HELD: lambda d, p: (
        p.text("event.HearingHeld", kind=p.term("kind", d["kind"]), when=d["held_on_text"])
        + note_part(d, p, "outcome")
    ),
    EventType.VERDICT_REACHED: verdict_sentence,
    EventType.APPEAL_FILED: lambda d, p: p.text(
        "event.AppealFiled", by=p.term("by", d["by"]), defendant=p.defendant(d["defendant_id"])
    ),
    EventType.PROSECUTION_CLOSED: _simple("event.ProsecutionClosed", reason="reason"),
    EventType.ALERT_ACKNOWLEDGED: _simple("event.AlertAcknowledged", note="note"),
    EventType.TEAM_ASSIGNED: _simple("event.TeamAssigned", team="team"),
    EventType.TEAM_UNASSIGNED: _simple("event.TeamUnassigned", team="team"),
}


def what_happened(
    event_type: str,
    data: Mapping[str, Any] | None,
    people: People,
    *,
    clock: Clock,
    versions: Mapping[str, int],
) -> str:
    """What the event says, as a clause in the clock's language: `the mother reported Lan
    missing (by family)`, `người mẹ trình báo Lan mất tích (qua gia đình)`."""
    say = catalogue(clock.language)
    people = dataclasses.replace(people, say=say)
    sentence = SENTENCES.get(event_type)
    if data is None:
        return say.text("event.withheld", type=event_type)
    if sentence is None:
        return say.text("event.unknown", type=event_type)
    # Times and references inside the data, written as the page writes them.
    known = {
        **data,
        "planned_for_text": clock.text(str(data.get("planned_for", ""))),
        "held_on_text": clock.text(str(data.get("held_on", ""))),
        "corrects_text": _corrected(data.get("corrects_event_id"), versions, say),
    }
    try:
        return sentence(known, people)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        # Data of an older or odd shape: say what kind of event it is rather than fail the page.
        return say.text("event.unknown", type=event_type)


def _corrected(event_id: object, versions: Mapping[str, int], say: Catalogue) -> str:
    version = versions.get(str(event_id))
    if version is not None:
        return say.text("court.version", version=version)
    return say.text("court.event_id", id=short_id(event_id))
