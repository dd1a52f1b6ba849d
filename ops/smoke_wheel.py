"""Install Homeward the way users do and check that it serves: the wheel, in a new environment.

    python3 ops/smoke_wheel.py

Builds the wheel (`pip wheel .`, not editable), installs it into a new virtual environment in a
temporary folder, and from that folder (so nothing is imported from the source tree) runs
`coordinator --help`, then `coordinator serve` on the embedded PostgreSQL until `/ready`, creates
tokens, opens one operation with the documented example report, and reads `/board`,
`/openapi.json` and `/v1/board`. Stops the service with SIGTERM and expects a clean exit.
Standard library only; exits non-zero, saying which step failed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
READY_WITHIN_SECONDS = 120


class SmokeFailed(Exception):
    """A step of the smoke test did not do what a user would expect."""


def step(title: str) -> None:
    print(f"-- {title}", flush=True)


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(  # noqa: S603  our own commands, fixed arguments
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SmokeFailed(f"{' '.join(command[:3])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def request(
    url: str, *, token: str | None = None, body: Any = None, expect: int = 200
) -> tuple[bytes, str]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310  http://127.0.0.1
    try:
        with urllib.request.urlopen(call, timeout=30) as answer:  # noqa: S310  http://127.0.0.1
            status, payload, kind = answer.status, answer.read(), answer.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        status, payload, kind = error.code, error.read(), error.headers["Content-Type"]
    if status != expect:
        raise SmokeFailed(f"{url} answered {status}, not {expect}: {payload[:300]!r}")
    return payload, kind or ""


def build_and_install(work: Path) -> Path:
    step("building the wheel (pip wheel ., not editable)")
    wheels = work / "wheels"
    env = dict(os.environ)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            str(PROJECT),
            "-w",
            str(wheels),
        ],
        cwd=work,
        env=env,
    )
    (wheel,) = wheels.glob("homeward-*.whl")
    step(f"installing {wheel.name} into a new virtual environment")
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=work, env=env)
    return work / "venv" / "bin"


def create_token(bin_dir: Path, env: dict[str, str], role: str, cwd: Path) -> str:
    out = run(
        [
            str(bin_dir / "coordinator"),
            "token",
            "create",
            "--role",
            role,
            "--name",
            f"smoke-{role}",
        ],
        cwd=cwd,
        env=env,
    )
    return out.strip().splitlines()[-1]


def wait_ready(base: str, service: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SmokeFailed(f"coordinator serve exited with {service.returncode} before /ready")
        try:
            request(f"{base}/ready")
        except (SmokeFailed, OSError):
            time.sleep(0.5)
        else:
            return
    raise SmokeFailed(f"/ready did not answer 200 within {READY_WITHIN_SECONDS} s")


def wait_on_board(base: str, token: str, operation_id: str) -> None:
    """The board projection runs behind the append: give it a few seconds to show the operation."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        board = json.loads(request(f"{base}/v1/board", token=token)[0])
        if any(row.get("operation_id") == operation_id for row in board["operations"]):
            return
        time.sleep(0.2)
    raise SmokeFailed(f"the board did not show operation {operation_id} within 15 s")


def exercise(bin_dir: Path, work: Path) -> None:
    step("coordinator --help")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COORDINATOR_")}
    env |= {"COORDINATOR_DATA_DIR": str(work / "data"), "COORDINATOR_LOG_FORMAT": "json"}
    help_text = run([str(bin_dir / "coordinator"), "--help"], cwd=work, env=env)
    if "serve" not in help_text:
        raise SmokeFailed(f"coordinator --help lists no serve command:\n{help_text}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    step(f"coordinator serve on the embedded PostgreSQL, port {port}")
    log = (work / "serve.log").open("wb")
    service = subprocess.Popen(  # noqa: S603  our own command
        [str(bin_dir / "coordinator"), "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(base, service)
        step("tokens, one operation opened, the board and the OpenAPI document")
        field = create_token(bin_dir, env, "field", work)
        leadership = create_token(bin_dir, env, "leadership", work)
        document = json.loads(request(f"{base}/openapi.json")[0])
        opening = document["paths"]["/v1/operations"]["post"]["requestBody"]["content"]
        example = opening["application/json"]["example"]
        opened = json.loads(
            request(f"{base}/v1/operations", token=field, body=example, expect=201)[0]
        )
        if opened.get("version") != 1:
            raise SmokeFailed(f"opening an operation answered {opened}")
        page, kind = request(f"{base}/board")
        if not kind.startswith("text/html") or b"<html" not in page.lower():
            raise SmokeFailed(f"/board is not the board page ({kind})")
        wait_on_board(base, leadership, opened["operation_id"])
        print(f"   opened {opened['operation_id']}, and the board shows it")
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            code = service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
            raise SmokeFailed("coordinator serve did not stop within 60 s of SIGTERM") from None
        log.close()
    if code != 0:
        raise SmokeFailed(f"coordinator serve exited with {code} on SIGTERM")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="homeward-smoke-") as folder:
        work = Path(folder)
        try:
            exercise(build_and_install(work), work)
        except SmokeFailed as failure:
            print(f"SMOKE TEST FAILED: {failure}", file=sys.stderr)
            serve_log = work / "serve.log"
            if serve_log.exists():
                print(serve_log.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
    print("the installed wheel serves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
