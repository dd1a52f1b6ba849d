"""The outline of each bundle format: exactly these members, no others, and which formats are
refused because they came before the signed manifest.

Every value of a bundle is either checked or refused: a member no check covers would verify
whatever it said. Standard library and the verifier's own modules only.
"""

from __future__ import annotations

from typing import Any

from events.verifier.findings import Reason, Stop
from events.verifier.trust import KeysRefused, check_key_records

# Version 3 adds the signed manifest; version 2 added the signed stream head and corrections.
BUNDLE_FORMAT = "homeward-bundle/3"
# Version 2 adds the signed manifest.
STREAMS_BUNDLE_FORMAT = "homeward-streams-bundle/2"
BEFORE_MANIFEST = ("homeward-bundle/2", "homeward-streams-bundle/1")

_COMMON = ("format", "exported_at", "checkpoint", "public_keys", "statement", "manifest")
# `as_of`: the time a bundle "as known at" was asked for (GET ...?as_of=); `checkpoint_note`: the
# checkpoint as a C2SP signed note with any witness cosignatures (events/verifier/note_checks.py);
# `checkpoint_timestamp`: an RFC 3161 token over that note, base64 DER
# (events/verifier/timestamp_checks.py). All are text.
BUNDLE_OPTIONAL = frozenset({"as_of", "checkpoint_note", "checkpoint_timestamp"})
BUNDLE_FIELDS = frozenset({*_COMMON, "operation_id", "events", "corrections", "stream_head"})
STREAMS_BUNDLE_FIELDS = frozenset({*_COMMON, "primary_stream_id", "streams"})
STREAM_FIELDS = frozenset({"stream_id", "events", "corrections", "stream_head"})
STREAM_OPTIONAL = frozenset({"kind"})


def check_format(bundle: Any, expected: str) -> None:
    """Stop unless `bundle` is an object of format `expected`; an older format is named."""
    found = bundle.get("format") if isinstance(bundle, dict) else None
    if found in BEFORE_MANIFEST:
        sentence = (
            f"the file is a {found} bundle, written before bundles carried a signed manifest, "
            f"which left some of its fields unchecked; ask Homeward for a new ({expected}) export"
        )
        raise Stop(Reason.UNSUPPORTED_FORMAT, sentence)
    if found != expected:
        raise Stop(Reason.MALFORMED, f"the file is not a {expected} bundle")


def check_members(
    document: dict[str, Any], required: frozenset[str], optional: frozenset[str], what: str
) -> None:
    """Stop(UNKNOWN_FIELD) if `document` has a member beyond `required` and `optional`;
    Stop(MALFORMED) if it lacks one of `required`."""
    unknown = sorted(set(document) - required - optional)
    if unknown:
        raise Stop(Reason.UNKNOWN_FIELD, f"{what} carries a field no check covers: {unknown[0]!r}")
    missing = sorted(required - set(document))
    if missing:
        raise Stop(Reason.MALFORMED, f"{what} lacks its {missing[0]}")


def check_texts(bundle: dict[str, Any]) -> None:
    """The members that are text for a reader (checked by the manifest) are text, and the keys
    the bundle carries are key records."""
    for name in ("exported_at", "statement", *(BUNDLE_OPTIONAL & set(bundle))):
        if not isinstance(bundle[name], str):
            raise Stop(Reason.MALFORMED, f"the bundle's {name} is not text")
    try:
        check_key_records(bundle["public_keys"], what="the bundle's public_keys")
    except KeysRefused as error:
        raise Stop(Reason.MALFORMED, str(error)) from None
