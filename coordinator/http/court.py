"""The court file in a browser: a legal token makes a short-lived signed link to an operation's
court page, which then opens with no `Authorization` header (coordinator/service/court_links.py).

Each opening exports and verifies the record as any audit-trail read does, is written to the
access log under "link by NAME" before it is answered, and opens personal data for the role of
the token that made the link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from coordinator.errors import CoordinatorError
from coordinator.http.access import LEGAL_AND_ADMIN, authorise
from coordinator.http.answers import Answer, answer
from coordinator.http.app_keys import POOL, PRIVACY, SETTINGS, STORE
from coordinator.http.audit import export_trail
from coordinator.http.bodies import parse_body, read_json
from coordinator.http.openapi import RouteDoc, document
from coordinator.http.operations import operation_id_in
from coordinator.http.read_log import log_read
from coordinator.i18n.catalogues import negotiate
from coordinator.service.access_log import Read
from coordinator.service.court.consent import withhold, without_consent
from coordinator.service.court.opening import opened_for
from coordinator.service.court.style import HEADERS
from coordinator.service.court.times import Clock
from coordinator.service.court_links import (
    CourtLinks,
    LinkExpired,
    LinkNotFound,
    LinkRevoked,
    refuse_revoked_maker,
)
from coordinator.service.recording import load
from coordinator.service.trail_page import refusal_page, render_trail
from coordinator.settings import court_link_key_folder

COURT_LINKS = web.AppKey("court_links", CourtLinks)
MAX_MINUTES: Final = 1440


class CourtLinkRequest(BaseModel):
    """How long the link lives, in minutes (default 60, at most a day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minutes: int = Field(default=60, ge=1, le=MAX_MINUTES, strict=True)


class CourtLinkAnswer(Answer):
    """The link to open in a browser (a path on this service) and when it stops working."""

    url: str
    expires_at: datetime


async def post_court_link(request: web.Request) -> web.Response:
    """Make a signed link to the operation's court page."""
    actor = await authorise(request, LEGAL_AND_ADMIN)
    operation_id = operation_id_in(request)
    body = parse_body(CourtLinkRequest, await read_json(request) if request.body_exists else {})
    await load(request.app[STORE], operation_id)  # 404 for an operation that does not exist
    token, expires = request.app[COURT_LINKS].make(operation_id, actor, body.minutes)
    content = {"url": f"/court/{token}", "expires_at": expires}
    return answer(CourtLinkAnswer, content, status=201, headers={"Cache-Control": "no-store"})


async def get_court_page(request: web.Request) -> web.Response:
    """The court page of a signed link, with no token; 404 forged, 410 expired or revoked."""
    try:
        link = request.app[COURT_LINKS].check(request.match_info["token"])
        await refuse_revoked_maker(request.app[POOL], link)
    except (LinkNotFound, LinkExpired, LinkRevoked) as refused:
        return _refused(refused)
    bundle = await export_trail(request, link.operation_id)
    await log_read(request, link.reader, link.operation_id, Read.AUDIT_TRAIL, "html")
    opened = await opened_for(request.app[STORE], request.app[PRIVACY], bundle, link.role)
    # The page leaves the organisation: a survivor's data only with her consent.
    operation = await load(request.app[STORE], link.operation_id)
    withheld = await without_consent(request.app[STORE], operation.state.survivors)
    page = render_trail(
        bundle,
        opened=withhold(opened, withheld),
        clock=Clock.of(request.app[SETTINGS].court_time_zone),
        reader=f"{link.by} ({link.role.value})",
        language=_language(request),
    )
    return web.Response(text=page, content_type="text/html", headers=HEADERS)


def _language(request: web.Request) -> str:
    """`?lang=`, else the browser's languages; English when neither says (the page's sentences
    are English, its headings and dates follow the catalogue)."""
    asked, accepted = request.query.get("lang"), request.headers.get("Accept-Language")
    return negotiate(asked, accepted) if asked or accepted else "en"


def _refused(refused: CoordinatorError) -> web.Response:
    """A refusal a person reads in a browser, with the page's strict headers."""
    title = "Link expired" if refused.status == 410 else "No such court link"
    return web.Response(
        status=refused.status,
        text=refusal_page(title, str(refused)),
        content_type="text/html",
        headers={**HEADERS, "X-Error-Code": refused.code},
    )


COURT_ROUTE_DOCS = (
    RouteDoc(
        "POST", "/v1/operations/{operation_id}/audit-trail/links",
        "A short-lived signed link that opens the operation's court page in a browser.",
        LEGAL_AND_ADMIN, CourtLinkRequest, CourtLinkAnswer, statuses=(404,), success=201,
        tag="audit",
        description="Body `{minutes?}` (default 60, at most 1440). `url` is a path on this "
        "service (`/court/{token}`) that opens the printable court page with no "
        "`Authorization` header, for that operation only, until `expires_at`. Each opening is "
        "written to the access log as an `audit_trail` read in `html`, under the name `link "
        "by NAME` of the token that made it; revoking that token ends its links.",
        request_example={"minutes": 60},
        response_example={"url": "/court/eyJ...", "expires_at": "2026-10-14T04:00:00Z"},
    ),
    RouteDoc(
        "GET", "/court/{token}", "The court page of a signed link (no token needed).",
        None, statuses=(400, 404, 409, 410), tag="audit", content_type="text/html",
        error_content_type="text/html",
        description="The operation's record as a document a judge reads: what was verified, "
        "one sentence per event with its fields, personal data opened for the link's maker "
        "(or marked erased), local times with UTC, corrections beside what they correct, and "
        "the hashes. 404 for a link this service did not make (altered, forged, another "
        "operation's), 410 once it expired or its maker's token was revoked.",
    ),
)  # fmt: skip


def setup_court_routes(app: web.Application) -> None:
    """The court links' routes, documented."""
    app[COURT_LINKS] = CourtLinks(court_link_key_folder(app[SETTINGS]))
    app.router.add_post("/v1/operations/{operation_id}/audit-trail/links", post_court_link)
    app.router.add_get("/court/{token}", get_court_page)
    document(app, *COURT_ROUTE_DOCS)
