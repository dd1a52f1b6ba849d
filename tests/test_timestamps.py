"""RFC 3161 timestamps on checkpoints: a local time-stamping authority started here, its tokens
recorded, carried in bundles and checked offline; every wrong token fails and says why."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from structlog.testing import capture_logs

from coordinator.domain.actors import Role
from coordinator.http.audit_log import AUDIT_LOG
from coordinator.settings import Settings
from events.verifier.bundle_checks import Reason, verify_bundle
from events.verifier.der import (
    SEQUENCE,
    SET,
    encode,
    encode_integer,
    encode_oid,
    expect,
    integer,
    octets,
    read_one,
)
from events.verifier.manifest import MANIFEST
from evidence.bundle_parts import with_manifest
from evidence.keyring import SigningKeyring
from evidence.timestamping import Timestamper
from tests.api import Caller, Client, event

Bundle = dict[str, Any]
SHA256, TST_INFO, SIGNED_DATA = (
    "2.16.840.1.101.3.4.2.1",
    "1.2.840.113549.1.9.16.1.4",
    ("1.2.840.113549.1.7.2"),
)


def a_certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey, *, time_stamping: bool = True,
) -> x509.Certificate:  # fmt: skip
    """A certificate for `key`, self-signed when `issuer` is None, for time stamping or not."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        )
    elif time_stamping:
        usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def attribute(name: str, value: bytes) -> bytes:
    """A CMS signed attribute with one value."""
    return encode(SEQUENCE, encode_oid(name) + encode(SET, value))


def a_token(
    digest: bytes, nonce: int | None, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> bytes:
    """A TimeStampToken, DER, as a TSA signs it: TSTInfo in SignedData, ECDSA P-256 SHA-256."""
    when = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%SZ").encode()
    sha256 = encode(SEQUENCE, encode_oid(SHA256))
    t_info = encode(
        SEQUENCE,
        encode_integer(1)
        + encode_oid("1.3.6.1.4.1.99999.1")
        + encode(SEQUENCE, sha256 + encode(0x04, digest))
        + encode_integer(secrets.randbits(64))
        + encode(0x18, when)
        + (b"" if nonce is None else encode_integer(nonce)),
    )
    cert_hash = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    cert_ids = encode(SEQUENCE, encode(SEQUENCE, encode(SEQUENCE, encode(0x04, cert_hash))))
    attributes = sorted(
        [
            attribute("1.2.840.113549.1.9.3", encode_oid(TST_INFO)),
            attribute("1.2.840.113549.1.9.4", encode(0x04, hashlib.sha256(t_info).digest())),
            attribute("1.2.840.113549.1.9.16.2.47", cert_ids),
        ]
    )
    signed = b"".join(attributes)
    signature = key.sign(encode(SET, signed), ec.ECDSA(hashes.SHA256()))
    signer = encode(
        SEQUENCE,
        encode_integer(1)
        + encode(SEQUENCE, cert.issuer.public_bytes() + encode_integer(cert.serial_number))
        + sha256
        + encode(0xA0, signed)
        + encode(SEQUENCE, encode_oid("1.2.840.10045.4.3.2"))
        + encode(0x04, signature),
    )
    signed_data = encode(
        SEQUENCE,
        encode_integer(3)
        + encode(SET, sha256)
        + encode(SEQUENCE, encode_oid(TST_INFO) + encode(0xA0, encode(0x04, t_info)))
        + encode(SET, signer),
    )
    return encode(SEQUENCE, encode_oid(SIGNED_DATA) + encode(0xA0, signed_data))


class LocalTsa:
    """A time-stamping authority answering RFC 3161 requests over HTTP, with a CA of its own."""

    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = a_certificate("Test CA", self.ca_key, None, self.ca_key)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = a_certificate("Test TSA", self.key, self.ca, self.ca_key)
        self.requests = 0

    async def answer(self, request: web.Request) -> web.Response:
        """Stamp the request's SHA-256 hash with its nonce."""
        self.requests += 1
        parts = expect(read_one(await request.read()), SEQUENCE, "request").children()
        digest = octets(parts[1].children()[1], "hash")
        nonce = integer(parts[2], "nonce") if len(parts) > 2 else None
        token = a_token(digest, nonce, self.key, self.cert)
        answer = encode(SEQUENCE, encode(SEQUENCE, encode_integer(0)) + token)
        return web.Response(body=answer, content_type="application/timestamp-reply")


@pytest.fixture(scope="module")
async def tsa() -> AsyncIterator[tuple[LocalTsa, str]]:
    """The local TSA, running, and its URL."""
    authority = LocalTsa()
    app = web.Application()
    app.router.add_post("/tsa", authority.answer)
    server = TestServer(app)
    await server.start_server()
    yield authority, str(server.make_url("/tsa"))
    await server.close()


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's signing key folder."""
    return tmp_path_factory.mktemp("timestamp-keys")


@pytest.fixture(scope="module")
def tsa_cert_file(tsa: tuple[LocalTsa, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TSA's certificate as the reader saves it (PEM)."""
    path = tmp_path_factory.mktemp("tsa") / "tsa.pem"
    path.write_bytes(tsa[0].cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def app_settings(
    database_url: str, key_dir: Path, tsa: tuple[LocalTsa, str], tsa_cert_file: Path
) -> Settings:
    """The app with the local TSA configured, signing every 100 ms."""
    return Settings(
        database_url=database_url,
        signing_key_dir=key_dir,
        checkpoint_interval_seconds=0.1,
        timestamp_authority_url=tsa[1],
        timestamp_authority_cert_file=tsa_cert_file,
    )


@pytest.fixture(scope="module")
async def stamped(callers: dict[Role, Caller]) -> Bundle:
    """A trail whose checkpoint the local TSA stamped."""
    field = callers[Role.FIELD]
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="timestamped"))
    legal = callers[Role.LEGAL]
    for _ in range(200):
        response = await legal.get(f"/v1/operations/{operation}/audit-trail")
        assert response.status == 200, await response.text()
        bundle: Bundle = await response.json()
        if "checkpoint_timestamp" in bundle:
            return bundle
        await asyncio.sleep(0.05)
    raise AssertionError("no checkpoint was time-stamped")


def verify_cli(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    """`coordinator audit verify ...` as a lawyer runs it."""
    return subprocess.run(  # noqa: S603 -- our own command line
        [sys.executable, "-m", "coordinator.cli.entry", "audit", "verify", *map(str, arguments)],
        capture_output=True,
        text=True,
        check=False,
    )


def files(bundle: Bundle, key_dir: Path, folder: Path) -> tuple[Path, Path]:
    """The bundle and the service's public keys, written as the reader keeps them."""
    (folder / "trail.json").write_text(json.dumps(bundle))
    keys = SigningKeyring(key_dir).public_keys()
    (folder / "keys.json").write_text(json.dumps(keys))
    return folder / "trail.json", folder / "keys.json"


def with_token(bundle: Bundle, token: bytes, key_dir: Path) -> Bundle:
    """The bundle carrying `token`, its manifest signed again with the service's key (so only
    the token's own checks can refuse it)."""
    changed = {name: value for name, value in bundle.items() if name != MANIFEST}
    changed["checkpoint_timestamp"] = base64.b64encode(token).decode()
    return with_manifest(changed, SigningKeyring(key_dir))


def note_hash(bundle: Bundle) -> bytes:
    """SHA-256 of the bundle's checkpoint note's signed text: what the token stamps."""
    text = bundle["checkpoint_note"]
    return hashlib.sha256(text[: text.index("\n\n") + 1].encode()).digest()


async def test_a_checkpoint_gets_a_token_that_the_bundle_carries(
    stamped: Bundle, pool: asyncpg.Pool, tsa: tuple[LocalTsa, str]
) -> None:
    """The integrator asks the TSA for a token on each checkpoint and records it; the trail
    carries it in base64, covered by the manifest, over the checkpoint note's text."""
    size = stamped["checkpoint"]["checkpoint"]["tree_size"]
    stored = await pool.fetchval(
        "SELECT token FROM checkpoint_timestamps WHERE tree_size = $1", size
    )
    assert base64.b64decode(stamped["checkpoint_timestamp"]) == bytes(stored)
    assert note_hash(stamped) in bytes(stored)
    assert tsa[0].requests >= 1


def test_verify_with_the_tsa_certificate_reports_the_time(
    stamped: Bundle, key_dir: Path, tsa_cert_file: Path, tmp_path: Path
) -> None:
    """`coordinator audit verify --keys K --tsa-cert C` exits 0 and says when the TSA dated it."""
    trail, keys = files(stamped, key_dir, tmp_path)
    result = verify_cli(trail, "--keys", keys, "--tsa-cert", tsa_cert_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Time-stamping authority CN=Test TSA dated that note at 20" in result.stdout
    assert "the checkpoint existed then" in result.stdout


def test_without_the_tsa_certificate_the_time_is_named_but_not_checked(
    stamped: Bundle, key_dir: Path, tmp_path: Path
) -> None:
    """Without --tsa-cert the bundle is still proven, and the token's time is marked unchecked."""
    trail, keys = files(stamped, key_dir, tmp_path)
    result = verify_cli(trail, "--keys", keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NOT checked: give the time-stamping authority's certificate" in result.stdout


@pytest.mark.parametrize(
    ("wrong", "says"),
    [
        ("another_hash", "stamps another hash than SHA-256 of the checkpoint note's text"),
        ("another_key", "does not verify with the TSA certificate given"),
        ("another_tsa", "signed by another certificate than the TSA certificate given"),
    ],
)
def test_a_wrong_token_fails_with_its_reason(
    stamped: Bundle, key_dir: Path, tsa: tuple[LocalTsa, str], wrong: str, says: str
) -> None:
    """A token for another hash, or signed by another key, or by another TSA, is refused by
    name, even with the manifest signed again over it."""
    authority = tsa[0]
    digest, key, cert = note_hash(stamped), authority.key, authority.cert
    if wrong == "another_hash":
        digest = hashlib.sha256(b"another checkpoint").digest()
    elif wrong == "another_key":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = a_certificate("Other TSA", key, authority.ca, authority.ca_key)
    bundle = with_token(stamped, a_token(digest, 1, key, cert), key_dir)
    keys = SigningKeyring(key_dir).public_keys()
    report = verify_bundle(bundle, trusted_keys=keys, tsa_certificates=[authority.cert])
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_TIMESTAMP
    assert says in report.first_failure.sentence


def test_a_tsa_certificate_without_the_time_stamping_usage_exits_2(
    stamped: Bundle, key_dir: Path, tsa: tuple[LocalTsa, str], tmp_path: Path
) -> None:
    """A certificate that may not vouch for times is unusable: exit 2, naming the usage."""
    authority = tsa[0]
    plain = a_certificate("Test TSA", authority.key, authority.ca, authority.ca_key,
                          time_stamping=False)  # fmt: skip
    (tmp_path / "plain.pem").write_bytes(plain.public_bytes(serialization.Encoding.PEM))
    trail, keys = files(stamped, key_dir, tmp_path)
    result = verify_cli(trail, "--keys", keys, "--tsa-cert", tmp_path / "plain.pem")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "timeStamping extended key usage" in result.stderr


def test_every_flipped_byte_of_the_token_fails(
    stamped: Bundle, key_dir: Path, tsa: tuple[LocalTsa, str]
) -> None:
    """Each single-bit flip anywhere in the token, the manifest signed again, is refused as a
    malformed or failing timestamp: no byte of it goes unchecked."""
    token = base64.b64decode(stamped["checkpoint_timestamp"])
    keys = SigningKeyring(key_dir).public_keys()
    manifest_free = {name: value for name, value in stamped.items() if name != MANIFEST}
    for at in range(len(token)):
        for bit in (0x01, 0x80):
            flipped = bytearray(token)
            flipped[at] ^= bit
            bundle = with_token(manifest_free, bytes(flipped), key_dir)
            report = verify_bundle(bundle, trusted_keys=keys, tsa_certificates=[tsa[0].cert])
            assert report.first_failure is not None, f"byte {at} bit {bit:#x} went unseen"
            assert report.first_failure.reason in {Reason.BAD_TIMESTAMP, Reason.MALFORMED}


def test_a_tsa_certificate_given_requires_a_token(
    stamped: Bundle, key_dir: Path, tsa: tuple[LocalTsa, str]
) -> None:
    """Asked to check a timestamp, the verifier fails a bundle that carries none."""
    bundle = {name: value for name, value in stamped.items() if name != MANIFEST}
    del bundle["checkpoint_timestamp"]
    bundle = with_manifest(bundle, SigningKeyring(key_dir))
    keys = SigningKeyring(key_dir).public_keys()
    report = verify_bundle(bundle, trusted_keys=keys, tsa_certificates=[tsa[0].cert])
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_TIMESTAMP


class DownTsa(Timestamper):
    """A TSA that does not answer, with one checkpoint waiting for a token."""

    async def pending(self, _connection: object) -> list[tuple[int, str]]:
        """One checkpoint note's text, as if just signed."""
        return [(1, "homeward.example/test\n1\nAAAA\n")]


async def test_an_unreachable_tsa_never_stops_the_log(
    callers: dict[Role, Caller], pool: asyncpg.Pool, client: Client
) -> None:
    """With the TSA down, nothing is recorded and nothing raises: the failure is logged with the
    TSA's host only (never its URL's credentials), and the log goes on signing checkpoints."""
    integrator = client.app[AUDIT_LOG].integrator
    down = DownTsa("http://user:s3cret@127.0.0.1:9/tsa", None, timeout_seconds=1)
    with capture_logs() as logs:
        recorded = await integrator.stamp_pending(pool, down)
    assert recorded == 0
    failed = [entry for entry in logs if entry["event"] == "checkpoint_timestamp_failed"]
    assert failed[0]["authority"] == "127.0.0.1"
    assert "unreachable" in failed[0]["reason"]
    assert "s3cret" not in repr(logs)
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="after the TSA was down"))
    response = await legal.get(f"/v1/operations/{operation}/audit-trail")
    assert response.status == 200, await response.text()
