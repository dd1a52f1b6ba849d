"""The JSON schemas of the OpenAPI document: every model the routes and the event catalogue use,
and the event request as one variant per event type (a `type` discriminator)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from coordinator.http.answers import ErrorAnswer
from coordinator.service.commands import EventRequest
from events.catalogue import EVENT_TYPES, EventType

if TYPE_CHECKING:
    from coordinator.http.openapi import RouteDoc

SCHEMAS: Final = "#/components/schemas/"


def _event_request_variants(schemas: dict[str, Any]) -> dict[str, Any]:
    """`EventRequest` as a oneOf over the catalogue, discriminated by `type`."""
    base = schemas["EventRequest"]
    mapping = {}
    for name in EVENT_TYPES:
        variant = json.loads(json.dumps(base))
        variant["title"] = f"EventRequest.{name}"
        variant["properties"]["type"] = {"type": "string", "const": name}
        variant["properties"]["data"] = {"$ref": SCHEMAS + name}
        schemas[f"EventRequest.{name}"] = variant
        mapping[name] = SCHEMAS + f"EventRequest.{name}"
    return {
        "title": "EventRequest",
        "description": base.get("description", ""),
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }


def component_schemas(routes: Sequence[RouteDoc]) -> dict[str, Any]:
    """The JSON schemas of every model the routes and the event catalogue use, by name."""
    models: list[tuple[type[BaseModel], Any]] = [(ErrorAnswer, "serialization")]
    models += [(model, "validation") for model in EVENT_TYPES.values()]
    models += [(EventRequest, "validation")]
    for doc in routes:
        if doc.request_model is not None:
            models.append((doc.request_model, "validation"))
        if doc.response_model is not None:
            models.append((doc.response_model, "serialization"))
        models += [(model, "serialization") for model in doc.answers.values()]
    _, top = models_json_schema(list(dict.fromkeys(models)), ref_template=SCHEMAS + "{model}")
    schemas: dict[str, Any] = top.get("$defs", {})
    schemas["EventRequest"] = _event_request_variants(schemas)
    if "OpenOperationRequest" in schemas:
        schemas["OpenOperationRequest"]["properties"]["data"] = {
            "$ref": SCHEMAS + EventType.CASE_REPORTED
        }
    return schemas
