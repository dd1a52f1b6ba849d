"""Time travel for court: a stream as the organisation knew it at a moment (`?as_of=`).

A stream's events are appended in version order, each stamped `recorded_at` by the server, so
the record known at a time is the prefix of versions recorded up to it; the prefix (rather than
every event with an early enough stamp) keeps `version` the last version known then even if a
clock stepped back between two appends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import takewhile

from events.store.envelope import Recorded


def recorded_by(events: Sequence[Recorded], as_of: datetime | None) -> list[Recorded]:
    """The events of one stream (in version order) known at `as_of`; all of them without it."""
    if as_of is None:
        return list(events)
    return list(takewhile(lambda event: event.recorded_at <= as_of, events))


def known_then(as_of: datetime | None) -> str:
    """The end of a not-found sentence: when it was asked about, if it was a moment."""
    return "" if as_of is None else f" as of {as_of.isoformat()}"
