"""RFC 3161 timestamp tokens: read one strictly, and check it against a time-stamping authority's
certificate that the reader supplies.

A token is a CMS ContentInfo (RFC 5652) holding SignedData whose content is a TSTInfo: "the TSA
saw this SHA-256 hash at genTime". The check: the TSTInfo's message imprint is SHA-256 of what
was stamped; the signed attributes name the TSTInfo content type and carry its digest and the
TSA certificate's hash (ESSCertID or ESSCertIDv2); the signer is the supplied certificate, which
has the critical timeStamping extended key usage and was valid at genTime; its key signed the
signed attributes (RSA PKCS#1 v1.5, ECDSA or Ed25519, with SHA-256, -384 or -512). Certificates
a token carries are not relied on: only the reader's. Unsigned attributes are refused, since
nothing would cover them. Standard library and `cryptography` only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from events.verifier.der import (
    NULL,
    SEQUENCE,
    SET,
    DerError,
    Element,
    expect,
    generalized_time,
    integer,
    octets,
    oid,
    read_one,
)

SIGNED_DATA = "1.2.840.113549.1.7.2"
TST_INFO = "1.2.840.113549.1.9.16.1.4"
_CONTENT_TYPE, _MESSAGE_DIGEST = "1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"
_SIGNING_CERTIFICATE, _SIGNING_CERTIFICATE_V2 = (
    "1.2.840.113549.1.9.16.2.12",
    "1.2.840.113549.1.9.16.2.47",
)
SHA256 = "2.16.840.1.101.3.4.2.1"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    SHA256: hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_RSA = {
    "1.2.840.113549.1.1.1": None,  # rsaEncryption: the digest algorithm says which hash
    "1.2.840.113549.1.1.11": SHA256,
    "1.2.840.113549.1.1.12": "2.16.840.1.101.3.4.2.2",
    "1.2.840.113549.1.1.13": "2.16.840.1.101.3.4.2.3",
}
_ECDSA = {
    "1.2.840.10045.4.3.2": SHA256,
    "1.2.840.10045.4.3.3": "2.16.840.1.101.3.4.2.2",
    "1.2.840.10045.4.3.4": "2.16.840.1.101.3.4.2.3",
}
_ED25519 = "1.3.101.112"


class TokenRefused(ValueError):
    """A timestamp token that is malformed, or does not hold for the hash or certificate."""


@dataclass(frozen=True, slots=True)
class Token:
    """A timestamp token as read: what the TSA stamped, when, and what its signature covers."""

    raw: bytes
    imprint_algorithm: str
    imprint: bytes
    gen_time: datetime
    serial: int
    nonce: int | None
    t_info: bytes  # the TSTInfo's DER, which messageDigest covers
    digest_algorithm: str
    signed_attrs: Element
    signature_algorithm: str
    signature: bytes
    sid: Element


@dataclass(frozen=True, slots=True)
class StampedTime:
    """What a checked token shows: the time, the authority, the token's serial number."""

    gen_time: datetime
    authority: str
    serial: int


def _algorithm(element: Element, what: str) -> str:
    """An AlgorithmIdentifier's OID; its parameters absent or NULL."""
    parts = expect(element, SEQUENCE, what).children()
    if not 1 <= len(parts) <= 2 or (len(parts) == 2 and parts[1].raw != bytes([NULL, 0])):
        raise DerError(f"{what} has parameters it may not have")
    return oid(parts[0], what)


def read_token(raw: bytes) -> Token:
    """The token `raw` encodes; TokenRefused if it is not a strict RFC 3161 token."""
    try:
        return _read(raw)
    except (ValueError, IndexError) as error:  # DerError, or a part missing or one too many
        raise TokenRefused(f"the timestamp token is malformed: {error}") from None


def _read(raw: bytes) -> Token:
    content_info = expect(read_one(raw), SEQUENCE, "the ContentInfo").children()
    if len(content_info) != 2 or oid(content_info[0], "the content type") != SIGNED_DATA:
        raise DerError("the token is not CMS SignedData")
    (signed_data,) = expect(content_info[1], 0xA0, "the content").children()
    parts = expect(signed_data, SEQUENCE, "the SignedData").children()
    if len(parts) < 4 or integer(parts[0], "the SignedData version") != 3:
        raise DerError("the SignedData is not version 3 with its four parts")
    digest_set = expect(parts[1], SET, "the digest algorithms").children()
    encapsulated = expect(parts[2], SEQUENCE, "the encapsulated content").children()
    if len(encapsulated) != 2 or oid(encapsulated[0], "the content type") != TST_INFO:
        raise DerError("the signed content is not a TSTInfo")
    (wrapped,) = expect(encapsulated[1], 0xA0, "the TSTInfo").children()
    t_info = octets(wrapped, "the TSTInfo")
    rest = parts[3:]
    if rest and rest[0].tag == 0xA0:  # certificates: the reader's own certificate is used
        rest = rest[1:]
    if rest and rest[0].tag == 0xA1:
        raise DerError("the token carries revocation lists, which nothing here checks")
    if len(rest) != 1:
        raise DerError("the SignedData has parts after its signer infos")
    signers = expect(rest[0], SET, "the signer infos").children()
    if len(signers) != 1:
        raise DerError(f"the token has {len(signers)} signers, not one")
    signer = expect(signers[0], SEQUENCE, "the SignerInfo").children()
    if len(signer) != 6:
        raise DerError("the SignerInfo has unsigned attributes or lacks a part")
    version, sid = integer(signer[0], "the SignerInfo version"), signer[1]
    if (version, sid.tag) not in {(1, SEQUENCE), (3, 0x80)}:
        raise DerError("the SignerInfo's version does not match how it names its signer")
    digest_algorithm = _algorithm(signer[2], "the digest algorithm")
    if [_algorithm(element, "a digest algorithm") for element in digest_set] != [digest_algorithm]:
        raise DerError("the SignedData's digest algorithms are not the signer's one")
    fields = _tst_info(t_info)
    return Token(
        raw=raw,
        imprint_algorithm=fields[0],
        imprint=fields[1],
        gen_time=fields[2],
        serial=fields[3],
        nonce=fields[4],
        t_info=t_info,
        digest_algorithm=digest_algorithm,
        signed_attrs=expect(signer[3], 0xA0, "the signed attributes"),
        signature_algorithm=_algorithm(signer[4], "the signature algorithm"),
        signature=octets(signer[5], "the signature"),
        sid=sid,
    )


def _tst_info(t_info: bytes) -> tuple[str, bytes, datetime, int, int | None]:
    parts = expect(read_one(t_info), SEQUENCE, "the TSTInfo").children()
    if len(parts) < 5 or integer(parts[0], "the TSTInfo version") != 1:
        raise DerError("the TSTInfo is not version 1 with its five parts")
    oid(parts[1], "the TSA policy")
    imprint = expect(parts[2], SEQUENCE, "the message imprint").children()
    if len(imprint) != 2:
        raise DerError("the message imprint is not an algorithm and a hash")
    algorithm = _algorithm(imprint[0], "the imprint's algorithm")
    hashed = octets(imprint[1], "the imprint's hash")
    serial = integer(parts[3], "the serial number")
    gen_time = generalized_time(parts[4], "genTime")
    nonce = None
    for extra in parts[5:]:  # accuracy, ordering, nonce, tsa, extensions: read, in order
        if extra.tag == 0x02:
            nonce = integer(extra, "the nonce")
        elif extra.tag not in {SEQUENCE, 0x01, 0xA0, 0xA1}:
            raise DerError(f"the TSTInfo holds an unknown part (tag {extra.tag:#04x})")
    return algorithm, hashed, gen_time, serial, nonce


def check_imprint(token: Token, digest: bytes) -> None:
    """TokenRefused unless the token stamped SHA-256 `digest` and its TSTInfo is what the signed
    attributes' messageDigest covers."""
    if token.imprint_algorithm != SHA256 or token.imprint != digest:
        raise TokenRefused(
            "the timestamp token stamps another hash than SHA-256 of the checkpoint note's text"
        )
    attributes = _attributes(token)
    if attributes.get(_CONTENT_TYPE) != TST_INFO_VALUE:
        raise TokenRefused("the token's signed attributes do not name the TSTInfo content type")
    expected = _hash(token.digest_algorithm, token.t_info)
    if attributes.get(_MESSAGE_DIGEST) != bytes([0x04, len(expected)]) + expected:
        raise TokenRefused("the token's signed messageDigest is not the digest of its TSTInfo")


# The contentType attribute's value, as its DER.
TST_INFO_VALUE = bytes.fromhex("060b2a864886f70d0109100104")


def _attributes(token: Token) -> dict[str, bytes]:
    """Each signed attribute's one value, as DER; TokenRefused on a repeated or multi-valued one."""
    found: dict[str, bytes] = {}
    try:
        attributes = [_attribute(element) for element in token.signed_attrs.children()]
    except (ValueError, IndexError) as error:  # DerError, or not a type and a set of values
        raise TokenRefused(f"the token's signed attributes are malformed: {error}") from None
    for name, values in attributes:
        if len(values) != 1 or name in found:
            raise TokenRefused(f"signed attribute {name} is repeated or has not one value")
        found[name] = values[0].raw
    return found


def _attribute(element: Element) -> tuple[str, list[Element]]:
    type_, values = expect(element, SEQUENCE, "a signed attribute").children()
    return oid(type_, "an attribute's type"), expect(values, SET, "its values").children()


def _hash(algorithm: str, data: bytes) -> bytes:
    if algorithm not in _DIGESTS:
        raise TokenRefused(f"the token's digest algorithm {algorithm} is not SHA-256, -384 or -512")
    digest = hashes.Hash(_DIGESTS[algorithm]())
    digest.update(data)
    return digest.finalize()


def check_authority(certificate: x509.Certificate) -> None:
    """TokenRefused unless `certificate` may vouch for times: its extended key usage is only
    timeStamping, and critical (RFC 3161 section 2.3)."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        usage = None
    if (
        usage is None
        or list(usage.value) != [ExtendedKeyUsageOID.TIME_STAMPING]
        or not usage.critical
    ):
        raise TokenRefused(
            f"the TSA certificate of {certificate.subject.rfc4514_string()} does not have the "
            "timeStamping extended key usage (alone and critical, RFC 3161 section 2.3): it "
            "cannot vouch for a time"
        )


def check_token(token: Token, digest: bytes, certificate: x509.Certificate) -> StampedTime:
    """The time the token proves for SHA-256 `digest`, under the TSA's `certificate`; else
    TokenRefused saying why."""
    check_imprint(token, digest)
    check_authority(certificate)
    _check_signer(token, certificate)
    when = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if not when[0] <= token.gen_time <= when[1]:
        raise TokenRefused("the token's time is outside the TSA certificate's validity")
    _check_signature(token, certificate)
    return StampedTime(token.gen_time, certificate.subject.rfc4514_string(), token.serial)


def _check_signer(token: Token, certificate: x509.Certificate) -> None:
    other = "the timestamp token was signed by another certificate than the TSA certificate given"
    if token.sid.tag == SEQUENCE:
        try:
            issuer, serial = token.sid.children()
            named = (issuer.raw, integer(serial, "the signer's serial"))
        except (DerError, ValueError):
            raise TokenRefused("the token names its signer in a malformed way") from None
        if named != (certificate.issuer.public_bytes(), certificate.serial_number):
            raise TokenRefused(other)
    else:
        try:
            key_id = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            raise TokenRefused(other) from None
        if key_id.value.digest != token.sid.body:
            raise TokenRefused(other)
    attributes = _attributes(token)
    der = certificate.public_bytes(Encoding.DER)
    if _SIGNING_CERTIFICATE_V2 in attributes:
        algorithm, cert_hash = _ess_cert_id(attributes[_SIGNING_CERTIFICATE_V2], v2=True)
        expected = _hash(algorithm, der)
    elif _SIGNING_CERTIFICATE in attributes:
        _, cert_hash = _ess_cert_id(attributes[_SIGNING_CERTIFICATE], v2=False)
        expected = hashlib.sha1(der, usedforsecurity=False).digest()
    else:
        raise TokenRefused("the token's signed attributes do not name the TSA certificate")
    if cert_hash != expected:
        raise TokenRefused(other)


def _ess_cert_id(value: bytes, *, v2: bool) -> tuple[str, bytes]:
    """The hash algorithm and certificate hash of the first ESSCertID(v2) of a
    SigningCertificate(V2) attribute value."""
    try:
        certs = expect(read_one(value), SEQUENCE, "the signing certificate").children()
        first = expect(certs[0], SEQUENCE, "the certificates").children()
        cert_id = expect(first[0], SEQUENCE, "the ESSCertID").children()
        algorithm = SHA256
        if v2 and cert_id[0].tag == SEQUENCE:
            algorithm, cert_id = (
                _algorithm(cert_id[0], "the certificate hash algorithm"),
                cert_id[1:],
            )
        return algorithm, octets(cert_id[0], "the certificate hash")
    except (DerError, IndexError) as error:
        raise TokenRefused(
            f"the token's signing certificate attribute is malformed: {error}"
        ) from None


def _check_signature(token: Token, certificate: x509.Certificate) -> None:
    """The certificate's key signed the signed attributes (as a SET, RFC 5652 5.4)."""
    message = bytes([SET]) + token.signed_attrs.raw[1:]
    key = certificate.public_key()
    algorithm = token.signature_algorithm
    if isinstance(key, rsa.RSAPublicKey) and algorithm in _RSA:
        _same_digest(_RSA[algorithm], token)
        chosen = _DIGESTS[token.digest_algorithm]()
        verify = partial(key.verify, token.signature, message, padding.PKCS1v15(), chosen)
    elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm in _ECDSA:
        _same_digest(_ECDSA[algorithm], token)
        curve = ec.ECDSA(_DIGESTS[token.digest_algorithm]())
        verify = partial(key.verify, token.signature, message, curve)
    elif isinstance(key, ed25519.Ed25519PublicKey) and algorithm == _ED25519:
        verify = partial(key.verify, token.signature, message)
    else:
        raise TokenRefused(
            f"the token's signature algorithm {algorithm} is not one for the TSA certificate's key"
        )
    try:
        verify()
    except InvalidSignature:
        raise TokenRefused(
            "the TSA's signature over the token's signed attributes does not verify with the "
            "TSA certificate given"
        ) from None


def _same_digest(named: str | None, token: Token) -> None:
    if token.digest_algorithm not in _DIGESTS or named not in {None, token.digest_algorithm}:
        raise TokenRefused("the token's signature and digest algorithms do not agree")


def read_certificate(data: bytes) -> x509.Certificate:
    """A TSA certificate from PEM or DER bytes, which must vouch for times; TokenRefused if not."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError as error:
        raise TokenRefused(
            f"the TSA certificate is not a PEM or DER certificate: {error}"
        ) from None
    check_authority(certificate)
    return certificate
