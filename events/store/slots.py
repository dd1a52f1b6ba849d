"""Copying a frozen, slotted dataclass without its `__init__`, for the fold's hot loop.

Folding an operation copies its state once per event, and a rebuild folds every event of the
log. `dataclasses.replace` goes through `__init__`, which sets each field through
`object.__setattr__` by name: 4.3 us for a copy of an `Operation` with two changes, against
1.6 us for the copier written here (ops/bench_fast_paths.py), which sets each field through its
slot's descriptor directly, from code generated once per class out of the class's own field
names. tests/test_fast_paths.py pins it to `dataclasses.replace`, unknown names included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any


def _compiled(cls: type, name: str, source: str, **scope: object) -> Callable[..., Any]:
    """Compile `source` (one function, `name`) with `new`, `cls`, `set_<field>` and `scope`."""
    setters = {f"set_{field.name}": getattr(cls, field.name).__set__ for field in fields(cls)}
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, **setters, **scope}
    exec(source, namespace)  # noqa: S102  code written here from the class's own field names
    compiled: Callable[..., Any] = namespace[name]
    return compiled


def copier(cls: type) -> Callable[[Any, dict[str, object]], Any]:
    """`copy_with(record, changes)`: a copy of a valid record with some fields changed.

    No `__init__` or `__post_init__` runs, as for a copy: the caller answers for the changes.
    A change to a field the class does not have is refused, as `dataclasses.replace` refuses it.
    """
    names = frozenset(field.name for field in fields(cls))
    body = "".join(
        f"    set_{name}(copy, changes[{name!r}] if {name!r} in changes else record.{name})\n"
        for name in (field.name for field in fields(cls))
    )
    source = (
        "def copy_with(record, changes):\n"
        "    if not changes.keys() <= names:\n"
        "        unknown = ', '.join(sorted(changes.keys() - names))\n"
        "        raise TypeError(f'{cls.__name__} has no field {unknown}')\n"
        f"    copy = new(cls)\n{body}    return copy\n"
    )
    return _compiled(cls, "copy_with", source, names=names)
