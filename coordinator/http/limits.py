"""Per-token limits: a token bucket per token name for writes, and another for reads of personal
data, so one lost or abused token can neither flood the record nor quietly copy every survivor's
file. Each replica keeps its own buckets (the allowance is per replica)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from aiohttp import web

from coordinator.errors import RateLimited

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class _Bucket:
    tokens: float
    updated: float


class WriteLimiter:
    """Allows `burst` requests at once and `per_minute` a minute per token name; `what` names
    them in the refusal."""

    def __init__(self, per_minute: int, burst: int, what: str = "write") -> None:
        self._what = what
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}

    def take(self, name: str, now: float | None = None) -> None:
        """Spend one write of `name`'s allowance, or raise `RateLimited` with the wait."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            wait = math.ceil((1 - bucket.tokens) / self._rate)
            raise RateLimited(
                f"this token's {self._what} allowance is spent; retry in {wait} s", wait
            )
        bucket.tokens -= 1


LIMITER = web.AppKey("write_limiter", WriteLimiter)
READ_LIMITER = web.AppKey("personal_read_limiter", WriteLimiter)

PERSONAL_READS = frozenset(
    {
        "/v1/operations/{operation_id}",
        "/v1/operations/{operation_id}/events",
        "/v1/operations/{operation_id}/audit-trail",
        "/v1/survivors/{survivor_id}",
        "/v1/prosecutions/{prosecution_id}",
        "/v1/prosecutions/{prosecution_id}/audit-trail",
    }
)
"""The routes whose answers may open personal data: each GET spends one read of the token's
personal-read allowance."""


def is_personal_read(request: web.Request) -> bool:
    """Whether `request` reads a route that may open personal data."""
    route = request.match_info.route.resource
    return request.method == "GET" and route is not None and route.canonical in PERSONAL_READS
