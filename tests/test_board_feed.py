"""The board feed's LISTEN and its clients: none is left following a feed that cannot hear."""

from __future__ import annotations

import asyncio
import json

import asyncpg

from coordinator.http.projecting import RESYNC, BoardFeed
from projections.read_models.board import BOARD_CHANNEL

ROW = {"operation_id": "00000000-0000-4000-8000-000000000001", "version": 3}


async def _announce(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT pg_notify($1, $2)", BOARD_CHANNEL, json.dumps([ROW]))
    finally:
        await connection.close()


async def test_a_client_that_joined_unheard_resumes_once_the_feed_listens(
    database_url: str,
) -> None:
    """A client that took its snapshot before the feed listened (a change committed in between
    would never reach it) is told to resume; one that joined while it listened gets the rows."""
    feed = BoardFeed()
    early = feed.join()
    feed.start(database_url)
    try:
        assert await asyncio.wait_for(early.get(), 10) == RESYNC
        assert feed.listening
        assert feed.clients == 0, "the resumed client left the feed"
        late = feed.join()
        await _announce(database_url)
        assert await asyncio.wait_for(late.get(), 10) == ROW
        assert late.empty()
    finally:
        await feed.stop()


async def test_losing_the_listen_connection_resumes_every_client(database_url: str) -> None:
    """The database drops the feed's connection: every client is told to resume, and a client
    joining before the feed listens again is resumed once it does."""
    feed = BoardFeed()
    feed.start(database_url)
    try:
        for _ in range(200):
            if feed.listening:
                break
            await asyncio.sleep(0.05)
        following = feed.join()
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE 'LISTEN%'"
            )
        finally:
            await admin.close()
        assert await asyncio.wait_for(following.get(), 10) == RESYNC
        assert not feed.listening, "it listens again only after a second (keep_dedicated)"
        rejoined = feed.join()  # a client's retry, in the gap
        assert await asyncio.wait_for(rejoined.get(), 10) == RESYNC
        assert feed.listening
        late = feed.join()
        await _announce(database_url)
        assert await asyncio.wait_for(late.get(), 10) == ROW
    finally:
        await feed.stop()
