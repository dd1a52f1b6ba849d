"""Profiling `coordinator serve` with py-spy for `ops/bench_http.py --profile`: samples during
the HTTP windows, merged as collapsed stacks, and where the service's CPU went (by task, by step
of an append, hottest functions; with `--personal`, what grew from clear to sealed windows)."""

from __future__ import annotations

import asyncio
import math
import shutil
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent

PROFILE_RATE = 200  # samples per second


@dataclass
class Profiler:
    """py-spy sampling the service during each HTTP window; the merged collapsed stacks."""

    pid: int
    folder: Path
    stacks: Counter[str] = field(default_factory=Counter)
    appends: float = 0.0  # in the sampled windows, when known

    @staticmethod
    def executable() -> Path:
        """py-spy, installed with the dev extras."""
        found = BIN / "py-spy"
        if found.exists():
            return found
        which = shutil.which("py-spy")
        if which is None:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install -e '.[dev]'")
        return Path(which)

    @asynccontextmanager
    async def window(self, seconds: float) -> AsyncIterator[None]:
        """Sample the service for about `seconds` from now; merge the samples afterwards."""
        output = self.folder / f"profile-{time.monotonic_ns()}.txt"
        process = await asyncio.create_subprocess_exec(
            str(self.executable()),
            "record",
            "--pid",
            str(self.pid),
            "--format",
            "raw",
            "--nolineno",
            "--subprocesses",  # the workers, when there are several
            "--gil",  # only samples where the service runs Python: its CPU, not its waits
            "--rate",
            str(PROFILE_RATE),
            "--duration",
            str(math.ceil(seconds)),
            "--output",
            str(output),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(0.2)  # let it attach
        yield
        _, errors = await process.communicate()
        if process.returncode != 0 or not output.exists():
            raise SystemExit(f"py-spy failed: {errors.decode()[-2000:]}")
        for line in output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack:
                self.stacks[stack] += int(count)

    def write(self, path: Path) -> None:
        """The merged samples as collapsed stacks, one `frame;frame;... count` a line."""
        path.write_text("".join(f"{stack} {count}\n" for stack, count in self.stacks.items()))


# Frames are "function (file)" or "Class.method (file)", the file from its package on; a member
# that is only "(file)" matches every frame of that file.
TASKS = {
    "requests (aiohttp handling, our handler)": (
        "RequestHandler.start (aiohttp/web_protocol.py)",
        "RequestHandler._handle_request (aiohttp/web_protocol.py)",
    ),
    "projections (runner, folding, writes)": ("(projections/engine/runner.py)",),
    "Merkle log integrator": ("(evidence/integrator.py)",),
    "log signal (NOTIFY)": ("(events/feed/signal.py)",),
}
STEPS = {
    "read the stream (read_stream; rows are decoded under the protocol below)": (
        "read_stream (events/store/event_store.py)",
    ),
    "fold it into state (fold: parse_event + evolve)": ("fold (coordinator/service/recording.py)",),
    "decide": ("decide (coordinator/domain/decide.py)",),
    "append (EventStore.append: hashes + INSERT)": ("append (events/store/event_store.py)",),
    "request body (read_json + parse_body)": (
        "read_json (coordinator/http/bodies.py)",
        "parse_body (coordinator/http/bodies.py)",
    ),
    "payloads (_proposed: validation; _new_event: model_dump)": (
        "_proposed (coordinator/service/recording.py)",
        "_new_event (coordinator/service/recording.py)",
    ),
    "authorise (token cache)": ("authorise (coordinator/http/access.py)",),
    "answer (model + json_response)": ("_append_answer (coordinator/http/operations.py)",),
    "the middleware and everything of ours under it": (
        "request_context (coordinator/http/middleware.py)",
    ),
    "reading replies from sockets (asyncpg rows and their jsonb's json.loads; HTTP)": (
        "_read_ready__data_received (asyncio/selector_events.py)",
    ),
}


def _frames(stack: str) -> list[str]:
    return stack.split(";")


def _matches(frame: str, member: str) -> bool:
    if not frame.endswith(member):
        return False
    return member.startswith("(") or len(frame) == len(member) or frame[-len(member) - 1] == "."


def _share(stacks: Counter[str], members: tuple[str, ...]) -> int:
    return sum(
        count
        for stack, count in stacks.items()
        if any(_matches(frame, member) for frame in _frames(stack) for member in members)
    )


def _inclusive(stacks: Counter[str]) -> Counter[str]:
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        for frame in set(_frames(stack)):
            inclusive[frame] += count
    return inclusive


def growth(clear: Profiler, sealed: Profiler, top: int = 25) -> list[str]:
    """The functions whose CPU per append grew most from the clear windows to the sealed ones
    (py-spy samples at `PROFILE_RATE` per second of CPU)."""
    if not clear.appends or not sealed.appends:
        return ["no appends counted"]

    def per_append(samples: int, appends: float) -> float:
        return samples / PROFILE_RATE / appends * 1e6

    before, after = _inclusive(clear.stacks), _inclusive(sealed.stacks)
    total_before = per_append(sum(clear.stacks.values()), clear.appends)
    total_after = per_append(sum(sealed.stacks.values()), sealed.appends)
    lines = [f"  all Python: {total_before:,.0f} -> {total_after:,.0f}"]
    changes = {
        frame: (per_append(before[frame], clear.appends), per_append(after[frame], sealed.appends))
        for frame in set(before) | set(after)
    }
    grown = sorted(changes.items(), key=lambda item: item[1][0] - item[1][1])
    lines.extend(
        f"  {b:>7,.0f} -> {a:>7,.0f}  ({a - b:+,.0f})  {frame}" for frame, (b, a) in grown[:top]
    )
    return lines


def summary(stacks: Counter[str], top: int = 15) -> list[str]:
    """Where the service's CPU went: by task, by step of an append, hottest functions."""
    total = sum(stacks.values())
    if total == 0:
        return ["no samples"]
    lines = [f"{total} samples while running Python; by task:"]
    tasks = {label: _share(stacks, members) for label, members in TASKS.items()}
    tasks["other: the event loop, socket reads and writes outside those"] = total - sum(
        tasks.values()
    )
    lines.extend(f"  {count / total:>6.1%}  {label}" for label, count in tasks.items())
    lines.append("by step of an append (inclusive; the steps nest in the middleware):")
    lines.extend(f"  {_share(stacks, m) / total:>6.1%}  {label}" for label, m in STEPS.items())
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = _frames(stack)
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines.append("hottest functions, inclusive (the event loop's own frames left out):")
    hottest = [(frame, count) for frame, count in inclusive.most_common() if count < total * 0.9]
    lines.extend(f"  {count / total:>6.1%}  {frame}" for frame, count in hottest[:top])
    lines.append("hottest functions, own time:")
    lines.extend(f"  {count / total:>6.1%}  {frame}" for frame, count in own.most_common(top))
    return lines
