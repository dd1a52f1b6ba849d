"""Reading a bundle, keys or checkpoint file as strict JSON: one value per name, numbers only.

`json.load` lets the last of two equal names win, so `"summary": "acquitted", "summary":
"convicted"` verifies while a person, or another parser, reads the first. It also reads `NaN`
and `Infinity`, which are not JSON. Every file the verifier reads goes through `load_json`,
which refuses both. Standard library only.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn


class NotStrictJson(ValueError):
    """The text is not JSON, or names a member twice in one object, or holds NaN or infinity."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise NotStrictJson(f'an object names "{name}" twice')
            seen.add(name)
    return document


def _constant(name: str) -> NoReturn:
    raise NotStrictJson(f"{name} is not a JSON number")


def load_json(text: str | bytes) -> Any:
    """Parse `text` as strict JSON; raise NotStrictJson (a ValueError) if it is not."""
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except NotStrictJson:
        raise
    except RecursionError:
        raise NotStrictJson("the JSON is nested too deeply") from None
    except (ValueError, TypeError) as error:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise NotStrictJson(f"it is not JSON: {error}") from None
