"""The event index behaves as an immutable mapping, also when folding branches."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.domain.event_index import EventIndex
from events.catalogue import EVENT_TYPES

pytestmark = pytest.mark.unit


def test_older_views_never_see_later_events() -> None:
    """Adding to the newest view leaves every older view as it was."""
    first, second = uuid.uuid4(), uuid.uuid4()
    one = EventIndex().with_event(first, "CaseReported")
    two = one.with_event(second, "StatusNoted")
    assert dict(one) == {first: "CaseReported"}
    assert dict(two) == {first: "CaseReported", second: "StatusNoted"}
    assert second not in one


def test_a_branch_from_an_older_view_is_independent() -> None:
    """Two foldings from the same older state do not see each other's events."""
    root = EventIndex().with_event(uuid.uuid4(), "CaseReported")
    left_id, right_id = uuid.uuid4(), uuid.uuid4()
    left = root.with_event(left_id, "StatusNoted")
    right = root.with_event(right_id, "LeadRecorded")
    assert left_id in left
    assert left_id not in right
    assert right_id in right
    assert right_id not in left
    assert len(root) == 1


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["A", "B", "C"])), max_size=30))
def test_matches_plain_dicts_under_any_branching(steps: list[tuple[int, str]]) -> None:
    """Whatever earlier version each step extends, the index equals a dict built the same way."""
    versions: list[tuple[EventIndex, dict[uuid.UUID, str]]] = [(EventIndex(), {})]
    for back, kind in steps:
        index, plain = versions[max(0, len(versions) - 1 - back)]
        event_id = uuid.uuid4()
        versions.append((index.with_event(event_id, kind), {**plain, event_id: kind}))
    for index, plain in versions:
        assert dict(index) == plain
        assert len(index) == len(plain)


def test_folding_the_same_event_twice_from_one_view_shares_it() -> None:
    """Deciding and then recording the same event from one state gives equal, correct views."""
    root = EventIndex().with_event(uuid.uuid4(), "CaseReported")
    event_id = uuid.uuid4()
    decided = root.with_event(event_id, "StatusNoted")
    recorded = root.with_event(event_id, "StatusNoted")
    other = root.with_event(uuid.uuid4(), "LeadRecorded")
    assert dict(decided) == dict(recorded)
    assert event_id not in other
    assert len(root) == 1


def test_every_event_type_of_every_kind_fits() -> None:
    """The v2 catalogue's event types (all three kinds) are indexed and read back by name."""
    index = EventIndex()
    ids: dict[str, uuid.UUID] = {}
    for event_type in EVENT_TYPES:
        ids[event_type] = uuid.uuid4()
        index = index.with_event(ids[event_type], event_type)
    assert {index[event_id]: event_id for event_id in ids.values()} == ids
    assert len(index) == len(EVENT_TYPES)
