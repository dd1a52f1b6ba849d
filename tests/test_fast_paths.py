"""Each fast path that bypasses the plain way gives exactly what the plain way gives.

The figures that justify them are in their docstrings, from ops/bench_fast_paths.py. The event
index and the unread payloads are pinned in test_event_index.py and test_operation_properties.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.domain import Operation, Stage
from coordinator.domain.copying import replace
from coordinator.domain.state import Partner, SurvivorRecord
from coordinator.service.privacy.places import (
    personal_places,
    with_replaced,
    with_replaced_shallow,
)
from coordinator.service.privacy.sealing import Mac
from events.catalogue import AgencyType, Destination, Exploitation, Gender
from events.store.envelope import Cursor, Recorded
from events.store.slots import constructor, copier
from events.verifier import canonical
from events.verifier.chain import link_hash

pytestmark = pytest.mark.unit

# Values the fast encoder takes (`canonical._plain`): no floats, keys within the BMP. Text is
# Unicode (no lone surrogates: canonical_json refuses those on either path, tested with its own).
text = st.characters(exclude_categories=("Cs",))
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(text),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=6),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def plainly_written(value: Any) -> str:
    out: list[str] = []
    canonical._write(value, out)
    return "".join(out)


@given(plain_values)
def test_the_c_encoder_writes_what_the_plain_writer_writes(value: Any) -> None:
    """For every value the fast path takes, the C encoder's text is the plain RFC 8785 writer's."""
    assert canonical._plain(value)
    assert canonical.canonical_text(value) == plainly_written(value)


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), st.integers(1))
def test_the_written_out_link_hash_is_the_hash_of_its_canonical_document(
    body: bytes, prev: bytes, version: int
) -> None:
    """link_hash is SHA-256 of canonical_json({"body", "prev", "version"}), for any version."""
    document = {"body": body.hex(), "prev": prev.hex(), "version": version}
    try:
        expected = hashlib.sha256(canonical.canonical_json(document)).digest()
    except canonical.NotCanonicalisable:
        with pytest.raises(canonical.NotCanonicalisable):
            link_hash(body, prev, version)
        return
    assert link_hash(body, prev, version) == expected


T0 = datetime(2026, 10, 1, tzinfo=UTC)
operations = st.builds(
    Operation,
    operation_id=st.uuids(),
    phase=st.sampled_from(Stage),  # v2: `stage` is computed from the survivors
    version=st.integers(1, 10_000),
    opened_at=st.just(T0),
    updated_at=st.just(T0 + timedelta(days=3)),
    country=st.sampled_from([None, "CN", "VN"]),
    lead_investigator=st.none() | st.text(max_size=10),
    partners=st.tuples(
        st.builds(Partner, st.text(max_size=5), st.sampled_from(AgencyType), st.just("CN"))
    ),
    unsuccessful_attempts=st.integers(0, 3),
    reference=st.none() | st.text(max_size=10),
    awaiting_review_since=st.none() | st.just(T0),
)
changes = st.fixed_dictionaries(
    {},
    optional={
        "phase": st.sampled_from(Stage),
        "awaiting_review_since": st.none() | st.just(T0),
        "version": st.integers(1, 10_000),
        "country_confirmed": st.booleans(),
        "approved_by": st.none() | st.text(max_size=10),
        "testimonies": st.integers(0, 9),
    },
)


@given(operations, changes)
def test_the_slot_copier_copies_as_dataclasses_replace_does(
    state: Operation, changed: dict[str, Any]
) -> None:
    """Every field is the original's or the changed value, exactly as `replace` makes it."""
    assert replace(state, **changed) == dataclasses.replace(state, **changed)


def test_the_slot_copier_refuses_a_misspelt_field_as_replace_does() -> None:
    """A change to a field the class does not have is an error, never silently dropped."""
    survivor = SurvivorRecord(UUID(int=1), Gender.FEMALE, 15, Exploitation.SEXUAL, None, "CN", None)
    with pytest.raises(TypeError):
        dataclasses.replace(survivor, statsu="returned")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="statsu"):
        replace(survivor, statsu="returned")
    with pytest.raises(TypeError, match="xdi"):
        copier(Cursor)(Cursor(1, 2, 3), {"xid": 4, "xdi": 5})


@given(
    st.uuids(),
    st.uuids(),
    st.integers(1, 2**31),
    st.integers(1, 2**62),
    st.text(max_size=20),
    st.dictionaries(st.text(max_size=5), st.integers()),
    st.datetimes(timezones=st.just(UTC)),
    st.binary(max_size=32),
)
def test_the_slot_constructor_builds_what_the_dataclass_builds(
    event_id: UUID,
    stream_id: UUID,
    version: int,
    position: int,
    event_type: str,
    data: dict[str, Any],
    moment: datetime,
    digest: bytes,
) -> None:
    """Every field lands where `__init__` puts it, the cursor too."""
    cursor = (position, position + 1, position)
    new_cursor, new_recorded = constructor(Cursor), constructor(Recorded)
    fields = (event_id, stream_id, version, position)
    rest = (event_type, 1, data, {}, moment, moment, digest, digest, digest)
    made = new_recorded(*fields, new_cursor(*cursor), *rest)
    assert made == Recorded(*fields, Cursor(*cursor), *rest)
    assert dataclasses.asdict(made) == dataclasses.asdict(Recorded(*fields, Cursor(*cursor), *rest))


def test_the_slot_constructor_refuses_a_wrong_count_and_a_checked_class() -> None:
    """Too few fields is an error, and a class that checks fields in __post_init__ is refused."""
    with pytest.raises(TypeError):
        constructor(Cursor)(1, 2)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="__post_init__"):
        constructor(Checked)


survivor_changes = st.fixed_dictionaries(
    {},
    optional={
        "handed_off": st.booleans(),
        "returned_to": st.none() | st.sampled_from(Destination),
        "reunited": st.booleans(),
        "supported": st.booleans(),
        "personal_erased": st.booleans(),
        "age_at_rescue": st.none() | st.integers(0, 120),
    },
)


@given(survivor_changes)
def test_the_slot_copier_copies_a_survivor_s_journey_as_replace_does(
    changed: dict[str, Any],
) -> None:
    """v2 moves survivors by copying their record with journey fields changed: same as replace."""
    survivor = SurvivorRecord(UUID(int=1), Gender.FEMALE, 15, Exploitation.SEXUAL, None, "CN", None)
    copied = replace(survivor, **changed)
    assert copied == dataclasses.replace(survivor, **changed)
    assert copied.status is dataclasses.replace(survivor, **changed).status


personal_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["personal", "survivor_id", "note", "items", "a"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


@given(tree=st.dictionaries(st.sampled_from(["personal", "x", "y"]), personal_trees, max_size=3))
def test_with_replaced_rebuilds_as_a_copy_changed_in_place_does(tree: dict[str, Any]) -> None:
    """Replacing every `personal` object of a payload, the shared rebuild gives what a deep copy
    changed in place gives, and leaves the original untouched."""
    stream = UUID(int=7)
    before = json.dumps(tree, sort_keys=True)
    places = personal_places(tree, stream)
    replacements = {
        (id(container), "personal"): {"digest": index}
        for index, (container, _p, _s) in enumerate(places)
    }
    fast = with_replaced(tree, replacements)
    plain = json.loads(json.dumps(tree))
    for index, (container, _path, _subject) in enumerate(personal_places(plain, stream)):
        container["personal"] = {"digest": index}
    assert fast == plain
    assert json.dumps(tree, sort_keys=True) == before


@given(tree=st.dictionaries(st.sampled_from(["personal", "x", "y"]), personal_trees, max_size=3))
def test_the_shallow_replacement_gives_what_the_rebuild_gives(tree: dict[str, Any]) -> None:
    """Sealing replaces values by a shallow copy when all sit at the top level: the same result
    as the rebuild, nested or not, and the original untouched."""
    before = json.dumps(tree, sort_keys=True)
    top = {(id(tree), key): {"sealed": key} for key in tree if key != "y"}
    nested = {
        (id(container), "personal"): {"digest": index}
        for index, (container, _p, _s) in enumerate(personal_places(tree, UUID(int=7)))
    }
    for replacements in (top, nested, {**top, **nested}):
        assert with_replaced_shallow(tree, replacements) == with_replaced(tree, replacements)
    assert json.dumps(tree, sort_keys=True) == before


@given(key=st.binary(min_size=0, max_size=80), message=st.binary(max_size=200))
def test_a_keyed_mac_digests_as_a_new_hmac_does(key: bytes, message: bytes) -> None:
    """The HMAC keyed once and copied per digest gives the HMAC keyed each time, twice over."""
    mac = Mac(key)
    expected = hmac.new(key, message, hashlib.sha256).digest()
    assert mac.digest(message) == expected
    assert mac.digest(message) == expected
