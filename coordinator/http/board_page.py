"""The leadership board's page and its assets, in the reader's language.

The page is served in the reader's language (`?lang=`, else `Accept-Language`, else
Vietnamese): its words come from the message catalogues (coordinator/i18n), and its script reads
them, the locale and the time zone from the page's attributes (the policy allows no inline
script).
"""

from __future__ import annotations

import json
import re
from html import escape
from importlib import resources
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from babel.dates import get_timezone_location

from coordinator.http.app_keys import SETTINGS
from coordinator.i18n.catalogues import Catalogue, catalogue, languages, negotiate

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _static(name: str) -> str:
    return (resources.files("coordinator.http") / "static" / name).read_text(encoding="utf-8")


_MESSAGE: Final = re.compile(r"\{\{([a-z_.]+)\}\}")


def _time_zone(key: str) -> str:
    """The board's zone (the court page's setting), UTC if this host does not know it."""
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return key


def _language_links(current: Catalogue) -> str:
    links = []
    for language in languages():
        name = escape(catalogue(language).text("language.name"))
        here = ' aria-current="true"' if language == current.language else ""
        links.append(
            f'<a href="/board?lang={escape(language)}" hreflang="{escape(language)}" '
            f'lang="{escape(language)}"{here}>{name}</a>'
        )
    return " · ".join(links)


COURT_ONLY = ("court.", "field.", "event.", "term.")
"""Message keys only the court page uses: the board's page does not carry them."""


def _board_messages(words: Catalogue) -> dict[str, str]:
    return {key: text for key, text in words.messages.items() if not key.startswith(COURT_ONLY)}


def render_board_page(words: Catalogue, time_zone: str) -> str:
    """The page in `words`' language: its text, the language links, and for its script the
    messages, the locale and the time zone as attributes (the policy allows no inline script)."""
    page = _static("board.html")
    values = {
        "page.lang": words.language,
        "page.locale": words.intl_locale,
        "page.time_zone": time_zone,
        "page.zone_name": get_timezone_location(time_zone, locale=words.locale),
        "page.messages": json.dumps(_board_messages(words), ensure_ascii=False),
    }
    page = page.replace("<!--languages-->", _language_links(words))
    return _MESSAGE.sub(
        lambda found: escape(values.get(found.group(1)) or words.text(found.group(1))), page
    )


async def board_page(request: web.Request) -> web.Response:
    """The leadership board page, in the reader's language: live from the stream, no personal
    data, phone-sized."""
    language = negotiate(request.query.get("lang"), request.headers.get("Accept-Language"))
    page = render_board_page(catalogue(language), _time_zone(request.app[SETTINGS].court_time_zone))
    headers = {**PAGE_HEADERS, "Content-Language": language, "Vary": "Accept-Language"}
    return web.Response(text=page, content_type="text/html", headers=headers)


async def board_script(_request: web.Request) -> web.Response:
    """The board page's script."""
    return web.Response(
        text=_static("board.js"), content_type="application/javascript", headers=PAGE_HEADERS
    )


async def board_style(_request: web.Request) -> web.Response:
    """The board page's style sheet."""
    return web.Response(text=_static("board.css"), content_type="text/css", headers=PAGE_HEADERS)
