"""Who acts: the roles a token carries and the actor (token name, role and, for a field token,
its team) behind each command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a token's holder does in the organisation, and so what they may record and read."""

    FIELD = "field"
    LEGAL = "legal"
    LEADERSHIP = "leadership"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind a request: their token's name and role, and the team of a field token
    (None for the other roles and for field tokens made before teams, which are not scoped)."""

    name: str
    role: Role
    team: str | None = None
