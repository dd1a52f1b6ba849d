"""Message catalogues: one gettext `.po` file per language, read with Babel, nothing in code.

`coordinator/locale/<language>/LC_MESSAGES/homeward.po` holds every word a page shows: its
messages are keyed (`board.heading`, `stage.rescued`, `country.CN`), English is the catalogue
any missing key falls back to, and a language is available as soon as its file is there. A
message may name values in braces (`{count} survivors`); a count's wording is chosen by the
language's plural category (`board.survivors.one`, `board.survivors.other`, as CLDR names them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

DOMAIN: Final = "homeward"
FALLBACK: Final = "en"
"""The language every catalogue falls back to, key by key."""
DEFAULT: Final = "vi"
"""The language of a reader who asks for none Homeward has: the staff work in Vietnamese."""
_TAG: Final = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One language's messages (with English beneath) and its CLDR locale."""

    language: str
    messages: Mapping[str, str]
    locale: Locale

    def text(self, key: str, /, **values: object) -> str:
        """The message `key` with its `{names}` filled in; the key itself if no catalogue has
        it, so a missing word shows as what it is rather than failing the page."""
        message = self.messages.get(key, key)
        return message.format(**values) if values else message

    def count(self, key: str, count: int, /, **values: object) -> str:
        """The message for `count` things: `key.one`, `key.other`... as the language needs."""
        form = self.locale.plural_form(count)
        chosen = f"{key}.{form}" if f"{key}.{form}" in self.messages else f"{key}.other"
        return self.text(chosen, count=count, **values)

    def word(self, vocabulary: str, value: object) -> str:
        """A vocabulary's value in words (`stage`, `in_transit`); spaced out if untranslated."""
        return self.messages.get(f"{vocabulary}.{value}", str(value).replace("_", " "))

    def country(self, code: object) -> str:
        """A country's name from its ISO code: the catalogue's, else CLDR's, else the code."""
        key = str(code)
        return self.messages.get(f"country.{key}") or self.locale.territories.get(key) or key

    @property
    def intl_locale(self) -> str:
        """The BCP 47 tag a browser formats this language's numbers and dates with."""
        return self.messages.get("language.intl", self.language)


def _locale_folder() -> resources.abc.Traversable:
    return resources.files("coordinator") / "locale"


def _read(language: str) -> dict[str, str]:
    path = _locale_folder() / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language.replace("-", "_"), domain=DOMAIN)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
    }


@cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, in order of their codes."""
    found = [
        folder.name
        for folder in _locale_folder().iterdir()
        if (folder / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
    ]
    return tuple(sorted(found))


@cache
def catalogue(language: str) -> Catalogue:
    """The catalogue of `language` (one of `languages()`), over English's."""
    if language not in languages():
        raise ValueError(f"no catalogue for language {language!r}; there are {languages()}")
    messages = _read(FALLBACK) if language != FALLBACK else {}
    messages.update(_read(language))
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse(FALLBACK)
    return Catalogue(language, messages, locale)


def _available(tag: str) -> str | None:
    """The catalogue for a language tag: exact (`zh_Hant`), else by its language (`vi-VN`)."""
    if not _TAG.match(tag):
        return None
    wanted = tag.replace("-", "_").lower()
    by_lower = {language.lower(): language for language in languages()}
    return by_lower.get(wanted) or by_lower.get(wanted.split("_", 1)[0])


def negotiate(asked: str | None, accept_language: str | None) -> str:
    """The reader's language: `?lang=`, else the browser's `Accept-Language` by its q-values,
    else Vietnamese."""
    if asked and (chosen := _available(asked.strip())):
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, order, tag.strip()))
    for _, _, tag in sorted(ranked):
        if chosen := _available(tag):
            return chosen
    return DEFAULT
