"""Access tokens: created once and shown once, stored only as a hash, listed, revoked.

A field token may belong to a team (need-to-know: coordinator/domain/need_to_know.py); field
tokens made without one, as every field token before teams, are not scoped.

A request's bearer token is hashed and looked up; a small cache keeps the answer for a few
seconds so that appends do not pay a round trip for it, which bounds how long a revoked token
keeps working (`CACHE_SECONDS`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from coordinator.domain.actors import Actor, Role
from coordinator.errors import InvalidInput, NotFound, Unauthorized
from events.catalogue import is_team_name
from events.store.connection import translate_errors

CACHE_SECONDS = 5.0
_TOKEN_BYTES = 32
_PREFIX = "hw_"


MAX_TOKEN_LENGTH = 200
"""Longer than any token this service makes (`hw_` and 43 characters)."""


def token_hash(token: str) -> bytes:
    """The SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never the token itself."""

    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    team: str | None = None


async def create_token(
    pool: asyncpg.Pool, name: str, role: Role, *, team: str | None = None
) -> str:
    """Create a token for `name` with `role` (and, for a field token, its `team`); the returned
    secret is never stored or shown again."""
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise InvalidInput("a token's name is 1 to 100 printable characters")
    if team is not None and role is not Role.FIELD:
        raise InvalidInput("only field tokens belong to a team")
    if team is not None and not is_team_name(team):
        raise InvalidInput("a team is 1 to 100 printable characters without outer spaces")
    token = _PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    try:
        await pool.execute(
            "INSERT INTO access_tokens (name, role, token_sha256, team) VALUES ($1, $2, $3, $4)",
            name,
            role.value,
            token_hash(token),
            team,
        )
    except asyncpg.UniqueViolationError as error:
        raise InvalidInput(f"a token named {name!r} exists already") from error
    return token


async def list_tokens(pool: asyncpg.Pool) -> list[TokenInfo]:
    """Every token, revoked ones included, by name."""
    rows = await pool.fetch(
        "SELECT name, role, created_at, revoked_at, team FROM access_tokens ORDER BY name"
    )
    return [
        TokenInfo(row["name"], Role(row["role"]), row["created_at"], row["revoked_at"], row["team"])
        for row in rows
    ]


async def revoke_token(pool: asyncpg.Pool, name: str) -> None:
    """Revoke the token called `name` (it stops working within `CACHE_SECONDS`)."""
    status = await pool.execute(
        "UPDATE access_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
        name,
    )
    if status == "UPDATE 0":
        raise NotFound(f"no active token is named {name!r}")


class Authenticator:
    """Turns a bearer token into the actor behind it."""

    def __init__(self, pool: asyncpg.Pool, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._pool = pool
        self._cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[float, Actor | None]] = {}

    async def actor(self, authorization: str | None) -> Actor:
        """The actor of an `Authorization: Bearer ...` header, or `Unauthorized`."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("send the header Authorization: Bearer TOKEN")
        token = authorization.removeprefix("Bearer ").strip()
        # A token is short printable ASCII; anything else (a stray byte, a megabyte) is no token.
        if not (0 < len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable()):
            raise Unauthorized("the token is unknown or revoked")
        presented = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(presented)
        if cached is not None and now - cached[0] < self._cache_seconds:
            actor = cached[1]
        else:
            actor = await self._lookup(presented)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[presented] = (now, actor)
        if actor is None:
            raise Unauthorized("the token is unknown or revoked")
        return actor

    def forget(self) -> None:
        """Drop every cached answer, so the next request of each token is looked up again."""
        self._cache.clear()

    async def _lookup(self, presented: bytes) -> Actor | None:
        # Through the store's translation, so a database that is down is a 503, never a 500.
        with translate_errors():
            row = await self._pool.fetchrow(
                "SELECT name, role, team, token_sha256 FROM access_tokens "
                "WHERE token_sha256 = $1 AND revoked_at IS NULL",
                presented,
            )
        # The index finds the row; the comparison that admits it takes constant time.
        if row is None or not hmac.compare_digest(bytes(row["token_sha256"]), presented):
            return None
        return Actor(name=row["name"], role=Role(row["role"]), team=row["team"])
