"""Running the `coordinator` command line as a user would, in a process of its own."""

from __future__ import annotations

import asyncio
import sys


async def run_coordinator(database_url: str, *arguments: str) -> tuple[int, str, str]:
    """`python -m coordinator --database-url URL ARGUMENTS...`: exit status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "coordinator",
        "--database-url",
        database_url,
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None, err.decode()
    return process.returncode, out.decode(), err.decode()
