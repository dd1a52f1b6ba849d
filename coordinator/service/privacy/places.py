"""Where the values the service seals sit in an event's data, whose they are, and copies of the
data with some of them replaced.

A value sits in a container (a dict) under a key, at a path from the top of the data (part of
what the sealed form's associated data binds), and belongs to a subject: the survivor, missing
person or defendant named beside it, else the stream itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

ALGORITHM = "AES-256-GCM"
PERSONAL = "personal"
SEALED_KEYS = frozenset({"sealed", "subject_id", "nonce", "ciphertext"})


def is_sealed(value: object) -> bool:
    """Whether a value is a sealed personal object."""
    return isinstance(value, dict) and set(value) == SEALED_KEYS and value["sealed"] == ALGORITHM


SUBJECT_KEYS = ("survivor_id", "missing_person_id", "defendant_id")
"""The ids beside a `personal` object that name whose data it is, in order of precedence."""


def _subject(container: Mapping[str, Any], operation_id: UUID) -> UUID:
    for key in SUBJECT_KEYS:
        named = container.get(key)
        if isinstance(named, str):
            try:
                return UUID(named)
            except ValueError:
                continue
    return operation_id


def personal_places(
    data: Any, operation_id: UUID, path: str = ""
) -> list[tuple[dict[str, Any], str, UUID]]:
    """Every (container, path, subject) whose `personal` holds a plain or sealed object."""
    found: list[tuple[dict[str, Any], str, UUID]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == PERSONAL and isinstance(value, dict):
                found.append((data, f"{path}/{key}", _subject(data, operation_id)))
            else:
                found.extend(personal_places(value, operation_id, f"{path}/{key}"))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(personal_places(item, operation_id, f"{path}/{index}"))
    return found


Place = tuple[dict[str, Any], str, str, UUID]
"""Where a sealable value sits: its container, its key there, its path, and its subject."""


def sealable_places(
    data: Any,
    stream_id: UUID,
    text_keys: frozenset[str] = frozenset(),
    extra_keys: frozenset[str] = frozenset(),
    path: str = "",
) -> list[Place]:
    """Every value the service seals: each `personal` object, each free-text value under one of
    `text_keys` (a note, a place...), and each top-level field in `extra_keys` (fields the
    catalogue lacks), plain or sealed already."""
    found: list[Place] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}/{key}"
            if (
                (key == PERSONAL and isinstance(value, dict))
                or (key in text_keys and (isinstance(value, str) or is_sealed(value)))
                or (not path and key in extra_keys and value is not None)
            ):
                found.append((data, key, here, _subject(data, stream_id)))
            else:
                found.extend(sealable_places(value, stream_id, text_keys, frozenset(), here))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(
                sealable_places(item, stream_id, text_keys, frozenset(), f"{path}/{index}")
            )
    return found


def sealed_places(data: Any, stream_id: UUID, path: str = "") -> list[Place]:
    """Every value stored sealed, wherever it sits (to open or to list whose keys it needs)."""
    found: list[Place] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}/{key}"
            if is_sealed(value):
                found.append((data, key, here, _subject(data, stream_id)))
            else:
                found.extend(sealed_places(value, stream_id, here))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(sealed_places(item, stream_id, f"{path}/{index}"))
    return found


def with_replaced(
    data: dict[str, Any], replacements: Mapping[tuple[int, str], Any]
) -> dict[str, Any]:
    """`data` with the value at each (container's `id`, key) in `replacements` replaced: new
    dicts and lists only on the way to a replaced value, the rest shared with `data` (which is
    not changed). It runs twice per append (the fingerprint, the sealing): 5.2 us against
    8.0 us for a copy through JSON then changed in place, for a note naming a witness
    (tests/test_fast_paths.py pins it to that plain way)."""

    def rebuilt(value: Any) -> Any:
        if isinstance(value, dict):
            here = id(value)
            return {
                key: replacements[(here, key)] if (here, key) in replacements else rebuilt(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [rebuilt(item) for item in value]
        return value

    result: dict[str, Any] = rebuilt(data)
    return result


def with_replaced_shallow(
    data: dict[str, Any], replacements: Mapping[tuple[int, str], Any]
) -> dict[str, Any]:
    """As `with_replaced`, but where every replaced value sits at the top level of `data` (a
    note, a summary: most events) by a shallow copy, so the copy shares the containers it does
    not replace with `data`. Only for data nobody changes afterwards (an event about to be
    stored and hashed): 0.6 us against 1.3 us for a lead's sealed summary (best of
    7 timeit repeats; tests/test_fast_paths.py pins it to `with_replaced`)."""
    top = id(data)
    if any(here != top for here, _key in replacements):
        return with_replaced(data, replacements)
    copied = dict(data)
    for (_here, key), value in replacements.items():
        copied[key] = value
    return copied
