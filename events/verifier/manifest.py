"""The bundle's signed manifest: the exporter's signature over every byte of meaning in the file.

The events' hashes, their proofs, the checkpoint and the stream heads cover what was recorded;
they do not cover what the exporter wrote around it (the statement, the export time, each
event's global position, the corrections index, the public keys carried). So the exporter signs

    manifest = {"statement": "bundle-manifest", "origin": "homeward", "sha256": hex,
                "timestamp", "key_id"}

where `sha256` is SHA-256 over the RFC 8785 canonical JSON of the whole bundle without its
`manifest` member, and the signature is Ed25519 over the manifest's RFC 8785 form, with the
service's signing key at export. The bundle carries `{"manifest": {...}, "signature": base64}`.
Any change to a value of the file, one the other checks name or not, fails here. Standard
library, `cryptography` and the verifier's own modules only.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events.verifier.canonical import NotCanonicalisable, canonical_json
from events.verifier.checkpoints import ORIGIN, CheckpointRejected, b64, verify_signed_by
from events.verifier.findings import Reason, Stop
from events.verifier.merkle_proofs import hash_from_hex

KIND = "bundle-manifest"
MANIFEST = "manifest"
_FIELDS = ("statement", "origin", "sha256", "timestamp", "key_id")


@dataclass(frozen=True, slots=True)
class Manifest:
    """ "This bundle, whose canonical form hashes to `sha256`, was exported at `timestamp`"."""

    sha256: str
    timestamp: str
    key_id: str
    origin: str = ORIGIN
    statement: str = KIND

    def body(self) -> dict[str, Any]:
        """The JSON object that is signed."""
        return {name: getattr(self, name) for name in _FIELDS}

    def message(self) -> bytes:
        """The exact bytes the signature covers: the body's RFC 8785 form."""
        return canonical_json(self.body())


@dataclass(frozen=True, slots=True)
class SignedManifest:
    """A manifest with its Ed25519 signature; `to_json` is its form in a bundle."""

    manifest: Manifest
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        """`{"manifest": {statement, origin, sha256, timestamp, key_id}, "signature"}`."""
        return {
            "manifest": self.manifest.body(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: Any) -> SignedManifest:
        """Read the bundle's form, refusing anything that is not exactly that shape."""
        if not isinstance(document, dict) or set(document) != {MANIFEST, "signature"}:
            raise CheckpointRejected("a signed manifest has exactly a manifest and a signature")
        body = document[MANIFEST]
        if not isinstance(body, dict) or set(body) != set(_FIELDS):
            raise CheckpointRejected(f"a manifest has exactly the fields {', '.join(_FIELDS)}")
        if not all(isinstance(body[name], str) for name in _FIELDS):
            raise CheckpointRejected("the manifest's fields are text")
        if hash_from_hex(body["sha256"]) is None:
            raise CheckpointRejected("the manifest's sha256 is not lower-case hex SHA-256")
        if body["origin"] != ORIGIN or body["statement"] != KIND:
            raise CheckpointRejected(f"the manifest is not a {ORIGIN} {KIND} statement")
        raw = b64(document["signature"], "the manifest's signature")
        return cls(Manifest(**{name: body[name] for name in _FIELDS}), raw)


def bundle_digest(bundle: Mapping[str, Any]) -> bytes:
    """SHA-256 over the RFC 8785 form of the bundle without its manifest (may raise
    NotCanonicalisable or RecursionError on a crafted file)."""
    return hashlib.sha256(
        canonical_json({name: value for name, value in bundle.items() if name != MANIFEST})
    ).digest()


def check_manifest(bundle: Mapping[str, Any], keys: Mapping[str, Any]) -> Manifest:
    """The bundle's manifest, if one of `keys`, in use at its time, signed it and it states the
    bundle's digest; else Stop (BAD_SIGNATURE for the signature, MANIFEST_MISMATCH for an edit
    of the file)."""
    try:
        signed = SignedManifest.from_json(bundle.get(MANIFEST))
        manifest = signed.manifest
        verify_signed_by(
            manifest.key_id,
            manifest.timestamp,
            manifest.message(),
            signed.signature,
            keys,
            what="manifest",
        )
    except CheckpointRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"the manifest is refused: {error}") from None
    try:
        digest = bundle_digest(bundle).hex()
    except (NotCanonicalisable, RecursionError):
        raise Stop(Reason.MALFORMED, "the bundle has no canonical JSON form") from None
    if digest != manifest.sha256:
        sentence = (
            "the file was changed after export: its SHA-256 is "
            f"{digest[:16]}..., the signed manifest states {manifest.sha256[:16]}..."
        )
        raise Stop(Reason.MANIFEST_MISMATCH, sentence)
    return manifest
