"""The court page: an exported bundle as a document a judge reads, in a browser or on paper.

First what was verified (the chain, the proofs, the checkpoint's signature, its key and time),
then one plain-English sentence per event with its fields beneath (personal data opened for the
reader, or marked erased; times local with their zone and in UTC), each correction beside the
event it corrects, and the hashes in a compact appendix. Every value is escaped; the page has no
script and loads nothing, and its headers forbid everything but its own inline stylesheet. It
prints on A4 in a few pages and reads on a phone. Its own words come from the message catalogue
of its language (coordinator/locale; English unless asked), its sentences and field labels too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from coordinator.i18n.catalogues import Catalogue, catalogue
from coordinator.service.court.fields import definitions, text
from coordinator.service.court.narrative import People, what_happened
from coordinator.service.court.style import STYLE
from coordinator.service.court.summary import (
    appendix_section,
    html_message,
    verified_section,
)
from coordinator.service.court.times import Clock
from coordinator.service.privacy.places import is_sealed
from events.catalogue import EventType

_SUBJECT_KEYS: Final = ("survivor_id", "missing_person_id", "defendant_id")


def _people(
    events: list[dict[str, Any]], datas: Mapping[str, Any]
) -> tuple[dict[str, str], set[str]]:
    """Names by subject id where personal data was opened, and the subjects erased."""
    names: dict[str, str] = {}
    erased: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            personal = value.get("personal")
            subject = next((str(value[k]) for k in _SUBJECT_KEYS if value.get(k)), None)
            if subject and isinstance(personal, dict):
                if isinstance(personal.get("name"), str):
                    names.setdefault(subject, personal["name"])
                elif personal.get("erased") is True:
                    erased.add(subject)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for event in events:
        data = datas.get(event["event_id"])
        walk(data)
        if event["type"] == EventType.PERSONAL_DATA_ERASED and isinstance(data, dict):
            erased.add(str(data.get("survivor_id") or event.get("stream_id", "")))
    return {k: v for k, v in names.items() if k not in erased}, erased


def _stamp(event: Mapping[str, Any], key: str, clock: Clock, *, seconds: bool = False) -> str:
    return clock.text(str(event.get(key, "")), seconds=seconds)


def _text_shown(value: Any, say: Catalogue, key: str = "") -> Any:
    """Data as the page shows it: a note, place or other free text left sealed (not opened for
    this copy) or erased reads as a word in its place; `personal` objects are shown by the
    fields' own rules."""
    if isinstance(value, dict):
        if key != "personal" and key:
            if is_sealed(value):
                return say.text("court.text_sealed")
            if value == {"erased": True}:
                return say.text("court.text_erased")
        return {name: _text_shown(item, say, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_text_shown(item, say, key) for item in value]
    return value


class _Page:
    """What every part of the page needs: the events, their readable data, names and times."""

    def __init__(
        self,
        events: list[dict[str, Any]],
        opened: Mapping[str, Any],
        clock: Clock,
        say: Catalogue,
    ):
        self.events = events
        self.clock = clock
        self.say = say
        self.datas = {
            e["event_id"]: _text_shown(opened.get(e["event_id"], e.get("data")), say)
            for e in events
        }
        self.versions = {e["event_id"]: int(e["version"]) for e in events}
        names, erased = _people(events, self.datas)
        self.names, self.erased = names, frozenset(erased)
        self.corrections: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            data = self.datas[event["event_id"]]
            if event["type"] == EventType.EVENT_CORRECTED and isinstance(data, dict):
                self.corrections.setdefault(str(data.get("corrects_event_id")), []).append(event)

    def sentence(self, event: dict[str, Any]) -> str:
        people = People(self.names, self.erased, str(event.get("stream_id", "")))
        data = self.datas[event["event_id"]]
        clause = what_happened(
            str(event["type"]),
            data if isinstance(data, dict) else None,
            people,
            clock=self.clock,
            versions=self.versions,
        )
        metadata = event.get("metadata") or {}
        who = metadata.get("recorded_by") or self.say.text("court.unknown")
        role = (
            self.say.text("court.part.brackets", text=self.say.word("term.role", metadata["role"]))
            if metadata.get("role")
            else ""
        )
        recorded = self.say.text("court.recorded_by", who=who, role=role)
        return f"{_stamp(event, 'occurred_at', self.clock)}: {clause}{recorded}."

    def _correction_notes(self, event: dict[str, Any]) -> str:
        notes = []
        for fix in self.corrections.get(event["event_id"], []):
            data = self.datas[fix["event_id"]]
            corrected = data.get("corrected_data") if isinstance(data, dict) else None
            fields = definitions(corrected, self.clock) if isinstance(corrected, dict) else ""
            by = self.say.text(
                "court.corrected_by",
                version=fix["version"],
                when=_stamp(fix, "recorded_at", self.clock),
            )
            notes.append(
                f"<aside class=fix><strong>{html_message(self.say, 'court.corrected')}</strong>"
                f"{text(by)}"
                f"{text(data.get('reason', '') if isinstance(data, dict) else '')}{fields}</aside>"
            )
        return "".join(notes)

    def article(self, event: dict[str, Any]) -> str:
        metadata = event.get("metadata") or {}
        who = (
            f"{metadata.get('recorded_by') or self.say.text('court.unknown')} "
            f"({self.say.word('term.role', metadata.get('role', ''))})"
        )
        envelope = (
            definitions(
                {
                    self.say.text("court.field_event"): event["type"],
                    self.say.text("court.field_happened"): _stamp(
                        event, "occurred_at", self.clock, seconds=True
                    ),
                    self.say.text("court.field_recorded"): _stamp(
                        event, "recorded_at", self.clock, seconds=True
                    ),
                    self.say.text("court.field_recorded_by"): who,
                }
            )
            .removeprefix("<dl>")
            .removesuffix("</dl>")
        )
        data = self.datas[event["event_id"]]
        fields = definitions(data, self.clock) if isinstance(data, dict) else ""
        fields = fields.removeprefix("<dl>").removesuffix("</dl>")
        css = "correction" if event["type"] == EventType.EVENT_CORRECTED else ""
        return (
            f"<article class='{css}' id=v{text(event['version'])}>"
            f"<p><span class=n>{text(event['version'])}</span>{text(self.sentence(event))}</p>"
            f"<dl>{envelope}{fields}</dl>{self._correction_notes(event)}</article>"
        )


def _streams(bundle: Mapping[str, Any]) -> list[tuple[str, str | None, list[dict[str, Any]], Any]]:
    """(stream id, kind, events, signed head) of a one-stream bundle or a bundle of several."""
    if isinstance(bundle.get("streams"), list):
        return [
            (
                str(s.get("stream_id")),
                s.get("kind"),
                list(s.get("events") or []),
                s.get("stream_head"),
            )
            for s in bundle["streams"]
        ]
    return [
        (
            str(bundle.get("operation_id")),
            "operation",
            list(bundle["events"]),
            bundle.get("stream_head"),
        )
    ]


def render_trail(
    bundle: dict[str, Any],
    *,
    opened: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    reader: str | None = None,
    language: str = "en",
) -> str:
    """The bundle as the court page. `opened` holds each event's data with its personal data
    opened (or marked erased) for the reader, by event id; without it personal data shows as
    sealed. `reader` names whom it was opened for; `language` is one with a catalogue."""
    say = catalogue(language)
    clock = clock or Clock.of()
    zone = say.messages.get(f"court.zone.{clock.name}", clock.name)
    clock = dataclasses.replace(clock, language=say.language, name=zone)
    streams = _streams(bundle)
    every = [event for _, _, events, _ in streams for event in events]
    page = _Page(every, opened or {}, clock, say)
    title_id = bundle.get("operation_id") or bundle.get("primary_stream_id") or ""
    reference = next(
        (
            page.datas[e["event_id"]].get("reference")
            for e in every
            if e["type"] == EventType.CASE_REPORTED and isinstance(page.datas[e["event_id"]], dict)
        ),
        None,
    )
    title = (
        say.text("court.title_reference", reference=reference)
        if reference
        else say.text("court.title_id", id=title_id)
    )
    span = ""
    if every:
        span = say.text(
            "court.span",
            start=_stamp(every[0], "occurred_at", clock),
            end=_stamp(every[-1], "occurred_at", clock),
        )
    opened_for = (
        say.text("court.opened_for", reader=reader)
        if reader and opened
        else say.text("court.sealed")
        if not opened
        else ""
    )
    lede = say.text("court.lede", count=len(every), span=span, zone=clock.name)
    sections = "".join(
        (
            f"<h3>{text(say.word('court.stream', kind or 'stream'))} {text(stream_id)}</h3>"
            if len(streams) > 1
            else ""
        )
        + "".join(page.article(event) for event in events)
        for stream_id, kind, events, _ in streams
    )
    return (
        f"<!doctype html><html lang={text(say.language)}><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<meta name=referrer content=no-referrer>"
        f"<title>{text(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{text(title)}</h1>"
        f"<p class=lede>{html_message(say, 'court.operation')} <code>{text(title_id)}</code>: "
        f"{text(lede)}{text(opened_for)}</p>"
        f"{verified_section(bundle, streams, clock, say)}"
        f"<h2>{html_message(say, 'court.events_heading')}</h2>{sections}"
        f"{appendix_section(bundle, streams, clock, say)}</body></html>"
    )


def refusal_page(title: str, sentence: str) -> str:
    """A short page that says why a court link does not open, in the court page's style."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{text(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{text(title)}</h1><p>{text(sentence)}</p></body></html>"
    )
