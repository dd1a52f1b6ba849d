"""GET /metrics: requests by route, appends, projection lag, pool, live clients, Merkle log."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from coordinator.http.app import create_app
from coordinator.metrics import ProcessState, ServiceMetrics
from coordinator.service.projection_set import PROJECTION_NAMES
from coordinator.settings import Settings
from events.store.connection import create_pool
from events.store.event_store import EventStore
from tests.api import Caller, Client, event

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def app_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real app on the module's database, signing checkpoints every 100 ms."""
    return Settings(
        database_url=database_url,
        signing_key_dir=tmp_path_factory.mktemp("metrics-keys"),
        checkpoint_interval_seconds=0.1,
    )


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text page, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def metrics_token(admin: Caller) -> str:
    """The token Prometheus scrapes with."""
    return admin.token


async def scrape(client: Client, token: str) -> tuple[str, Samples]:
    """GET /metrics with `token`: its text and its samples."""
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    return text, parse(text)


def requests_of(samples: Samples, route: str, status: str, method: str = "GET") -> float:
    """How many requests of `method` `route` answered `status`."""
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("homeward_http_requests_total", labels), 0.0)


async def test_requests_are_counted_by_route_pattern_never_by_raw_path(
    field: Caller, metrics_token: str
) -> None:
    """An operation's id never becomes a label: its reads count under the route's pattern."""
    operation = await field.open()
    _, before = await scrape(field.client, metrics_token)
    for _ in range(3):
        assert (await field.get(f"/v1/operations/{operation}")).status == 200
    text, after = await scrape(field.client, metrics_token)
    route = "/v1/operations/{operation_id}"
    assert requests_of(after, route, "200") - requests_of(before, route, "200") == 3
    assert operation not in text
    latency = (("method", "GET"), ("route", route))
    assert after[("homeward_http_request_duration_seconds_count", latency)] >= 3


async def test_unknown_paths_share_one_label_with_their_status(
    client: Client, metrics_token: str
) -> None:
    """Paths that match no route are counted together, so scanners cannot grow the series."""
    _, before = await scrape(client, metrics_token)
    for path in ("/wp-admin", f"/nothing/{uuid.uuid4()}"):
        assert (await client.get(path)).status == 404
    text, after = await scrape(client, metrics_token)
    assert requests_of(after, "unmatched", "404") - requests_of(before, "unmatched", "404") == 2
    assert "wp-admin" not in text


async def test_appends_count_batches_and_events_and_not_re_sends(
    field: Caller, metrics_token: str
) -> None:
    """A batch of two counts two events; the same batch sent again appends, and counts, nothing."""
    operation = await field.open()
    batch = {
        "events": [
            {"event_id": str(uuid.uuid4()), **event("StatusNoted", note="left the village")},
            {"event_id": str(uuid.uuid4()), **event("StatusNoted", note="reached the border")},
        ]
    }
    _, before = await scrape(field.client, metrics_token)
    for _ in range(2):
        response = await field.post(f"/v1/operations/{operation}/events", batch)
        assert response.status == 201
    _, after = await scrape(field.client, metrics_token)

    def grew(name: str, *labels: tuple[str, str]) -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    assert grew("homeward_events_appended_total") == 2
    assert grew("homeward_append_batches_total", ("outcome", "appended")) == 1


async def test_projection_lag_pool_and_audit_log_are_reported(
    field: Caller, pool: asyncpg.Pool, metrics_token: str
) -> None:
    """Every projection has a lag, the pool its sizes, and the Merkle log its size and age."""
    await field.open()
    total = await pool.fetchval("SELECT count(*) FROM events")
    deadline = time.monotonic() + 20
    while True:
        _, samples = await scrape(field.client, metrics_token)
        if samples.get(("homeward_checkpoint_tree_size", ()), 0) >= total:
            break
        assert time.monotonic() < deadline, "no checkpoint covered the log in time"
        await asyncio.sleep(0.05)
    assert samples[("homeward_database_up", ())] == 1
    for name in PROJECTION_NAMES:
        assert samples[("homeward_projection_lag_seconds", (("projection", name),))] >= 0
        assert (("homeward_projection_leading", (("projection", name),))) in samples
    assert samples[("homeward_merkle_log_size", ())] >= total
    assert 0 <= samples[("homeward_checkpoint_age_seconds", ())] < 60
    assert samples[("homeward_db_pool_max_connections", ())] == 20
    assert 1 <= samples[("homeward_db_pool_connections", ())] <= 20
    assert samples[("homeward_log_reader_lag_seconds", ())] >= 0


async def test_live_board_clients_are_counted_while_connected(leadership: Caller) -> None:
    """An open server-sent-event stream is one client; it is gone once the stream closes."""
    _, before = await scrape(leadership.client, leadership.token)
    clients = before[("homeward_board_stream_clients", ())]
    stream = await leadership.get("/v1/board/stream")
    assert stream.status == 200
    _, during = await scrape(leadership.client, leadership.token)
    assert during[("homeward_board_stream_clients", ())] == clients + 1
    stream.close()
    deadline = time.monotonic() + 10
    while (await scrape(leadership.client, leadership.token))[1][
        ("homeward_board_stream_clients", ())
    ] > clients:
        assert time.monotonic() < deadline, "the closed stream is still counted"
        await asyncio.sleep(0.05)


async def test_every_app_counts_in_its_own_registry(
    database_url: str, client: Client, app_settings: Settings, metrics_token: str
) -> None:
    """A second app starts from zero, whatever the first has counted."""
    assert (await client.get("/health")).status == 200
    other = create_app(app_settings.model_copy(update={"run_projections": False}), database_url)
    async with TestClient(TestServer(other)) as second:
        _, samples = await scrape(second, metrics_token)
    assert requests_of(samples, "/health", "200") == 0
    assert ("homeward_board_stream_clients", ()) not in samples  # no projections here


async def test_an_unreachable_database_is_reported_not_raised(database_url: str) -> None:
    """With the pool gone, the scrape still answers: database down, lag unknown rather than 0."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    await pool.close()
    metrics = ServiceMetrics()
    await metrics.refresh(pool, EventStore(pool), PROJECTION_NAMES)
    samples = parse(metrics.render(ProcessState()).decode())
    assert samples[("homeward_database_up", ())] == 0
    assert not [key for key in samples if key[0] == "homeward_projection_lag_seconds"]


@pytest.mark.unit
def test_the_route_is_documented_as_plain_text(tmp_path: Path) -> None:
    """/metrics is in the OpenAPI document, needs a token, and answers text/plain."""
    from coordinator.http.openapi import OPENAPI  # noqa: PLC0415

    app = create_app(Settings(data_dir=tmp_path), "postgresql://unused")
    paths = app[OPENAPI].document()["paths"]
    answer = paths["/metrics"]["get"]
    assert answer["security"] != []
    assert "text/plain" in answer["responses"]["200"]["content"]


async def test_metrics_need_a_leadership_or_admin_token(client: Client, field: Caller) -> None:
    """Without a token 401, with a field token 403: route counts are not for outsiders."""
    assert (await client.get("/metrics")).status == 401
    assert (await field.get("/metrics")).status == 403
