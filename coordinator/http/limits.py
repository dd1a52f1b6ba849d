"""Per-token write limits: a token bucket per token name, so one lost or abused token cannot
flood the record. Each replica keeps its own buckets (the allowance is per replica)."""

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
    """Allows `burst` writes at once and `per_minute` writes a minute per token name."""

    def __init__(self, per_minute: int, burst: int) -> None:
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
            raise RateLimited(f"this token's write allowance is spent; retry in {wait} s", wait)
        bucket.tokens -= 1


LIMITER = web.AppKey("write_limiter", WriteLimiter)
