"""The OpenAPI 3.1 document, built from the pydantic models the handlers validate and answer with.

Each route is described once by a `RouteDoc`; a module that adds routes documents them next to
`app.router.add_*` with `document(app, RouteDoc(...), ...)`. The document is built from the
app's registry on first request, so it always lists exactly what was registered, in reading
order (`reading_order`): the field team's calls first, the admin ones last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel

from coordinator.domain.actors import Role
from coordinator.http.answers import ErrorAnswer
from coordinator.http.docs_order import TAGS, reading_order, tag_order
from coordinator.http.docs_page import render_docs, security_headers
from coordinator.http.openapi_schemas import SCHEMAS, component_schemas

STATUS_TEXT: Final[Mapping[int, str]] = {
    200: "OK",
    201: "Created",
    400: "The body is not JSON (or has duplicate keys, NaN, or the wrong content type).",
    401: "No valid bearer token: send `Authorization: Bearer TOKEN`.",
    403: "The token's role may not do this.",
    404: "No such operation (or the path is not one of the API's).",
    409: "A conflict: `version_conflict` (with `actual_version`) or an event id already used "
    "with other content.",
    413: "The body is larger than the service accepts.",
    422: "The body breaks the contract's payload shapes or a rule of the operation; the detail "
    "says which.",
    503: "The database is unavailable (or, on /ready, the service is not ready); retry later.",
}


@dataclass(frozen=True, slots=True)
class RouteDoc:
    """One route as the OpenAPI document describes it.

    `roles` None means no token is needed. Error statuses implied by the route's shape are added
    on their own: 401 and 403 for routes with roles, 400, 413 and 422 for routes with a body, 503
    for routes that need the database (`needs_database`); `statuses` lists further ones (404, 409).
    Error statuses answer `ErrorAnswer` unless `answers` names another model for them.
    """

    method: str
    path: str
    summary: str
    roles: frozenset[Role] | None
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    statuses: tuple[int, ...] = ()
    success: int = 200
    description: str = ""
    tag: str = "operations"
    needs_database: bool = True
    content_type: str = "application/json"
    request_example: Any = None
    response_example: Any = None
    answers: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    """Statuses whose body is not the error body, by the model they answer (/ready's 503)."""
    error_content_type: str = "application/json"
    """The type of the error answers: a page opened in a browser answers its errors as pages."""

    @property
    def operation_id(self) -> str:
        """A stable operationId: the method and the path's words, in camel case."""
        words = re.findall(r"[A-Za-z0-9]+", self.path.replace("{", "by_"))
        return self.method.lower() + "".join(word[:1].upper() + word[1:] for word in words)

    def error_statuses(self) -> list[int]:
        """Every error status this route may answer, in order."""
        implied = set(self.statuses)
        if self.roles is not None:
            implied |= {401, 403}
            if self.method in {"POST", "PUT", "PATCH", "DELETE"}:
                implied.add(429)  # each token's write allowance (coordinator/http/limits.py)
        if self.request_model is not None:
            implied |= {400, 413, 422}
        if self.needs_database:
            implied.add(503)
        return sorted(implied)


@dataclass(slots=True)
class OpenApiRegistry:
    """The routes an app documents; the document is built once, after the last route is added."""

    routes: list[RouteDoc] = field(default_factory=list)
    _document: dict[str, Any] | None = None

    def add(self, *docs: RouteDoc) -> None:
        """Document more routes; a method and path may be documented once."""
        known = {(doc.method, doc.path) for doc in self.routes}
        for doc in docs:
            if (doc.method, doc.path) in known:
                raise ValueError(f"{doc.method} {doc.path} is documented twice")
            known.add((doc.method, doc.path))
            self.routes.append(doc)
        self._document = None

    def document(self) -> dict[str, Any]:
        """The OpenAPI document of every route added so far."""
        if self._document is None:
            self._document = build_document(self.routes)
        return self._document


OPENAPI = web.AppKey("openapi", OpenApiRegistry)


def document(app: web.Application, *docs: RouteDoc) -> None:
    """Add routes to `app`'s OpenAPI document (call it where the routes are added)."""
    if OPENAPI not in app:
        app[OPENAPI] = OpenApiRegistry()
    app[OPENAPI].add(*docs)


def undocumented_routes(app: web.Application) -> list[str]:
    """`METHOD path` of every route of `app` the document lacks (HEAD twins of GETs aside)."""
    documented = (
        {(doc.method, doc.path) for doc in app[OPENAPI].routes} if OPENAPI in app else set()
    )
    missing = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and (route.method, path) not in documented:
            missing.append(f"{route.method} {path}")
    return missing


def _content(model: type[BaseModel] | None, content_type: str, example: Any) -> dict[str, Any]:
    media: dict[str, Any] = {}
    if model is not None:
        media["schema"] = {"$ref": SCHEMAS + model.__name__}
    elif content_type == "application/json":
        media["schema"] = {"type": "object"}
    else:
        media["schema"] = {"type": "string"}
    if example is not None:
        media["example"] = example
    return {content_type: media}


def _path_parameter(name: str) -> dict[str, Any]:
    """A path parameter: the ids are UUIDs; a court link's token is an opaque string."""
    if name == "token":
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": "A signed court-link token: two base64url parts joined by a dot.",
            "schema": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
                "maxLength": 2000,
            },
        }
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": "A UUID.",
        "schema": {"type": "string", "format": "uuid"},
    }


def _operation(doc: RouteDoc) -> dict[str, Any]:
    roles = sorted(role.value for role in doc.roles or ())
    who = ", ".join(roles) if doc.roles is not None else "anyone, no token"
    description = f"**Roles:** {who}." + (f"\n\n{doc.description}" if doc.description else "")
    responses: dict[str, Any] = {
        str(doc.success): {
            "description": STATUS_TEXT.get(doc.success, "Success"),
            "content": _content(doc.response_model, doc.content_type, doc.response_example),
        }
    }
    for status in doc.error_statuses():
        model = doc.answers.get(status, ErrorAnswer)
        schema: dict[str, Any] = (
            {"$ref": SCHEMAS + model.__name__}
            if doc.error_content_type == "application/json"
            else {"type": "string"}
        )
        content = {doc.error_content_type: {"schema": schema}}
        if status == 400 and doc.error_content_type != "application/json":
            # An address too long to read is refused by the HTTP parser itself, in plain text.
            content["text/plain"] = {"schema": {"type": "string"}}
        responses[str(status)] = {
            "description": STATUS_TEXT.get(status, "Error"),
            "content": content,
        }
    operation: dict[str, Any] = {
        "operationId": doc.operation_id,
        "summary": doc.summary,
        "description": description,
        "tags": [doc.tag],
        "security": [] if doc.roles is None else [{"bearer": []}],
        "x-roles": roles,
        "responses": responses,
    }
    parameters = [_path_parameter(name) for name in re.findall(r"{(\w+)}", doc.path)]
    if parameters:
        operation["parameters"] = parameters
    if doc.request_model is not None:
        operation["requestBody"] = {
            "required": True,
            "content": _content(doc.request_model, "application/json", doc.request_example),
        }
    return operation


def build_document(routes: Sequence[RouteDoc]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`, in reading order."""
    paths: dict[str, dict[str, Any]] = {}
    for doc in reading_order(routes):
        paths.setdefault(doc.path, {})[doc.method.lower()] = _operation(doc)
    try:
        version = metadata.version("homeward")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Homeward",
            "version": version,
            "summary": "Coordinating rescue operations against human trafficking.",
            "description": "JSON bodies; `Authorization: Bearer TOKEN` on every `/v1` call; "
            'errors are `{"error": CODE, "detail": TEXT}`.',
        },
        "tags": [
            {"name": tag, "description": TAGS[tag]} if tag in TAGS else {"name": tag}
            for tag in tag_order(routes)
        ],
        "paths": paths,
        "components": {
            "schemas": component_schemas(routes),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI document (no token needed)."""
    response = web.json_response(request.app[OPENAPI].document())
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def docs_page(request: web.Request) -> web.Response:
    """The documentation page, rendered on the server from the OpenAPI document."""
    registry = request.app[OPENAPI]
    order = [doc.operation_id for doc in reading_order(registry.routes)]
    page = render_docs(registry.document(), order)
    return web.Response(text=page.html, content_type="text/html", headers=security_headers(page))


def setup_openapi_routes(app: web.Application) -> None:
    """Serve the document and its page."""
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs_page)
