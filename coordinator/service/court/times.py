"""Times on the court page: local time with its zone's name, and UTC beside it, to the minute.

"14 Oct 2020, 10:00 Hanoi time (03:00 UTC)": a judge reads the local time, an expert matches
the UTC time against the evidence file. Stored times carry microseconds; the page does not. Days
are written in the page's language (`14 thg 10, 2020` in Vietnamese, through Babel's CLDR data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date

DEFAULT_ZONE: Final = "Asia/Ho_Chi_Minh"

# Zones whose key does not name the city people say (Vietnam's is named for Saigon).
_ZONE_NAMES: Final = {"Asia/Ho_Chi_Minh": "Hanoi time", "Asia/Saigon": "Hanoi time", "UTC": "UTC"}


@dataclass(frozen=True, slots=True)
class Clock:
    """How the page writes times: in one zone, named as people say it."""

    zone: ZoneInfo
    name: str
    language: str = "en"

    @classmethod
    def of(cls, key: str = DEFAULT_ZONE) -> Clock:
        """The clock of an IANA zone (`Asia/Ho_Chi_Minh`); UTC for a zone this host lacks."""
        try:
            zone = ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            return cls(ZoneInfo("UTC"), "UTC")
        city = key.rsplit("/", 1)[-1].replace("_", " ")
        return cls(zone, _ZONE_NAMES.get(key, f"{city} time"))

    def moment(self, stamp: datetime, *, seconds: bool = False) -> str:
        """`14 Oct 2020, 10:00 Hanoi time (03:00 UTC)`; the UTC date too when it differs."""
        local, utc = stamp.astimezone(self.zone), stamp.astimezone(UTC)
        clock = "%H:%M:%S" if seconds else "%H:%M"
        text = f"{self.day(local.date())}, {local.strftime(clock)} {self.name}"
        if self.name == "UTC":
            return text
        when_utc = utc.strftime(clock)
        if utc.date() != local.date():
            when_utc = f"{self.day(utc.date())}, {when_utc}"
        return f"{text} ({when_utc} UTC)"

    def text(self, stamp: str, *, seconds: bool = False) -> str:
        """A stored or recorded time as the page writes it (the text itself if it is no time)."""
        parsed = parse_moment(stamp)
        if isinstance(parsed, datetime):
            return self.moment(parsed, seconds=seconds)
        if isinstance(parsed, date):
            return self.day(parsed)
        return stamp

    def day(self, value: date) -> str:
        """A calendar day in the page's language: `14 Oct 2020`, `14 thg 10, 2020`."""
        if self.language == "en":
            return day(value)
        return format_date(value, "medium", locale=self.language)


def day(value: date) -> str:
    """`14 Oct 2020`."""
    return f"{value.day} {value.strftime('%b %Y')}"


def parse_moment(text: str) -> datetime | date | None:
    """A time with its zone, or a calendar day, written in ISO 8601; None for other text."""
    if not 10 <= len(text) <= 40 or not text[:4].isdigit() or text[4:5] != "-":
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
