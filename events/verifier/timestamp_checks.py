"""The RFC 3161 timestamp a bundle may carry on its checkpoint note: a time-stamping authority's
token over SHA-256 of the note's text (the lines its signatures cover), in base64 DER as
`checkpoint_timestamp` (events/verifier/timestamp_token.py reads and checks it).

It shows the checkpoint's tree existed no later than the token's time. The token is read and its
hash compared always; its signature only under a TSA certificate the reader supplies (a
certificate inside the file would prove nothing, as a key would not), and then the file must
carry a token that holds. Standard library, `cryptography` and the verifier's own modules only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events.verifier.chain import timestamp
from events.verifier.findings import Reason, Stop
from events.verifier.note_checks import NOTE, read_note
from events.verifier.timestamp_token import TokenRefused, check_imprint, check_token, read_token
from events.verifier.trust import Trust

TIMESTAMP = "checkpoint_timestamp"


@dataclass(frozen=True, slots=True)
class TimestampFindings:
    """The time a token states for the checkpoint note, and the authority whose certificate
    verified it (None: not checked, no TSA certificate was given)."""

    time: str
    authority: str | None


def note_digest(note_text: str) -> bytes:
    """What a checkpoint's timestamp stamps: SHA-256 of its note's signed text."""
    return hashlib.sha256(note_text.encode("utf-8")).digest()


def check_timestamp(document: Mapping[str, Any], caller: Trust) -> TimestampFindings | None:
    """The findings of `document`'s timestamp token, None if it carries none and none is
    required; Stop(BAD_TIMESTAMP) if the token does not hold, or is required and missing."""
    text = document.get(TIMESTAMP)
    if text is None:
        if caller.tsa_certificates:
            sentence = "the file carries no timestamp token, but a TSA certificate was given"
            raise Stop(Reason.BAD_TIMESTAMP, sentence)
        return None
    if NOTE not in document:
        raise Stop(Reason.MALFORMED, "the file carries a timestamp token but no checkpoint note")
    raw = _base64(text)
    digest = note_digest(read_note(document[NOTE]).text)
    try:
        token = read_token(raw)
        check_imprint(token, digest)
    except TokenRefused as error:
        raise Stop(Reason.BAD_TIMESTAMP, str(error)) from None
    if not caller.tsa_certificates:
        return TimestampFindings(timestamp(token.gen_time), None)
    refusals = []
    for certificate in caller.tsa_certificates:
        try:
            stamped = check_token(token, digest, certificate)
        except TokenRefused as refused:
            refusals.append(str(refused))
            continue
        return TimestampFindings(timestamp(stamped.gen_time), stamped.authority)
    raise Stop(Reason.BAD_TIMESTAMP, refusals[0])


def _base64(text: Any) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if not raw or base64.b64encode(raw).decode("ascii") != text:
        raise Stop(Reason.MALFORMED, "the timestamp token is not canonical base64")
    return raw
