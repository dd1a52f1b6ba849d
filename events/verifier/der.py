"""A small, strict DER reader (ITU-T X.690), only as much as an RFC 3161 timestamp token needs,
and the writer of one element, for the request the service sends.

Strict: one-byte tags only, definite lengths in their shortest form, no bytes after an element,
integers and object identifiers in their minimal form, times in the one form RFC 5280 allows.
Anything else is a DerError, never a guess. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SEQUENCE, SET = 0x30, 0x31
INTEGER, OCTET_STRING, NULL, OID, BOOLEAN = 0x02, 0x04, 0x05, 0x06, 0x01
GENERALIZED_TIME = 0x18
_GENERALIZED = re.compile(rb"(\d{14})(?:\.(\d*[1-9]))?Z", re.ASCII)
# No length beyond 16 MiB: a token is a few kilobytes.
_MAX_LENGTH_OCTETS = 3


class DerError(ValueError):
    """Bytes that are not the strict DER expected."""


@dataclass(frozen=True, slots=True)
class Element:
    """One DER element: its tag octet, its contents, and its whole encoding."""

    tag: int
    body: bytes
    raw: bytes

    def children(self) -> list[Element]:
        """The elements a constructed element holds, in order."""
        if not self.tag & 0x20:
            raise DerError(f"element of tag {self.tag:#04x} is not constructed")
        return read_all(self.body)


def _read_at(data: bytes, offset: int) -> tuple[Element, int]:
    if len(data) - offset < 2:
        raise DerError("an element is cut short")
    tag, first = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F:
        raise DerError("a multi-byte tag")
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0:
            raise DerError("an indefinite length (BER, not DER)")
        if count > _MAX_LENGTH_OCTETS or len(data) - start < count:
            raise DerError("a length that is too long or cut short")
        length = int.from_bytes(data[start : start + count], "big")
        if data[start] == 0 or length < 0x80:
            raise DerError("a length not in its shortest form")
        start += count
    end = start + length
    if end > len(data):
        raise DerError("an element runs past the end of its container")
    return Element(tag, data[start:end], data[offset:end]), end


def read_one(data: bytes) -> Element:
    """The one element `data` encodes, with nothing after it."""
    element, end = _read_at(data, 0)
    if end != len(data):
        raise DerError("bytes follow the element")
    return element


def read_all(data: bytes) -> list[Element]:
    """The elements `data` holds one after another (the contents of a SEQUENCE or SET)."""
    elements, offset = [], 0
    while offset < len(data):
        element, offset = _read_at(data, offset)
        elements.append(element)
    return elements


def expect(element: Element, tag: int, what: str) -> Element:
    """`element`, if its tag is `tag`; else DerError naming `what`."""
    if element.tag != tag:
        raise DerError(f"{what} is not where it belongs (tag {element.tag:#04x}, not {tag:#04x})")
    return element


def integer(element: Element, what: str) -> int:
    """The INTEGER `element` holds, written minimally."""
    body = expect(element, INTEGER, what).body
    if not body or (len(body) > 1 and body[:2] in (b"\x00\x00", b"\xff\xff")):
        raise DerError(f"{what} is not a minimal INTEGER")
    if len(body) > 1 and (
        (body[0] == 0 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)
    ):
        raise DerError(f"{what} is not a minimal INTEGER")
    return int.from_bytes(body, "big", signed=True)


def oid(element: Element, what: str) -> str:
    """The OBJECT IDENTIFIER `element` holds, dotted."""
    body = expect(element, OID, what).body
    if not body or body[-1] & 0x80:
        raise DerError(f"{what} is not an OBJECT IDENTIFIER")
    arcs, value, fresh = [], 0, True
    for octet in body:
        if fresh and octet == 0x80:
            raise DerError(f"{what} is not a minimal OBJECT IDENTIFIER")
        value = value << 7 | octet & 0x7F
        fresh = not octet & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def octets(element: Element, what: str) -> bytes:
    """The OCTET STRING `element` holds."""
    return expect(element, OCTET_STRING, what).body


def generalized_time(element: Element, what: str) -> datetime:
    """The GeneralizedTime `element` holds, in UTC (RFC 5280 4.1.2.5.2's form, with the
    fraction RFC 3161 allows, no trailing zero)."""
    match = _GENERALIZED.fullmatch(expect(element, GENERALIZED_TIME, what).body)
    if match is None:
        raise DerError(f"{what} is not a GeneralizedTime in UTC")
    digits, fraction = match.groups()
    try:
        moment = datetime.strptime(digits.decode(), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise DerError(f"{what} is not a real time") from None
    if fraction:
        micro = int((fraction.decode() + "000000")[:6])
        moment = moment.replace(microsecond=micro)
    return moment


def encode(tag: int, body: bytes) -> bytes:
    """One element: `tag`, the DER length of `body`, `body`."""
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def encode_integer(value: int) -> bytes:
    """An INTEGER, minimally."""
    return encode(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk, rest = [arc & 0x7F], arc >> 7
        while rest:
            chunk.append(0x80 | rest & 0x7F)
            rest >>= 7
        body.extend(reversed(chunk))
    return encode(OID, bytes(body))
