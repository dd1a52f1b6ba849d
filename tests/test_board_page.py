"""The board page in a real headless Chromium: a new operation appears live, without a reload."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from tests.api import a_case_report

CHROMIUM = os.environ.get("COORDINATOR_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
async def base_url(database_url: str) -> AsyncIterator[str]:
    """The real service listening on a local port."""
    runner = web.AppRunner(create_app(Settings(database_url=database_url), database_url))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


class Page:
    """One browser tab driven over the DevTools protocol."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._next = 0

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        self._next += 1
        await self._socket.send_json(
            {
                "id": self._next,
                "method": "Runtime.evaluate",
                "params": {"expression": expression, "returnByValue": True},
            }
        )
        while True:
            message = await asyncio.wait_for(self._socket.receive_json(), 10)
            if message.get("id") == self._next:
                return message["result"]["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 15) -> None:
        """Wait until a JavaScript expression is true in the page."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not await self.evaluate(expression):
            assert asyncio.get_running_loop().time() < deadline, f"never true: {expression}"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def chromium(url: str) -> AsyncIterator[Page]:
    """A headless Chromium showing `url`, and its tab."""
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"Chromium is needed at {CHROMIUM} (apt-get install chromium), or set "
            "COORDINATOR_TEST_CHROMIUM to its path"
        )
    profile = tempfile.mkdtemp(prefix="homeward-chromium-")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        url,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stderr is not None
        devtools = None
        while devtools is None:
            line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            assert line, "Chromium exited before opening its DevTools port"
            found = re.search(r"DevTools listening on ws://([^/]+)/", line)
            devtools = found.group(1) if found else None
        async with aiohttp.ClientSession() as session:
            targets = await (await session.get(f"http://{devtools}/json/list")).json()
            tab = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                yield Page(socket)
    finally:
        process.kill()
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def test_a_new_operation_appears_on_the_open_board_without_a_reload(
    base_url: str, pool: asyncpg.Pool
) -> None:
    """Leadership keeps the board open; a report from the field shows up on it live."""
    leadership = await create_token(pool, f"board-{uuid.uuid4().hex[:6]}", Role.LEADERSHIP)
    field = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    async with chromium(f"{base_url}/board?lang=en#token={leadership}") as page:
        await page.wait_for("document.getElementById('status').textContent === 'Live'")
        await page.evaluate("window.__sameDocument = true")
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                f"{base_url}/v1/operations",
                json={"data": a_case_report(suspected_country="CN")},
                headers={"Authorization": f"Bearer {field}"},
            )
            assert response.status == 201
            operation = (await response.json())["operation_id"]
        await page.wait_for(f"!!document.querySelector('[data-operation-id=\"{operation}\"]')")
        assert await page.evaluate("window.__sameDocument === true")  # no reload happened
        card = await page.evaluate(
            f"document.querySelector('[data-operation-id=\"{operation}\"]').textContent"
        )
        assert "Reported" in card
        assert "Missing Girl" not in json.dumps(await page.evaluate("document.body.innerText"))
        await page.wait_for("document.getElementById('impact-total').textContent.length > 0")
