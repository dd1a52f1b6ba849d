"""What the offline verifiers report: why something failed, and the checks they share.

Standard library, `cryptography` and the integrity modules only, like the verifiers themselves.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from events.verifier.checkpoints import CheckpointRejected, SignedCheckpoint, verify_checkpoint


class Reason(StrEnum):
    """Why a bundle or a pair of checkpoints failed."""

    MALFORMED = "malformed"
    WRONG_OPERATION = "wrong_operation"
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_CHAIN = "broken_chain"
    MISSING_EVENT = "missing_event"
    REORDERED_OR_DUPLICATE = "reordered_or_duplicate"
    BAD_PROOF = "bad_proof"
    BAD_SIGNATURE = "bad_signature"
    STREAM_HEAD_MISMATCH = "stream_head_mismatch"
    STUB_CARRIES_DATA = "stub_carries_data"
    UNKNOWN_FIELD = "unknown_field"
    MANIFEST_MISMATCH = "manifest_mismatch"
    UNSUPPORTED_FORMAT = "unsupported_format"
    NOT_STRICT_JSON = "not_strict_json"
    TOO_FEW_WITNESSES = "too_few_witnesses"
    ANCHOR_MISMATCH = "anchor_mismatch"
    BAD_TIMESTAMP = "bad_timestamp"


@dataclass(frozen=True, slots=True)
class Failure:
    """The first thing that did not verify, and the event it concerns (None: the checkpoint).

    `stream_id` names the stream of a bundle of several streams (None in a one-stream bundle,
    whose stream is its operation).
    """

    reason: Reason
    sentence: str
    event_id: str | None = None
    version: int | None = None
    stream_id: str | None = None

    def where(self) -> str:
        """Where it failed, for a sentence: " in stream S at event E (version V)", or ""."""
        stream = "" if self.stream_id is None else f" in stream {self.stream_id}"
        event = "" if self.event_id is None else f" at event {self.event_id}"
        version = "" if self.version is None else f" (version {self.version})"
        return stream + event + version


class Stop(Exception):
    """Control flow inside the verifiers: the first failure, carried out of nested checks."""

    def __init__(
        self, reason: Reason, sentence: str, event: Any = None, *, version: int | None = None
    ) -> None:
        event_id = event.get("event_id") if isinstance(event, dict) else None
        if isinstance(event, dict):
            version = event.get("version")
        self.failure = Failure(
            reason,
            sentence,
            event_id if isinstance(event_id, str) else None,
            version if isinstance(version, int) and not isinstance(version, bool) else None,
        )


def decode_hashes(texts: list[Any], event: dict[str, Any] | None, name: str) -> list[bytes]:
    """Decode SHA-256 hashes written in lower-case hex, all at once (a bundle holds hundreds of
    thousands)."""
    try:
        text = "".join(texts) if set(map(len, texts)) <= {64} else ""
        raw = bytes.fromhex(text)
    except (TypeError, ValueError):
        text, raw = "", b""
    # One written form only: fromhex also reads upper case and skips whitespace, hex() does not.
    if len(raw) != 32 * len(texts) or raw.hex() != text:
        raise Stop(Reason.MALFORMED, f"its {name} is not lower-case hex SHA-256", event)
    return [raw[at : at + 32] for at in range(0, len(raw), 32)]


def read_checkpoint(document: Any) -> SignedCheckpoint:
    """A signed checkpoint in its published form, or Stop(MALFORMED)."""
    try:
        return SignedCheckpoint.from_json(document)
    except CheckpointRejected as error:
        raise Stop(Reason.MALFORMED, f"the checkpoint is unreadable: {error}") from None


def check_signature(signed: SignedCheckpoint, keys: Any) -> None:
    """Stop(BAD_SIGNATURE) unless one of `keys`, in use at the time, signed the checkpoint."""
    try:
        verify_checkpoint(signed, keys)
    except CheckpointRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"the checkpoint is refused: {error}") from None


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector while a bundle is read, built or checked, or a projection is
    rebuilt.

    These make tens of thousands (a rebuild: millions) of dicts, lists and records and no cycles;
    the collector's passes over them, prompted by nothing but their number, cost a third of the
    time. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
