"""Making and copying frozen, slotted dataclasses without their `__init__`, for hot loops.

A frozen dataclass's `__init__` sets each field through `object.__setattr__`, which looks the
field up by name. The functions written here set each field through its slot's descriptor
directly, from code generated once per class out of the class's own field names
(ops/bench_fast_paths.py has the figures; tests/test_fast_paths.py pins both to the plain way):

- `copier`: folding an operation copies its state once per event, and a rebuild folds every
  event of the log. `dataclasses.replace` takes 4.3 us for a copy of an `Operation` with two
  changes, the copier 1.6 us.
- `constructor`: reading the log makes a `Recorded` and a `Cursor` per event: 1.5 us through
  `__init__`, 0.8 us this way; on a page of the log, 3.9 us a row against 5.6 us, about a tenth
  of a rebuild's time per event.
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


def constructor(cls: type) -> Callable[..., Any]:
    """A positional constructor, fields in declaration order; a wrong count is a TypeError.

    It would skip a `__post_init__`, so it refuses a class that has one.
    """
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} checks its fields in __post_init__: build it normally")
    names = [field.name for field in fields(cls)]
    body = "".join(f"    set_{name}(made, {name})\n" for name in names)
    source = f"def make({', '.join(names)}):\n    made = new(cls)\n{body}    return made\n"
    return _compiled(cls, "make", source)


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
