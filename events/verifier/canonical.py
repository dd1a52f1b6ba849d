"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) with the standard library only.

Every hash in the record is taken over these bytes, so the offline verifier, which may import
nothing but the standard library and `cryptography`, produces exactly what the server produced.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from json import encoder as _json_encoder
from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
# Beyond this, integers do not survive a round trip through an IEEE 754 double (I-JSON).
SAFE_INTEGER = 2**53


class NotCanonicalisable(ValueError):
    """A value that has no RFC 8785 form (NaN, infinity, a non-string key, an unknown type)."""


def _c_encoder() -> Callable[[Any, int], Iterable[str]]:
    """The standard library's C encoder with sorted keys and no spaces, built once: called with
    a value and 0, it gives the value's text in pieces to join.

    This is CPython's private `json.encoder.c_make_encoder`. The public `JSONEncoder.encode`
    builds a new C encoder on every call: 1.7 us for an event's metadata against 1.2 us here
    (ops/bench_fast_paths.py), on a path every append takes several times and a bundle check
    tens of thousands of times. For a plain value it writes exactly `_write`'s text
    (tests/test_fast_paths.py). Where the C encoder is missing, json.dumps it is.
    """
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover -- CPython always has it
        return lambda value, _: [
            json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        ]
    # No cycle markers: _plain has walked the value, so it holds no cycle.
    markers = default = indent = None
    sort_keys, skip_keys, allow_nan = True, False, False
    encode: Callable[[Any, int], Iterable[str]] = make(
        markers,
        default,
        _json_encoder.encode_basestring,
        indent,
        ":",
        ",",
        sort_keys,
        skip_keys,
        allow_nan,
    )
    return encode


_encode_plain = _c_encoder()
# A string's RFC 8785 form: the C encoder's escaping is exactly RFC 8785 section 3.2.2.2.
json_string: Callable[[str], str] = _json_encoder.encode_basestring


def canonical_json(value: Any) -> bytes:
    """Serialise `value` to its RFC 8785 canonical UTF-8 bytes."""
    try:
        return canonical_text(value).encode("utf-8")
    except UnicodeEncodeError as error:
        raise NotCanonicalisable("text holds a lone surrogate, which is not Unicode") from error


def canonical_text(value: Any) -> str:
    """The RFC 8785 canonical form of `value` as text (encode it as UTF-8 before hashing)."""
    if _plain(value):
        # For values without floats, whose keys sort the same by code point as by UTF-16 code
        # unit (no key beyond the BMP), the C encoder writes exactly the RFC 8785 form.
        return "".join(_encode_plain(value, 0))
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _plain(value: Any) -> bool:
    # Exact types first: JSON parsing and the database give nothing else, and this walk runs
    # over every event of a bundle. Subclasses (a StrEnum, an IntEnum) take the general path.
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (
                not key.isascii() and any(ord(char) > 0xFFFF for char in key)
            ):
                return False
            # Most values are text: tested here, without a call.
            if type(item) is not str and not _plain(item):
                return False
        return True
    if kind is int:
        return bool(-SAFE_INTEGER < value < SAFE_INTEGER)
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return _plain_subclass(value)


def _plain_subclass(value: Any) -> bool:
    if isinstance(value, dict):
        return all(
            isinstance(key, str)
            and (key.isascii() or all(ord(char) <= 0xFFFF for char in key))
            and _plain(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < SAFE_INTEGER
    return isinstance(value, str)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(_integer(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, dict | list | tuple):
        # A plain part of a larger value (most events of a bundle whose other events hold a
        # float) goes through the C encoder: a whole bundle's manifest hash stays fast.
        if _plain(value):
            out.append("".join(_encode_plain(value, 0)))
        else:
            _write_mixed(value, out)
    else:
        raise NotCanonicalisable(f"{type(value).__name__} has no canonical JSON form")


def _write_mixed(value: Any, out: list[str]) -> None:
    """A dict or list that is not plain: its members one by one."""
    if isinstance(value, dict):
        _write_object(value, out)
        return
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _write(item, out)
    out.append("]")


def _write_object(value: dict[Any, Any], out: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise NotCanonicalisable("object keys must be strings")
    # RFC 8785 3.2.3: members sorted by the UTF-16 code units of their names.
    keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
    out.append("{")
    for index, key in enumerate(keys):
        if index:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _write(value[key], out)
    out.append("}")


def _string(text: str) -> str:
    chars = ['"']
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            chars.append(escaped)
        elif ord(char) < 0x20:
            chars.append(f"\\u{ord(char):04x}")
        else:
            chars.append(char)
    chars.append('"')
    return "".join(chars)


def _integer(value: int) -> str:
    # I-JSON numbers are IEEE 754 doubles; larger integers would not survive a round trip.
    if abs(value) >= SAFE_INTEGER:
        raise NotCanonicalisable(f"integer {value} is outside the range JSON numbers keep exactly")
    return str(value)


def _number(value: float) -> str:
    """ECMAScript's Number.prototype.toString for a finite double (RFC 8785 3.2.2.3)."""
    if math.isnan(value) or math.isinf(value):
        raise NotCanonicalisable("NaN and infinity have no JSON form")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < SAFE_INTEGER:
        return str(int(value))
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    # `digits` is the shortest round-trip digit string; the value is 0.digits * 10**exponent.
    n = exponent
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exp = n - 1
    exp_text = f"+{exp}" if exp >= 0 else str(exp)
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{exp_text}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of a positive double, and its decimal exponent."""
    mantissa, _, exponent_text = f"{value!r}".partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + exponent
    leading_zeros = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    return digits, point - leading_zeros
