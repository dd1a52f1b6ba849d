"""Payloads about which field teams are assigned to an operation (need-to-know).

A field token belongs to one team; an operation is open to the field teams assigned to it. The
team whose token reports the case is assigned by that `CaseReported` (its envelope names the
recorder's team); these events assign and unassign others. Who did it and when are the
envelope's.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from events.catalogue.base import EventData

MAX_TEAM_LENGTH = 100


def is_team_name(text: str) -> bool:
    """Whether `text` can name a team: 1 to 100 printable characters, no outer spaces."""
    return 1 <= len(text) <= MAX_TEAM_LENGTH and text.isprintable() and text == text.strip()


def _team_name(text: str) -> str:
    if not is_team_name(text):
        raise ValueError(
            f"a team is 1 to {MAX_TEAM_LENGTH} printable characters without outer spaces"
        )
    return text


TeamName = Annotated[str, AfterValidator(_team_name)]
"""The name of a field team, as its tokens carry it (`coordinator token create --team`)."""


class TeamAssigned(EventData):
    """A field team is assigned to the operation: its field tokens may read and record it."""

    team: TeamName


class TeamUnassigned(EventData):
    """A field team assigned to the operation is no longer: its field tokens are refused."""

    team: TeamName
