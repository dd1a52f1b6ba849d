"""An event's structured fields as an escaped HTML definition list: no JSON, no raw markup.

Nested objects become nested lists, lists of objects numbered items, times local with UTC,
and each `personal` object its opened fields, "erased" where its key was destroyed, or
"sealed" where it was not opened for this copy. Labels (`field.<name>`), vocabulary values
(`term.<name>.<value>`) and the words about personal data are the catalogue's, in the language
of the page's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from coordinator.i18n.catalogues import Catalogue, catalogue
from coordinator.service.court.times import Clock, parse_moment
from coordinator.service.court.wording import VOCABULARIES


def text(value: object) -> str:
    """Any value, escaped for HTML text and attributes."""
    return escape(str(value), quote=True)


def label(key: str, say: Catalogue | None = None) -> str:
    """A field's name as a reader says it: `home_province` -> `Home province`, `Quê quán`."""
    say = say or catalogue("en")
    if f"field.{key}" in say.messages:
        return say.messages[f"field.{key}"]
    spoken = key.replace("_", " ").strip()
    return spoken[:1].upper() + spoken[1:]


def _personal(value: object, clock: Clock, say: Catalogue) -> str:
    if value is None:
        return f"<em>{text(say.text('court.personal.withheld_from_role'))}</em>"
    if not isinstance(value, dict):
        return text(value)
    if value.get("erased") is True and len(value) == 1:
        return f"<strong class=erased>{text(say.text('court.personal.erased'))}</strong>"
    if set(value) == {"withheld"}:
        reason = say.messages.get(f"court.personal.reason.{value['withheld']}", value["withheld"])
        return f"<em>{text(say.text('court.personal.withheld', reason=reason))}</em>"
    if value.get("sealed"):
        return f"<em>{text(say.text('court.personal.sealed'))}</em>"
    return definitions(value, clock)


def _scalar(key: str, value: object, clock: Clock, say: Catalogue) -> str:
    if value is True or value is False:
        return text(_plain(value, say))
    if isinstance(value, str) and parse_moment(value) is not None:
        return text(clock.text(value))
    if isinstance(value, str) and key in VOCABULARIES:
        return text(say.messages.get(f"term.{key}.{value}", value))
    return text(value)


def value_html(key: str, value: object, clock: Clock) -> str:
    """One field's value as HTML."""
    say = catalogue(clock.language)
    if key == "personal":
        return _personal(value, clock, say)
    if isinstance(value, dict):
        return definitions(value, clock)
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            shown = ", ".join(_plain(item, say) for item in value)
            return text(shown or say.text("court.value.none"))
        items = "".join(f"<li>{value_html(key, item, clock)}</li>" for item in value)
        return f"<ol>{items}</ol>"
    if key == "country" or key.endswith("_country"):
        name = say.country(value)
        return text(f"{name} ({value})" if name != value else value)
    return _scalar(key, value, clock, say)


def _plain(item: object, say: Catalogue) -> str:
    if item is True:
        return say.text("court.value.yes")
    if item is False:
        return say.text("court.value.no")
    return str(item)


def definitions(data: Mapping[str, Any], clock: Clock | None = None) -> str:
    """The fields of `data` (none null) as a definition list, in the clock's language."""
    clock = clock or Clock.of("UTC")
    say = catalogue(clock.language)
    rows = "".join(
        f"<div><dt>{text(label(str(key), say))}</dt>"
        f"<dd>{value_html(str(key), value, clock)}</dd></div>"
        for key, value in data.items()
        if (value is not None and value != []) or key == "personal"
    )
    return f"<dl>{rows}</dl>" if rows else ""
