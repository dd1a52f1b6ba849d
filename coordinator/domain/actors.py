"""Who acts: the roles a token carries and the actor (token name and role) behind each command."""

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
    """The person behind a request: their token's name and role."""

    name: str
    role: Role
