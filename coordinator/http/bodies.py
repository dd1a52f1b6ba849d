"""Reading request bodies strictly, and the answer shapes of the HTTP contract.

Strict JSON: a duplicate key or NaN/Infinity is a 400, never silently merged or accepted. The
body limit is aiohttp's `client_max_size` (413 above it).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from coordinator.errors import BadRequest, InvalidInput
from coordinator.service.commands import describe

M = TypeVar("M", bound=BaseModel)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every body: json.loads with options would build a new one per call.
_STRICT = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


MAX_DEPTH = 64
"""How deeply a body may nest objects and lists; deeper would exhaust the parser's recursion."""
# A string (escapes included) or a bracket: brackets inside strings do not nest anything.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_depth(text: str) -> None:
    """Refuse text nesting deeper than MAX_DEPTH, before any recursive parser sees it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # too few brackets to nest that deep: no scan needed
    depth = 0
    for match in _STRUCTURE.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BadRequest(f"the body nests deeper than {MAX_DEPTH} levels")
        elif bracket in "]}":
            depth -= 1


def loads_strict(raw: bytes) -> Any:
    """Parse JSON, refusing duplicate keys, NaN/Infinity and nesting deeper than MAX_DEPTH."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from error
    _check_depth(text)
    try:
        return _STRICT.decode(text)
    except ValueError as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from error


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (413 when over the size limit, 400 when not JSON)."""
    if request.content_type not in {"application/json", ""}:
        raise BadRequest("send the body as application/json")
    raw = await request.read()
    if not raw:
        raise BadRequest("the request needs a JSON body")
    return loads_strict(raw)


def parse_body(model: type[M], body: Any) -> M:
    """Validate a parsed body against a request model (422 with the reasons)."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InvalidInput(describe(error)) from error
