"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) with the standard library only.

Every hash in the record is taken over these bytes, so the offline verifier, which may import
nothing but the standard library and `cryptography`, produces exactly what the server produced.
"""

from __future__ import annotations

import json
import math
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


class NotCanonicalisable(ValueError):
    """A value that has no RFC 8785 form (NaN, infinity, a non-string key, an unknown type)."""


def canonical_json(value: Any) -> bytes:
    """Serialise `value` to its RFC 8785 canonical UTF-8 bytes."""
    if _plain(value):
        # For values without floats, whose keys sort the same by code point as by UTF-16 code
        # unit (no key beyond the BMP), the C encoder writes exactly the RFC 8785 form.
        try:
            return json.dumps(
                value, ensure_ascii=False, sort_keys=True, separators=(",", ":")
            ).encode("utf-8")
        except UnicodeEncodeError as error:
            raise NotCanonicalisable("text holds a lone surrogate, which is not Unicode") from error
    parts: list[str] = []
    try:
        _write(value, parts)
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as error:
        raise NotCanonicalisable("text holds a lone surrogate, which is not Unicode") from error


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or (
                not key.isascii() and any(ord(char) > 0xFFFF for char in key)
            ):
                return False
            if not _plain(item):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < 2**53
    return value is None or isinstance(value, str | bool)


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
    elif isinstance(value, dict):
        _write_object(value, out)
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise NotCanonicalisable(f"{type(value).__name__} has no canonical JSON form")


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
    if abs(value) >= 2**53:
        raise NotCanonicalisable(f"integer {value} is outside the range JSON numbers keep exactly")
    return str(value)


def _number(value: float) -> str:
    """ECMAScript's Number.prototype.toString for a finite double (RFC 8785 3.2.2.3)."""
    if math.isnan(value) or math.isinf(value):
        raise NotCanonicalisable("NaN and infinity have no JSON form")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 2**53:
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
