"""The OpenAPI document and the docs page: valid 3.1, complete, and true to the running app."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.http.app_keys import POOL
from coordinator.http.openapi import OPENAPI, RouteDoc, build_document, undocumented_routes
from coordinator.settings import Settings
from events.catalogue import EVENT_TYPES
from tests.api import Caller, Client

Document = dict[str, Any]


def _app_document() -> Document:
    app = create_app(Settings(), "postgresql://unused")
    return app[OPENAPI].document()


def _conforms(document: Document, schema: dict[str, Any], instance: Any) -> list[str]:
    """The errors of `instance` against a schema of the document (refs resolved in it)."""
    rooted = {**schema, "components": document["components"]}
    validator = OAS31Validator(rooted, format_checker=OAS31Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(instance)]


def _media(operation: dict[str, Any], status: int) -> dict[str, Any]:
    media: dict[str, Any] = operation["responses"][str(status)]["content"]["application/json"]
    return media


@pytest.fixture(scope="module")
def app_settings(database_url: str) -> Settings:
    """The real app on the module's database, refusing bodies over 64 KiB."""
    return Settings(database_url=database_url, max_body_bytes=64 * 1024)


@pytest.fixture(scope="module")
async def document(client: Client) -> Document:
    """The document as the running app serves it."""
    response = await client.get("/openapi.json")
    assert response.status == 200
    served: Document = await response.json()
    return served


def test_the_document_is_valid_openapi_3_1(document: Document) -> None:
    """The served document passes the OpenAPI 3.1 validator."""
    assert document["openapi"] == "3.1.0"
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


@pytest.mark.unit
def test_every_registered_route_is_documented_and_nothing_else() -> None:
    """Each route of the app is in the document, and the document names no route the app lacks."""
    app = create_app(Settings(), "postgresql://unused")
    assert undocumented_routes(app) == []
    registered = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (method, path) for path, methods in _app_document()["paths"].items() for method in methods
    }
    assert documented == registered


def test_event_requests_are_discriminated_over_the_whole_catalogue(document: Document) -> None:
    """A batch's event is a oneOf by `type` whose variants carry each catalogue payload."""
    event_request = document["components"]["schemas"]["EventRequest"]
    mapping = event_request["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_TYPES)
    for name, ref in mapping.items():
        variant = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert variant["properties"]["type"] == {"type": "string", "const": name}
        assert variant["properties"]["data"] == {"$ref": f"#/components/schemas/{name}"}
        assert name in document["components"]["schemas"]


def test_v1_routes_need_a_bearer_token_and_list_their_error_statuses(document: Document) -> None:
    """Every /v1 operation names the bearer scheme, its roles and the contract's error codes."""
    for path, methods in document["paths"].items():
        for operation in methods.values():
            statuses = set(operation["responses"])
            if path.startswith("/v1"):
                assert operation["security"] == [{"bearer": []}]
                assert operation["x-roles"]
                assert {"401", "403", "503"} <= statuses
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= statuses


@pytest.mark.unit
def test_a_route_documented_twice_is_refused() -> None:
    """Two modules cannot both describe one method and path."""
    app = create_app(Settings(), "postgresql://unused")
    with pytest.raises(ValueError, match="documented twice"):
        app[OPENAPI].add(RouteDoc("GET", "/health", "again", None))


@pytest.mark.unit
def test_a_new_route_appears_once_documented() -> None:
    """A route added through the registry shows up with its roles and statuses."""
    doc = RouteDoc("GET", "/v1/board", "The live board.", frozenset({Role.ADMIN}))
    operation = build_document([doc])["paths"]["/v1/board"]["get"]
    assert operation["x-roles"] == ["admin"]
    assert set(operation["responses"]) == {"200", "401", "403", "503"}


async def test_the_examples_are_accepted_by_the_running_app(
    document: Document, field: Caller
) -> None:
    """The documented examples open an operation and record events, answering as documented."""
    opening = document["paths"]["/v1/operations"]["post"]
    example = opening["requestBody"]["content"]["application/json"]["example"]
    response = await field.post("/v1/operations", example)
    assert response.status == 201, await response.text()
    opened = await response.json()
    assert _conforms(document, _media(opening, 201)["schema"], opened) == []

    recording = document["paths"]["/v1/operations/{operation_id}/events"]["post"]
    batch = recording["requestBody"]["content"]["application/json"]["example"]
    batch_schema = recording["requestBody"]["content"]["application/json"]["schema"]
    assert _conforms(document, batch_schema, batch) == []
    response = await field.post(f"/v1/operations/{opened['operation_id']}/events", batch)
    assert response.status == 201, await response.text()
    assert _conforms(document, _media(recording, 201)["schema"], await response.json()) == []


async def test_read_answers_match_their_documented_schemas(
    document: Document, field: Caller
) -> None:
    """The operation view and the stored stream conform to the document's answer schemas."""
    opening = document["paths"]["/v1/operations"]["post"]
    example = opening["requestBody"]["content"]["application/json"]["example"]
    operation_id = (await (await field.post("/v1/operations", example)).json())["operation_id"]
    for path in ("/v1/operations/{operation_id}", "/v1/operations/{operation_id}/events"):
        response = await field.get(path.replace("{operation_id}", operation_id))
        assert response.status == 200
        schema = _media(document["paths"][path]["get"], 200)["schema"]
        assert _conforms(document, schema, await response.json()) == []


async def test_errors_match_the_error_schema(document: Document, client: Client) -> None:
    """An unauthenticated call answers 401 with the documented error body."""
    response = await client.get(f"/v1/operations/{uuid.uuid4()}")
    assert response.status == 401
    schema = _media(document["paths"]["/v1/operations/{operation_id}"]["get"], 401)["schema"]
    assert _conforms(document, schema, await response.json()) == []


async def test_a_database_outage_answers_the_documented_503(
    document: Document, database_url: str
) -> None:
    """With the database gone, a /v1 call answers 503 with the error body, never a 500."""
    app = create_app(Settings(database_url=database_url), database_url)
    async with TestClient(TestServer(app)) as client:
        await app[POOL].close()
        response = await client.get(
            f"/v1/operations/{uuid.uuid4()}", headers={"Authorization": "Bearer hw_unknown"}
        )
        assert response.status == 503
        schema = _media(document["paths"]["/v1/operations/{operation_id}"]["get"], 503)["schema"]
        assert _conforms(document, schema, await response.json()) == []


async def test_the_docs_page_is_self_contained_behind_strict_headers(client: Client) -> None:
    """The docs page lists every endpoint, loads nothing and forbids framing and scripts."""
    response = await client.get("/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")
    assert "script-src" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    page = await response.text()
    assert "<script" not in page
    assert "src=" not in page
    assert "http://" not in page
    assert "https://" not in page
    for path in ("/v1/operations/{operation_id}/events", "/health", "/ready"):
        assert f"<code>{path}</code>" in page
    assert "CaseReported" in page
    assert "lead_investigator" in page
