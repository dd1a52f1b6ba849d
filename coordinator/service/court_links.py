"""Signed court links: a short-lived URL that opens one operation's printable court page in a
browser, with no `Authorization` header, for a lawyer or a judge.

A link carries its claim (the operation, when it expires, and the name and role of the legal
token that made it) and an HMAC-SHA256 of that claim under a secret that never leaves the
service's key folder (`court-link.key`, 32 random bytes, mode 0600, created on first use and
shared by every process on the folder). Nothing is stored per link: a link is valid while its
MAC matches, its time has not passed and the token that made it is not revoked. The MAC is
checked before anything else, so a forged link learns nothing, not even whether it expired.

    token = base64url(claim) "." base64url(HMAC-SHA256(secret, "homeward-court-link/1\n" claim))
    claim = {"by": NAME, "expires_at": UNIX SECONDS, "operation_id": UUID, "role": ROLE} (JSON)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from uuid import UUID

from coordinator.domain.actors import Actor, Role
from coordinator.errors import CoordinatorError, NotFound
from events.store.connection import Queryable, translate_errors

KEY_FILE: Final = "court-link.key"
_KEY_BYTES: Final = 32
_CONTEXT: Final = b"homeward-court-link/1\n"
_CLAIM_KEYS: Final = frozenset({"by", "expires_at", "operation_id", "role"})
MAX_TOKEN_CHARS: Final = 600
"""Longer than any link this service makes (a 100-character name is the longest part)."""
LINK_ROLES: Final = frozenset({Role.LEGAL, Role.ADMIN})


class LinkNotFound(NotFound):
    """The link was not made by this service, was altered, or names another operation."""


class LinkExpired(CoordinatorError):
    """The link was genuine but its time is over; a new one must be made."""

    status = 410
    code = "link_expired"


class LinkRevoked(CoordinatorError):
    """The token that made the link was revoked, and its links with it."""

    status = 410
    code = "link_revoked"


@dataclass(frozen=True, slots=True)
class CourtLink:
    """What a genuine link grants: one operation's court page, until `expires_at`."""

    operation_id: UUID
    expires_at: datetime
    by: str
    role: Role

    @property
    def reader(self) -> Actor:
        """Whom the access log names for each opening: the link, on behalf of its maker."""
        return Actor(f"link by {self.by}", self.role)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    """Unpadded base64url, canonical only (one text per byte string), else LinkNotFound."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise LinkNotFound("no such court link") from error
    if _encode(raw) != text:
        raise LinkNotFound("no such court link")
    return raw


def _read_or_create_secret(folder: Path) -> bytes:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / KEY_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, perhaps a moment ago by another worker on the same folder
    else:
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_bytes(_KEY_BYTES))
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by others; chmod 600 it")
    secret = path.read_bytes()
    if len(secret) != _KEY_BYTES:
        raise PermissionError(f"{path} does not hold a {_KEY_BYTES}-byte key")
    return secret


class CourtLinks:
    """Makes and checks the signed links of one key folder."""

    def __init__(
        self, folder: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.folder = folder
        self.clock = clock
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        with self._lock:
            if self._secret is None:
                self._secret = _read_or_create_secret(self.folder)
            return self._secret

    def _mac(self, claim: bytes) -> bytes:
        return hmac.new(self._key(), _CONTEXT + claim, hashlib.sha256).digest()

    def make(self, operation_id: UUID, maker: Actor, minutes: int) -> tuple[str, datetime]:
        """A link token for `operation_id` made by `maker`, and when it expires."""
        expires = self.clock().replace(microsecond=0) + timedelta(minutes=minutes)
        claim = {
            "by": maker.name,
            "expires_at": int(expires.timestamp()),
            "operation_id": str(operation_id),
            "role": maker.role.value,
        }
        text = json.dumps(claim, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        raw = text.encode("utf-8")
        return f"{_encode(raw)}.{_encode(self._mac(raw))}", expires.astimezone(UTC)

    def check(self, token: str) -> CourtLink:
        """The link's grant; LinkNotFound unless this service made it, LinkExpired after."""
        if not (0 < len(token) <= MAX_TOKEN_CHARS and token.isascii()) or token.count(".") != 1:
            raise LinkNotFound("no such court link")
        claim_text, mac_text = token.split(".")
        claim, mac = _decode(claim_text), _decode(mac_text)
        if not hmac.compare_digest(mac, self._mac(claim)):
            raise LinkNotFound("no such court link")
        link = _parse_claim(claim)
        if self.clock() >= link.expires_at:
            raise LinkExpired(
                f"this court link expired at {link.expires_at:%Y-%m-%d %H:%M} UTC; "
                "ask the legal team for a new one"
            )
        return link


def _parse_claim(claim: bytes) -> CourtLink:
    """The claim of a link whose MAC matched (so written by `make`; checked all the same)."""
    try:
        fields = json.loads(claim)
        if not isinstance(fields, dict) or set(fields) != _CLAIM_KEYS:
            raise TypeError("not a claim")  # noqa: TRY301  one refusal for every malformed claim
        role = Role(fields["role"])
        if role not in LINK_ROLES or not isinstance(fields["by"], str):
            raise TypeError("not a claim")  # noqa: TRY301
        expires = fields["expires_at"]
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise TypeError("not a claim")  # noqa: TRY301
        return CourtLink(
            UUID(fields["operation_id"]), datetime.fromtimestamp(expires, UTC), fields["by"], role
        )
    except (ValueError, TypeError, OverflowError, OSError) as error:
        raise LinkNotFound("no such court link") from error


async def refuse_revoked_maker(pool: Queryable, link: CourtLink) -> None:
    """LinkRevoked once the token that made the link is revoked (or lost its role)."""
    with translate_errors():
        role = await pool.fetchval(
            "SELECT role FROM access_tokens WHERE name = $1 AND revoked_at IS NULL", link.by
        )
    if role != link.role.value:
        raise LinkRevoked("the token that made this court link was revoked, and its links with it")
