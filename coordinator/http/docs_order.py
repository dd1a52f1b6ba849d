"""The order the API is described in (`/docs`, `/openapi.json`): the field team's calls first,
then the other parts, admin ones last, so a newcomer reads what they need first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from coordinator.http.openapi import RouteDoc

# The tags in the order a newcomer reads them: the field team's calls first, admin ones last.
TAGS: Final[Mapping[str, str]] = {
    "operations": "The field team's calls: open an operation with its first report, append what "
    "happens as events, read it back.",
    "survivors": "Each survivor's case across every operation that found her.",
    "prosecutions": "The legal team's prosecutions: charges, hearings, testimony, verdicts.",
    "audit": "The tamper-evident record: bundles for court, checkpoints, keys, who read what.",
    "board": "Leadership's view: the board, its live stream and the impact figures.",
    "privacy": "Admin: erasing a survivor's personal data.",
    "service": "Admin and operations: health, readiness, metrics and this description.",
}
# Tags that come last; a tag not in TAGS (a new part of the API) comes just before them.
ADMIN_TAGS: Final = ("privacy", "service")
# The first calls of the document, in this order: open an operation, append, read.
FIELD_TEAM_CALLS: Final = (
    ("POST", "/v1/operations"),
    ("POST", "/v1/operations/{operation_id}/events"),
    ("GET", "/v1/operations/{operation_id}"),
    ("GET", "/v1/operations/{operation_id}/events"),
)


def tag_order(routes: Sequence[RouteDoc]) -> list[str]:
    """The tags `routes` use, in reading order: those of TAGS, then new ones, then admin ones."""
    used = dict.fromkeys(doc.tag for doc in routes)
    known = [tag for tag in TAGS if tag in used and tag not in ADMIN_TAGS]
    new = [tag for tag in used if tag not in TAGS]
    return known + new + [tag for tag in ADMIN_TAGS if tag in used]


def reading_order(routes: Sequence[RouteDoc]) -> list[RouteDoc]:
    """`routes` by tag in `tag_order`, the field team's calls first, else as registered."""
    tags = tag_order(routes)

    def rank(item: tuple[int, RouteDoc]) -> tuple[int, int, int]:
        position, doc = item
        call = (doc.method, doc.path)
        first = FIELD_TEAM_CALLS.index(call) if call in FIELD_TEAM_CALLS else len(FIELD_TEAM_CALLS)
        return tags.index(doc.tag), first, position

    return [doc for _, doc in sorted(enumerate(routes), key=rank)]
