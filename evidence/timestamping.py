"""RFC 3161 trusted timestamps on checkpoints, from a configured time-stamping authority (TSA).

After a checkpoint is signed, the integrator asks the TSA for a token over SHA-256 of the
checkpoint note's signed text (events/verifier/timestamp_checks.py), checks the answer (the hash,
the nonce, and with the TSA's certificate configured, the signature) and records the token
(migration 0017). Bundles carry it. Time stamping never stops the log: a checkpoint is signed
and stored first; a TSA that does not answer is logged (its host only, never the URL, which may
hold credentials) and asked again at the next round, for checkpoints of the last hour only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp
import structlog
from cryptography import x509

from events.store.connection import Queryable
from events.verifier.der import (
    SEQUENCE,
    DerError,
    encode,
    encode_integer,
    encode_oid,
    expect,
    integer,
    read_one,
)
from events.verifier.signed_note import parse_note
from events.verifier.timestamp_checks import note_digest
from events.verifier.timestamp_token import (
    SHA256,
    TokenRefused,
    check_imprint,
    check_token,
    read_token,
)

log = structlog.get_logger(__name__)

_REQUEST_TYPE = "application/timestamp-query"
# Recent checkpoints (signed within the last hour) without a token, newest first, a few per
# round; older ones stay without.
_PENDING = """
SELECT n.tree_size, n.note FROM checkpoint_notes n
  JOIN signed_checkpoints s USING (tree_size)
  LEFT JOIN checkpoint_timestamps t USING (tree_size)
 WHERE t.tree_size IS NULL AND s.signed_at > now() - interval '1 hour'
 ORDER BY n.tree_size DESC LIMIT 5
"""


class TimestampFailed(RuntimeError):
    """The TSA gave no usable token this time (unreachable, refused, or a wrong answer)."""


@dataclass(frozen=True, slots=True)
class Stamped:
    """A checked token and the time it states."""

    token: bytes
    gen_time: datetime


def timestamp_request(digest: bytes, nonce: int) -> bytes:
    """A TimeStampReq (RFC 3161 section 2.4.1) for SHA-256 `digest`, without certificates (the
    verifier uses the reader's TSA certificate, never one inside the token)."""
    algorithm = encode(SEQUENCE, encode_oid(SHA256) + b"\x05\x00")
    imprint = encode(SEQUENCE, algorithm + encode(0x04, digest))
    return encode(SEQUENCE, encode_integer(1) + imprint + encode_integer(nonce))


def token_of(
    answer: bytes, digest: bytes, nonce: int, certificate: x509.Certificate | None
) -> Stamped:
    """The token of a TimeStampResp answering the request for `digest` with `nonce`, checked
    (under `certificate` too, if given); TimestampFailed saying why not."""
    try:
        parts = expect(read_one(answer), SEQUENCE, "the TimeStampResp").children()
        status = integer(expect(parts[0], SEQUENCE, "the status").children()[0], "the status")
        if status not in {0, 1} or len(parts) != 2:
            raise TimestampFailed(f"the TSA refused the request (PKI status {status})")
        token = read_token(parts[1].raw)
        check_imprint(token, digest)
        if token.nonce != nonce:
            raise TimestampFailed("the TSA's token answers another request (its nonce)")
        if certificate is not None:
            check_token(token, digest, certificate)
    except (DerError, IndexError) as error:
        raise TimestampFailed(f"the TSA's answer is not a TimeStampResp: {error}") from None
    except TokenRefused as error:
        raise TimestampFailed(str(error)) from None
    return Stamped(token.raw, token.gen_time)


class Timestamper:
    """Asks one TSA for tokens on checkpoint notes and records them."""

    def __init__(
        self, url: str, certificate: x509.Certificate | None, *, timeout_seconds: float = 10.0
    ) -> None:
        self._url = url
        self._certificate = certificate
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        # For the log: the authority's host, never its URL (which may carry credentials).
        self.host = urlsplit(url).hostname or "?"

    async def stamp(self, note_text: str) -> Stamped:
        """A checked token over the note's signed text; TimestampFailed if there is none now."""
        digest = note_digest(note_text)
        nonce = secrets.randbits(63)
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.post(
                    self._url,
                    data=timestamp_request(digest, nonce),
                    headers={"Content-Type": _REQUEST_TYPE},
                ) as response,
            ):
                if response.status != 200:
                    raise TimestampFailed(f"the TSA answered HTTP {response.status}")
                answer = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TimestampFailed(f"the TSA is unreachable ({type(error).__name__})") from None
        return token_of(answer, digest, nonce, self._certificate)

    async def pending(self, connection: Queryable) -> list[tuple[int, str]]:
        """The recent checkpoints without a token, newest first: (tree size, note text)."""
        rows = await connection.fetch(_PENDING)
        return [(int(row["tree_size"]), parse_note(row["note"]).text) for row in rows]


async def store_timestamp(connection: Queryable, tree_size: int, stamped: Stamped) -> None:
    """Record the token of the checkpoint of `tree_size` (once)."""
    await connection.execute(
        "INSERT INTO checkpoint_timestamps (tree_size, token, gen_time) VALUES ($1, $2, $3) "
        "ON CONFLICT (tree_size) DO NOTHING",
        tree_size,
        stamped.token,
        stamped.gen_time,
    )


async def timestamp_token(connection: Queryable, tree_size: int) -> bytes | None:
    """The recorded token of the checkpoint of `tree_size`, if it has one."""
    token = await connection.fetchval(
        "SELECT token FROM checkpoint_timestamps WHERE tree_size = $1", tree_size
    )
    return None if token is None else bytes(token)
