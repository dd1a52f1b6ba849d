"""Reading one spreadsheet cell: the spellings a sheet uses for each vocabulary, and its dates.

Every parser takes the cell's text and returns the catalogue's value or raises `BadCell` with a
sentence naming what was found and what is accepted. Vocabulary cells compare case-insensitively,
with spaces, hyphens and underscores alike (`Forced marriage` = `forced_marriage`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum

from events.catalogue import ISO_3166_ALPHA_2, Channel, Exploitation, Form, Gender

MIN_AGE = 0
MAX_AGE = 120


class BadCell(ValueError):
    """A cell whose text is not a value of its column."""


class Outcome(StrEnum):
    """Where a survivor's journey had got to when the sheet was exported."""

    RESCUED = "rescued"  # freed, not yet returned (or the sheet does not say)
    RETURNED_HOME = "returned_home"
    SHELTER = "shelter"
    REUNITED = "reunited"


def words(text: str) -> str:
    """`text` lower-cased with every run of spaces, hyphens, underscores or dots made one `_`."""
    return re.sub(r"[\s\-_./]+", "_", text.strip().casefold()).strip("_")


def _spellings(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {words(spelling): value for value, spellings in table.items() for spelling in spellings}


_GENDERS = _spellings(
    {
        Gender.FEMALE: ("female", "f", "woman", "girl", "nữ", "nu"),
        Gender.MALE: ("male", "m", "man", "boy", "nam"),
        Gender.OTHER: ("other",),
    }
)
_EXPLOITATIONS = _spellings(
    {
        Exploitation.SEXUAL: ("sexual", "sex", "sexual exploitation", "sex trafficking"),
        Exploitation.LABOUR: (
            "labour",
            "labor",
            "labour exploitation",
            "labor exploitation",
            "forced labour",
            "forced labor",
        ),
    }
)
_FORMS = _spellings(
    {
        Form.BROTHEL: ("brothel",),
        Form.FORCED_MARRIAGE: ("forced marriage", "bride", "sold as bride", "sold as a bride"),
        Form.GARMENT_FACTORY: ("garment factory", "garment", "garment workshop", "sweatshop"),
        Form.MINE: ("mine", "mining"),
        Form.FARM: ("farm", "plantation"),
        Form.STREET: ("street", "street selling", "flower selling", "begging"),
        Form.OTHER: ("other",),
    }
)
_OUTCOMES = _spellings(
    {
        Outcome.RESCUED: ("rescued", "in transit", "not yet returned"),
        Outcome.RETURNED_HOME: ("returned home", "returned", "home", "back home", "went home"),
        Outcome.SHELTER: ("shelter", "in shelter", "returned to shelter"),
        Outcome.REUNITED: ("reunited", "reunited with family", "family reunion", "reunion"),
    }
)
_CHANNELS = _spellings(
    {
        Channel.FAMILY: ("family", "parent", "mother", "father"),
        Channel.COMMUNITY: ("community", "neighbour", "neighbor", "village"),
        Channel.SCHOOL_EARLY_WARNING: (
            "school early warning",
            "school",
            "early warning",
            "teacher",
        ),
        Channel.HOTLINE: ("hotline", "helpline", "facebook", "social media"),
        Channel.POLICE: ("police", "border guard", "border guards"),
        Channel.SELF: ("self", "self referral", "survivor", "victim"),
    }
)
COUNTRY_NAMES: dict[str, str] = _spellings(
    {
        "VN": ("vietnam", "viet nam"),
        "CN": ("china", "prc"),
        "MM": ("myanmar", "burma"),
        "LA": ("laos", "lao pdr"),
        "KH": ("cambodia",),
        "TH": ("thailand",),
        "MY": ("malaysia",),
    }
)
"""The few country names a sheet of the region spells out; anything else must be a code."""


def _choice(text: str, table: dict[str, str], what: str, accepted: str) -> str:
    value = table.get(words(text))
    if value is None:
        raise BadCell(f"{what} {text.strip()!r} is not one of {accepted}")
    return value


def gender(text: str) -> Gender:
    """female, male or other (also F/M, woman/man, girl/boy, nữ/nam)."""
    return Gender(_choice(text, _GENDERS, "gender", "female, male, other"))


def exploitation(text: str) -> Exploitation:
    """sexual or labour (also sex, labor, forced labour)."""
    return Exploitation(_choice(text, _EXPLOITATIONS, "exploitation", "sexual, labour"))


def form(text: str) -> Form | None:
    """The exploitation's form, or None for an empty cell."""
    if not text.strip():
        return None
    return Form(_choice(text, _FORMS, "form", ", ".join(Form)))


def outcome(text: str) -> Outcome:
    """rescued (or empty), returned home, shelter or reunited."""
    if not text.strip():
        return Outcome.RESCUED
    return Outcome(_choice(text, _OUTCOMES, "outcome", "rescued, returned home, shelter, reunited"))


def channel(text: str) -> Channel | None:
    """Who asked for help, or None for an empty cell."""
    if not text.strip():
        return None
    return Channel(_choice(text, _CHANNELS, "channel", ", ".join(Channel)))


def country(text: str) -> str:
    """An ISO 3166-1 alpha-2 code (any case), or one of the region's names in COUNTRY_NAMES."""
    cleaned = text.strip()
    if cleaned.upper() in ISO_3166_ALPHA_2:
        return cleaned.upper()
    named = COUNTRY_NAMES.get(words(cleaned))
    if named is None:
        raise BadCell(f"country {cleaned!r} is not an ISO 3166-1 alpha-2 code such as VN, CN, MM")
    return named


def age(text: str) -> int:
    """Whole years from 0 to 120 (a spreadsheet's `17.0` is 17)."""
    cleaned = text.strip()
    try:
        number = float(cleaned)
    except ValueError:
        raise BadCell(f"age {cleaned!r} is not a number of years") from None
    if not number.is_integer():
        raise BadCell(f"age {cleaned!r} is not a whole number of years")
    if not MIN_AGE <= number <= MAX_AGE:
        raise BadCell(f"age {cleaned} is out of range ({MIN_AGE} to {MAX_AGE})")
    return int(number)


def utc_offset(text: str) -> timezone:
    """`+07:00`, `-03:30` or `Z`: the zone a sheet's calendar days are in."""
    cleaned = text.strip()
    if cleaned.upper() in {"Z", "UTC"}:
        return UTC
    found = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", cleaned)
    if found is None:
        raise BadCell(f"UTC offset {cleaned!r} is not of the form +07:00")
    sign = 1 if found[1] == "+" else -1
    offset = timedelta(hours=int(found[2]), minutes=int(found[3]))
    if offset >= timedelta(hours=24):
        raise BadCell(f"UTC offset {cleaned!r} is a day or more")
    return timezone(sign * offset)


_DAY_FIRST = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d")
HOUR_OF_A_DAY = time(12)
"""A sheet's calendar day is recorded as noon of that day in the organisation's zone, so the day
is the same whichever zone a reader shows it in (within twelve hours)."""


@dataclass(frozen=True, slots=True)
class DateReader:
    """Reads a sheet's dates in its organisation's zone; nothing after `today` is accepted."""

    zone: tzinfo
    today: date

    def read(self, text: str, what: str) -> datetime | None:
        """The moment a date cell names, or None for an empty cell."""
        cleaned = text.strip()
        if not cleaned:
            return None
        moment = self._parse(cleaned, what)
        if moment.astimezone(self.zone).date() > self.today:
            raise BadCell(f"{what} {cleaned!r} is in the future")
        return moment

    def _parse(self, cleaned: str, what: str) -> datetime:
        try:
            return datetime.combine(date.fromisoformat(cleaned), HOUR_OF_A_DAY, self.zone)
        except ValueError:
            pass
        for pattern in _DAY_FIRST:
            try:
                day = datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007  a calendar day
            except ValueError:
                continue
            return datetime.combine(day, HOUR_OF_A_DAY, self.zone)
        try:
            moment = datetime.fromisoformat(cleaned)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
        raise BadCell(
            f"{what} {cleaned!r} is not a date (write 2019-03-14 or 14/03/2019, day first, "
            f"or a time with its zone)"
        )
