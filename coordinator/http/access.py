"""Who may call what: the role matrix of the HTTP contract, checked before anything else.

Finer rules (legal may record only legal events, leadership only approvals, a field team only
the operations it is assigned to) are the operation's own and live in coordinator/domain; the
`X-Break-Glass` header that lets a field team past need-to-know is read here.
"""

from __future__ import annotations

from aiohttp import web

from coordinator.domain.actors import Actor, Role
from coordinator.errors import BadRequest, Forbidden
from coordinator.http.limits import LIMITER, READ_LIMITER, WRITE_METHODS, is_personal_read
from coordinator.service.access_log import MAX_REASON, MIN_REASON
from coordinator.service.tokens import Authenticator

EVERYONE = frozenset(Role)
FIELD_AND_ADMIN = frozenset({Role.FIELD, Role.ADMIN})
RECORDERS = frozenset({Role.FIELD, Role.LEGAL, Role.LEADERSHIP, Role.ADMIN})
EVENT_READERS = frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})
LEGAL_AND_ADMIN = frozenset({Role.LEGAL, Role.ADMIN})
LEADERSHIP_AND_ADMIN = frozenset({Role.LEADERSHIP, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})

AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
ACTOR = web.RequestKey("actor", Actor)


async def authorise(request: web.Request, allowed: frozenset[Role]) -> Actor:
    """The caller, if their token is valid (401) and their role is among `allowed` (403)."""
    actor = await request.app[AUTHENTICATOR].actor(request.headers.get("Authorization"))
    request[ACTOR] = actor
    if actor.role not in allowed:
        roles = ", ".join(sorted(role.value for role in allowed))
        raise Forbidden(f"role {actor.role.value} may not do this; {roles} may")
    if request.method in WRITE_METHODS and LIMITER in request.app:
        request.app[LIMITER].take(actor.name)
    elif READ_LIMITER in request.app and is_personal_read(request):
        request.app[READ_LIMITER].take(actor.name)
    return actor


BREAK_GLASS_HEADER = "X-Break-Glass"
"""A field team reads or records an operation it is not assigned to: the header's value is the
reason, logged with the request and listed for admins at GET /v1/audit/break-glass."""


def break_glass_reason(request: web.Request) -> str | None:
    """The request's break-the-glass reason, None without the header, or BadRequest for a reason
    that is not 10 to 500 printable characters (then nothing is served)."""
    reason = request.headers.get(BREAK_GLASS_HEADER)
    if reason is None:
        return None
    reason = reason.strip()
    if not (MIN_REASON <= len(reason) <= MAX_REASON and reason.isprintable()):
        raise BadRequest(
            f"{BREAK_GLASS_HEADER} states the reason for the access: {MIN_REASON} to "
            f"{MAX_REASON} printable characters"
        )
    return reason
