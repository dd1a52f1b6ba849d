"""Need-to-know: a field token of a team reads and records only the operations its team is
assigned to, unless it breaks the glass (a stated reason, logged and listed for review).

Legal, leadership and admin are not scoped, nor field tokens made before teams existed (they
have no team, and an upgrade must not lock them out). An operation's teams are folded from its
stream (`Operation.teams`): the reporting token's team, then `TeamAssigned`/`TeamUnassigned`.
"""

from __future__ import annotations

from coordinator.domain.actors import Actor, Role
from coordinator.domain.state import Operation
from coordinator.errors import Forbidden


class NotAssigned(Forbidden):
    """A field token's team is not assigned to the operation it asked for (403 `not_assigned`)."""

    code = "not_assigned"


def scoped(actor: Actor) -> bool:
    """Whether need-to-know applies to `actor`: a field token that belongs to a team."""
    return actor.role is Role.FIELD and actor.team is not None


def assigned(state: Operation, actor: Actor) -> bool:
    """Whether `actor` may see `state` without breaking the glass."""
    return not scoped(actor) or actor.team in state.teams


def check_assigned(state: Operation, actor: Actor, *, break_glass: bool) -> None:
    """`NotAssigned` unless `actor` may see `state` or breaks the glass."""
    if not break_glass and not assigned(state, actor):
        raise NotAssigned(
            f"team {actor.team} is not assigned to operation {state.operation_id}; ask a "
            "colleague of an assigned team or an admin to assign it (TeamAssigned), or, in an "
            "emergency, send X-Break-Glass: REASON (logged and reviewed)."
        )


def may_assign(state: Operation, actor: Actor) -> bool:
    """Whether `actor` may record TeamAssigned or TeamUnassigned on `state`: an admin, or a
    field token of a team assigned to it (breaking the glass does not make one assigned)."""
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.FIELD and actor.team is not None and actor.team in state.teams
