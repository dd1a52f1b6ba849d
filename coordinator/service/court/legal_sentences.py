"""The court page's sentences for the legal record: testimony, evidence, a prosecution's steps
(opening, charges, verdicts) and a survivor's consents (coordinator/service/court/narrative.py
holds the rest and the table of every type)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coordinator.service.court.wording import (
    People,
    note_part,
    where_part,
)


def testimony_sentence(d: Mapping[str, Any], p: People) -> str:
    witness = d.get("witness", "survivor")
    who = (
        p.survivor(d["survivor_id"])
        if witness == "survivor"
        else p.text("court.person.witness", witness=p.term("witness", witness))
    )
    return p.text(
        "event.TestimonyRecorded",
        who=who,
        by=d["recorded_by"],
        place=where_part(d, p, "location", "in"),
        sha=str(d["sha256"])[:12],
    )


def evidence_sentence(d: Mapping[str, Any], p: People) -> str:
    held = (
        p.text("event.EvidenceLogged.held", custodian=d["custodian"]) if d.get("custodian") else ""
    )
    return p.text(
        "event.EvidenceLogged",
        description=d["description"],
        held=held,
        place=where_part(d, p, "storage", "in"),
    )


def prosecution_updated_sentence(d: Mapping[str, Any], p: People) -> str:
    return p.text(
        "event.ProsecutionUpdated",
        phase=p.term("phase", d["phase"]),
        court=where_part(d, p, "court", "at_the"),
        summary=note_part(d, p, "summary"),
    )


def verdict_sentence(d: Mapping[str, Any], p: People) -> str:
    who = p.defendant(d["defendant_id"])
    verdict = str(d["verdict"])
    if f"event.VerdictReached.{verdict}" in p.say.messages:
        text = p.text(f"event.VerdictReached.{verdict}", defendant=who)
    else:
        text = p.text("event.VerdictReached", defendant=who, verdict=p.term("verdict", verdict))
    months = d.get("sentence_months")
    if isinstance(months, int):
        years, rest = divmod(months, 12)
        term = p.listed(
            [
                p.say.count(f"court.{unit}", n)
                for n, unit in ((years, "years"), (rest, "months"))
                if n
            ]
        )
        text += p.text("event.VerdictReached.sentence", term=term or p.text("court.no_time"))
    if d.get("compensation"):
        text += p.text("event.VerdictReached.compensation", compensation=d["compensation"])
    return text


def charged_sentence(d: Mapping[str, Any], p: People) -> str:
    articles = [str(c.get("article")) for c in d.get("charges") or [] if isinstance(c, dict)]
    return p.text(
        "event.DefendantCharged",
        defendant=p.defendant(d["defendant_id"]),
        role=p.term("role", d["role"]),
        articles=p.say.count("court.articles", len(articles), articles=p.listed(articles)),
    )


def opened_sentence(d: Mapping[str, Any], p: People) -> str:
    province = p.text("court.part.comma", text=d["province"]) if d.get("province") else ""
    operations, survivors = len(d.get("operation_ids") or ()), len(d.get("survivor_ids") or ())
    return p.text(
        "event.ProsecutionOpened",
        case=d["case_number"],
        court=d["court"],
        province=province,
        operations=p.say.count("court.operations", operations),
        survivors=p.say.count("court.survivors", survivors),
    )


def consent_sentence(d: Mapping[str, Any], p: People) -> str:
    who = p.text("court.person.guardian") if d.get("given_by") == "guardian" else p.her()
    return p.text(
        "event.ConsentRecorded",
        who=who,
        recipient=d["recipient"],
        purpose=p.term("purpose", d["purpose"]),
    )
