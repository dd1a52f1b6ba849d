"""An event's structured fields as an escaped HTML definition list: no JSON, no raw markup.

Nested objects become nested lists, lists of objects numbered items, times local with UTC,
and each `personal` object its opened fields, "erased" where its key was destroyed, or
"sealed" where it was not opened for this copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any, Final

from coordinator.service.court.narrative import country
from coordinator.service.court.times import Clock, parse_moment

_LABELS: Final = {
    "sha256": "SHA-256",
    "survivor_ids": "Survivors",
    "operation_ids": "Operations",
    "missing_persons": "Missing persons",
    "from_party": "From",
    "to_party": "To",
    "corrects_event_id": "Corrects event",
    "corrected_data": "Corrected fields",
    "personal": "Personal data",
    "date_of_birth": "Date of birth",
    "age_at_rescue": "Age at rescue",
    "found_in_country": "Found in country",
}


def text(value: object) -> str:
    """Any value, escaped for HTML text and attributes."""
    return escape(str(value), quote=True)


def label(key: str) -> str:
    """A field's name as a reader says it: `home_province` -> `Home province`."""
    if key in _LABELS:
        return _LABELS[key]
    spoken = key.replace("_", " ").strip()
    return spoken[:1].upper() + spoken[1:]


def _personal(value: object) -> str:
    if value is None:
        return "<em>withheld from this role</em>"
    if not isinstance(value, dict):
        return text(value)
    if value.get("erased") is True and len(value) == 1:
        return "<strong class=erased>erased</strong>"
    if set(value) == {"withheld"}:
        return f"<em>withheld: {text(value['withheld'])}</em>"
    if value.get("sealed"):
        return "<em>sealed (not opened on this copy)</em>"
    return definitions(value)


def _scalar(value: object, clock: Clock) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, str) and parse_moment(value) is not None:
        return text(clock.text(value))
    return text(value)


def value_html(key: str, value: object, clock: Clock) -> str:
    """One field's value as HTML."""
    if key == "personal":
        return _personal(value)
    if isinstance(value, dict):
        return definitions(value, clock)
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return text(", ".join(_plain(item) for item in value)) or "none"
        items = "".join(f"<li>{value_html(key, item, clock)}</li>" for item in value)
        return f"<ol>{items}</ol>"
    if key == "country" or key.endswith("_country"):
        return text(f"{country(value)} ({value})" if country(value) != value else value)
    return _scalar(value, clock)


def _plain(item: object) -> str:
    return "yes" if item is True else "no" if item is False else str(item)


def definitions(data: Mapping[str, Any], clock: Clock | None = None) -> str:
    """The fields of `data` (none null) as a definition list."""
    clock = clock or Clock.of("UTC")
    rows = "".join(
        f"<div><dt>{text(label(str(key)))}</dt><dd>{value_html(str(key), value, clock)}</dd></div>"
        for key, value in data.items()
        if (value is not None and value != []) or key == "personal"
    )
    return f"<dl>{rows}</dl>" if rows else ""
