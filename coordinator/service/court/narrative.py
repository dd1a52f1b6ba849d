"""One plain-English sentence per event, from its type and fields, for the court page.

Every event type of every kind of stream (operations, survivors' cases, prosecutions) has a
sentence; an unknown type gets a generic one. People are named where their personal data was
opened for the reader, else described ("a 16-year-old girl", "survivor 1a2b3c4d"), and "name
erased" where their data was erased. The text is plain: the page escapes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from coordinator.service.court.times import Clock
from events.catalogue import EventType

COUNTRIES: Final = {
    "VN": "Vietnam", "CN": "China", "LA": "Laos", "KH": "Cambodia", "TH": "Thailand",
    "MM": "Myanmar", "MY": "Malaysia", "SG": "Singapore", "ID": "Indonesia",
    "PH": "the Philippines", "KR": "South Korea", "JP": "Japan", "TW": "Taiwan",
    "HK": "Hong Kong", "AE": "the UAE",
    "SA": "Saudi Arabia", "RU": "Russia", "GB": "the United Kingdom", "DE": "Germany",
    "FR": "France", "US": "the United States", "AU": "Australia",
}  # fmt: skip


def words(value: object) -> str:
    """A vocabulary value as words: `border_guard` -> `border guard`."""
    return str(value).replace("_", " ")


def country(code: object) -> str:
    """A country's name for the codes of the region, else its ISO code."""
    return COUNTRIES.get(str(code), str(code))


def short_id(value: object) -> str:
    """The first 8 hex digits of an id: enough to tell people apart on one page."""
    return str(value)[:8]


def listed(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True, slots=True)
class People:
    """Who the page may name: display names by subject id (survivor, missing person,
    defendant), those whose data was erased, and the stream the event belongs to."""

    names: Mapping[str, str]
    erased: frozenset[str]
    stream_id: str = ""

    def survivor(self, survivor_id: object) -> str:
        """A survivor by name, else by her short id."""
        key = str(survivor_id)
        if key in self.names:
            return self.names[key]
        erased = " (name erased)" if key in self.erased else ""
        return f"survivor {short_id(key)}{erased}"

    def survivors(self, ids: object) -> str:
        """Several survivors, listed."""
        return listed([self.survivor(i) for i in ids]) if isinstance(ids, list) else "survivors"

    def defendant(self, defendant_id: object) -> str:
        """A defendant by name, else by short id."""
        key = str(defendant_id)
        return self.names.get(key, f"defendant {short_id(key)}")

    def her(self) -> str:
        """The survivor whose case the stream is."""
        return self.survivor(self.stream_id)


def _person(item: Mapping[str, Any], people: People, id_key: str) -> str:
    """A missing person or survivor: name if opened, else age, gender and where from."""
    key = str(item.get(id_key, ""))
    personal = item.get("personal")
    if isinstance(personal, dict) and isinstance(personal.get("name"), str):
        return str(personal["name"])
    age = item.get("age_at_rescue", item.get("age"))
    gender = item.get("gender")
    minor = isinstance(age, int) and age < 18
    noun = {"female": "girl" if minor else "woman", "male": "boy" if minor else "man"}.get(
        str(gender), "person"
    )
    described = f"a {age}-year-old {noun}" if isinstance(age, int) else f"a {noun}"
    if item.get("home_province"):
        described += f" from {item['home_province']}"
    if (isinstance(personal, dict) and personal.get("erased")) or key in people.erased:
        described += " (name erased)"
    return described


def _note(data: Mapping[str, Any], key: str = "note") -> str:
    value = data.get(key)
    return f": {value}" if value else ""


def _where(data: Mapping[str, Any], key: str = "place", word: str = "at") -> str:
    value = data.get(key)
    return f" {word} {value}" if value else ""


def _case_reported(d: Mapping[str, Any], p: People) -> str:
    reporter = d.get("reporter") or {}
    who = f"the {reporter['relationship']}" if reporter.get("relationship") else "someone"
    missing = [_person(m, p, "missing_person_id") for m in d.get("missing_persons") or []]
    text = f"{who} reported {listed(missing) or 'a person'} missing (by {words(d['channel'])})"
    suspected = d.get("suspected_exploitation")
    if suspected and suspected != "unknown":
        text += f"; suspected {suspected} exploitation"
    if d.get("suspected_country"):
        text += f" in {country(d['suspected_country'])}"
    return text + (f"; case {d['reference']}" if d.get("reference") else "")


def _rescue_executed(d: Mapping[str, Any], p: People) -> str:
    outcome = {"success": "succeeded", "partial": "partly succeeded", "failed": "failed"}
    text = f"the rescue {outcome.get(str(d['outcome']), words(d['outcome']))}"
    if d.get("emergency"):
        text += f", as an emergency ({d.get('emergency_reason', 'no reason given')})"
    freed = [_person(s, p, "survivor_id") for s in d.get("survivors") or []]
    if freed:
        text += f"; {len(freed)} freed: {listed(freed)}"
    return text


def _survivor_recovered(d: Mapping[str, Any], p: People) -> str:
    found = [_person(s, p, "survivor_id") for s in d.get("survivors") or []]
    return f"{listed(found)} came to the organisation without its rescue ({words(d['how'])})"


def _custody(d: Mapping[str, Any], p: People) -> str:
    def party(side: Mapping[str, Any]) -> str:
        officer = f", officer {side['officer']}" if side.get("officer") else ""
        return f"{side['agency']} ({country(side['country'])}{officer})"

    return (
        f"{p.survivors(d['survivor_ids'])} handed from {party(d['from_party'])} to "
        f"{party(d['to_party'])}{_where(d)}"
    )


def _returned(d: Mapping[str, Any], p: People) -> str:
    where = "home" if d.get("destination") == "home" else "at a shelter"
    crossing = f" (crossing: {words(d['crossing'])})" if d.get("crossing") else ""
    return f"{p.survivors(d['survivor_ids'])} arrived {where}{_where(d, word='in')}{crossing}"


def _reunited(d: Mapping[str, Any], p: People) -> str:
    family = f" ({listed(list(d['family_present']))})" if d.get("family_present") else ""
    return f"{p.survivor(d['survivor_id'])} was reunited with her family{family}{_where(d)}"


def _support(d: Mapping[str, Any], p: People) -> str:
    who = p.survivor(d["survivor_id"]) if d.get("survivor_id") else p.her()
    return f"{who} received {words(d['service'])}{_note(d)}"


def _testimony(d: Mapping[str, Any], p: People) -> str:
    witness = d.get("witness", "survivor")
    who = p.survivor(d["survivor_id"]) if witness == "survivor" else f"a {words(witness)} witness"
    return (
        f"the testimony of {who} was recorded by {d['recorded_by']}{_where(d, 'location', 'in')} "
        f"(file SHA-256 {str(d['sha256'])[:12]}…)"
    )


def _evidence(d: Mapping[str, Any], _p: People) -> str:
    held = f", held by {d['custodian']}" if d.get("custodian") else ""
    return f"evidence was logged: {d['description']}{held}{_where(d, 'storage', 'in')}"


def _verdict(d: Mapping[str, Any], p: People) -> str:
    who = p.defendant(d["defendant_id"])
    found = {"convicted": f"{who} was convicted", "acquitted": f"{who} was acquitted"}
    text = found.get(str(d["verdict"]), f"the case against {who} was {words(d['verdict'])}")
    months = d.get("sentence_months")
    if isinstance(months, int):
        years, rest = divmod(months, 12)
        term = listed(
            [f"{n} {u}{'s' if n != 1 else ''}" for n, u in ((years, "year"), (rest, "month")) if n]
        )
        text += f", sentenced to {term or 'no time'}"
    return text + (f", compensation {d['compensation']}" if d.get("compensation") else "")


def _charged(d: Mapping[str, Any], p: People) -> str:
    articles = [str(c.get("article")) for c in d.get("charges") or [] if isinstance(c, dict)]
    plural = "s" if len(articles) != 1 else ""
    return (
        f"{p.defendant(d['defendant_id'])} ({words(d['role'])}) was charged under "
        f"article{plural} {listed(articles)}"
    )


def _opened(d: Mapping[str, Any], _p: People) -> str:
    province = f", {d['province']}" if d.get("province") else ""
    operations, survivors = len(d.get("operation_ids") or ()), len(d.get("survivor_ids") or ())
    return (
        f"prosecution {d['case_number']} was opened at the {d['court']}{province}, concerning "
        f"{operations} operation{'s' if operations != 1 else ''} and {survivors} "
        f"survivor{'s' if survivors != 1 else ''}"
    )


def _consent(d: Mapping[str, Any], p: People) -> str:
    who = "her guardian" if d.get("given_by") == "guardian" else p.her()
    return f"{who} consented to {d['recipient']} using her record for {words(d['purpose'])}"


Sentence = Callable[[Mapping[str, Any], People], str]

SENTENCES: Final[Mapping[str, Sentence]] = {
    EventType.CASE_REPORTED: _case_reported,
    EventType.INVESTIGATION_OPENED: lambda d, _p: (
        f"{d['lead_investigator']} took on the investigation"
    ),
    EventType.LEAD_RECORDED: lambda d, _p: (
        f"a lead came in from {d['source']} (reliability {d['reliability']}){_note(d, 'summary')}"
    ),
    EventType.LOCATION_CONFIRMED: lambda d, _p: (
        "the place where the missing are held was "
        f"confirmed: {words(d.get('venue') or 'a place')}{_where(d, word='in')}, "
        f"{country(d['country'])}"
    ),
    EventType.PARTNER_ENGAGED: lambda d, _p: (
        f"{d['agency']} ({words(d['agency_type'])}, "
        f"{country(d['country'])}) joined the operation"
        + (f", contact officer {d['contact_officer']}" if d.get("contact_officer") else "")
    ),
    EventType.RESCUE_PLANNED: lambda d, _p: (
        f"a rescue was planned for "
        f"{d['planned_for_text']}, {words(d['risk'])} risk"
        + (f", team {listed(list(d['team']))}" if d.get("team") else "")
        + (f", with {listed(list(d['partners']))}" if d.get("partners") else "")
    ),
    EventType.RESCUE_APPROVED: lambda d, _p: f"the rescue plan was approved{_note(d)}",
    EventType.RESCUE_EXECUTED: _rescue_executed,
    EventType.RESCUE_ABORTED: lambda d, _p: f"the rescue was called off: {d['reason']}",
    EventType.RESCUE_REVIEWED: lambda d, _p: (
        "leadership reviewed the emergency rescue and "
        + ("endorsed it" if d.get("decision") == "endorsed" else "raised concerns")
        + _note(d)
    ),
    EventType.SURVIVOR_RECOVERED: _survivor_recovered,
    EventType.CUSTODY_TRANSFERRED: _custody,
    EventType.SURVIVOR_RETURNED: _returned,
    EventType.FAMILY_REUNITED: _reunited,
    EventType.SUPPORT_PROVIDED: _support,
    EventType.TESTIMONY_RECORDED: _testimony,
    EventType.EVIDENCE_LOGGED: _evidence,
    EventType.PROSECUTION_UPDATED: lambda d, _p: (
        f"the prosecution reached the "
        f"{words(d['phase'])} stage{_where(d, 'court', 'at the')}{_note(d, 'summary')}"
    ),
    EventType.STATUS_NOTED: lambda d, _p: f"a note from the field{_where(d)}: {d['note']}",
    EventType.EVENT_CORRECTED: lambda d, _p: f"{d['corrects_text']} was corrected: {d['reason']}",
    EventType.PERSONAL_DATA_ERASED: lambda d, p: (
        "the personal data of "
        f"{p.survivor(d.get('survivor_id') or p.stream_id)} was erased: {d['reason']}"
    ),
    EventType.OPERATION_CLOSED: lambda d, _p: (
        f"the operation was closed ({words(d['reason'])}){_note(d)}"
    ),
    EventType.CONSENT_RECORDED: _consent,
    EventType.CONSENT_WITHDRAWN: lambda d, p: (
        f"{p.her()} withdrew her consent to "
        f"{d['recipient']} using her record for {words(d['purpose'])}"
    ),
    EventType.SUPPORT_DECLINED: lambda d, p: (
        f"{p.her()} declined the organisation's help{_note(d)}"
    ),
    EventType.CONTACT_LOST: lambda d, p: f"the organisation lost contact with {p.her()}{_note(d)}",
    EventType.CONTACT_RESTORED: lambda d, p: f"contact with {p.her()} was restored{_note(d)}",
    EventType.SURVIVOR_RETRAFFICKED: lambda d, p: (
        f"{p.her()} was trafficked again; operation "
        f"{short_id(d['operation_id'])} looks for her{_note(d)}"
    ),
    EventType.SURVIVOR_INDEPENDENT: lambda d, p: f"{p.her()} lives independently{_note(d)}",
    EventType.PROSECUTION_OPENED: _opened,
    EventType.DEFENDANT_CHARGED: _charged,
    EventType.HEARING_HELD: lambda d, _p: (
        f"a {words(d['kind'])} hearing was held on {d['held_on_text']}{_note(d, 'outcome')}"
    ),
    EventType.VERDICT_REACHED: _verdict,
    EventType.APPEAL_FILED: lambda d, p: (
        f"the {words(d['by'])} appealed the verdict on {p.defendant(d['defendant_id'])}"
    ),
    EventType.PROSECUTION_CLOSED: lambda d, _p: f"the prosecution was closed: {d['reason']}",
    EventType.ALERT_ACKNOWLEDGED: lambda d, _p: f"an alert was acknowledged{_note(d)}",
}


def what_happened(
    event_type: str,
    data: Mapping[str, Any] | None,
    people: People,
    *,
    clock: Clock,
    versions: Mapping[str, int],
) -> str:
    """What the event says, as a clause: `the mother reported Lan missing (by family)`."""
    sentence = SENTENCES.get(event_type)
    if data is None:
        return f"an event of type {event_type} was recorded (its content is withheld here)"
    if sentence is None:
        return f"an event of type {event_type} was recorded"
    # Times and references inside the data, written as the page writes them.
    known = {
        **data,
        "planned_for_text": clock.text(str(data.get("planned_for", ""))),
        "held_on_text": clock.text(str(data.get("held_on", ""))),
        "corrects_text": _corrected(data.get("corrects_event_id"), versions),
    }
    try:
        return sentence(known, people)
    except (KeyError, TypeError, ValueError, AttributeError):
        # Data of an older or odd shape: say what kind of event it is rather than fail the page.
        return f"an event of type {event_type} was recorded"


def _corrected(event_id: object, versions: Mapping[str, int]) -> str:
    version = versions.get(str(event_id))
    return f"version {version}" if version is not None else f"event {short_id(event_id)}"
