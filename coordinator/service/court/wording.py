"""The court page's words for people and values: the vocabularies of the fields that take a
fixed list of values, how a person is named or described, and short ids.

Named where their personal data was opened for the reader, else described ("a 16-year-old girl",
"survivor 1a2b3c4d"), and "name erased" where their data was erased.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from coordinator.domain.actors import Role
from coordinator.i18n.catalogues import Catalogue, catalogue
from events.catalogue.vocabulary import (
    AgencyType,
    AppealBy,
    Channel,
    CloseReason,
    ConsentPurpose,
    Crossing,
    DefendantRole,
    Destination,
    Exploitation,
    Form,
    Gender,
    GivenBy,
    HearingKind,
    Outcome,
    Phase,
    Recovery,
    ReviewDecision,
    Risk,
    Service,
    SuspectedExploitation,
    Venue,
    Verdict,
    Witness,
)

VOCABULARIES: Final[Mapping[str, tuple[type[StrEnum], ...]]] = {
    "channel": (Channel,),
    "suspected_exploitation": (SuspectedExploitation,),
    "exploitation": (Exploitation, SuspectedExploitation),
    "form": (Form,),
    "gender": (Gender,),
    "venue": (Venue,),
    "agency_type": (AgencyType,),
    "risk": (Risk,),
    "outcome": (Outcome,),
    "destination": (Destination,),
    "service": (Service,),
    "phase": (Phase,),
    "reason": (CloseReason,),
    "how": (Recovery,),
    "crossing": (Crossing,),
    "decision": (ReviewDecision,),
    "purpose": (ConsentPurpose,),
    "given_by": (GivenBy,),
    "role": (DefendantRole, Role),
    "kind": (HearingKind,),
    "witness": (Witness,),
    "verdict": (Verdict,),
    "by": (AppealBy,),
}
"""The closed vocabularies a field's value comes from: each value has its words in every
catalogue as `term.<field>.<value>` (`term.channel.family`), in the sentences and the fields."""


def words(value: object) -> str:
    """A vocabulary value as words: `border_guard` -> `border guard`."""
    return str(value).replace("_", " ")


def short_id(value: object) -> str:
    """The first 8 hex digits of an id: enough to tell people apart on one page."""
    return str(value)[:8]


def listed(items: list[str], say: Catalogue) -> str:
    """`a`, `a and b`, `a, b and c`, in the page's language."""
    if len(items) <= 1:
        return "".join(items)
    return say.text("court.list", items=", ".join(items[:-1]), last=items[-1])


def term(say: Catalogue, name: str, value: object) -> str:
    """A field's value in words: its vocabulary's term if it has one, else the value spaced."""
    return say.word(f"term.{name}", value)


@dataclass(frozen=True, slots=True)
class People:
    """Who the page may name: display names by subject id (survivor, missing person,
    defendant), those whose data was erased, the stream the event belongs to, and the catalogue
    of the page's language."""

    names: Mapping[str, str]
    erased: frozenset[str]
    stream_id: str = ""
    say: Catalogue = field(default_factory=lambda: catalogue("en"))

    def survivor(self, survivor_id: object) -> str:
        """A survivor by name, else by her short id."""
        key = str(survivor_id)
        if key in self.names:
            return self.names[key]
        erased = self.say.text("court.person.name_erased") if key in self.erased else ""
        return self.say.text("court.person.survivor", id=short_id(key)) + erased

    def survivors(self, ids: object) -> str:
        """Several survivors, listed."""
        if not isinstance(ids, list):
            return self.say.text("court.person.survivors")
        return listed([self.survivor(i) for i in ids], self.say)

    def defendant(self, defendant_id: object) -> str:
        """A defendant by name, else by short id."""
        key = str(defendant_id)
        return self.names.get(key) or self.say.text("court.person.defendant", id=short_id(key))

    def her(self) -> str:
        """The survivor whose case the stream is."""
        return self.survivor(self.stream_id)

    def text(self, key: str, /, **values: object) -> str:
        """A message of the page's language."""
        return self.say.text(key, **values)

    def term(self, name: str, value: object) -> str:
        """A vocabulary's value in the page's language."""
        return term(self.say, name, value)

    def listed(self, items: list[str]) -> str:
        """Items listed in the page's language."""
        return listed(items, self.say)


def person(item: Mapping[str, Any], people: People, id_key: str) -> str:
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
    if isinstance(age, int):
        described = people.text(f"court.person.aged_{noun}", age=age)
    else:
        described = people.text(f"court.person.a_{noun}")
    if item.get("home_province"):
        described += people.text("court.person.from", province=item["home_province"])
    if (isinstance(personal, dict) and personal.get("erased")) or key in people.erased:
        described += people.text("court.person.name_erased")
    return described


def note_part(d: Mapping[str, Any], p: People, key: str = "note") -> str:
    """Her note as a part of a sentence (empty without one)."""
    value = d.get(key)
    return p.text("court.part.note", note=value) if value else ""


def where_part(d: Mapping[str, Any], p: People, key: str = "place", word: str = "at") -> str:
    """Where it happened as a part of a sentence (empty without a place)."""
    value = d.get(key)
    return p.text(f"court.part.{word}", place=value) if value else ""
