"""Handlers of the audit API (legal and admin only): checkpoints and the keys that sign them."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from coordinator.auditing import AUDIT_LOG
from coordinator.errors import BadRequest, NotFound
from coordinator.http.access import LEGAL_AND_ADMIN, authorise
from coordinator.http.openapi import RouteDoc, document
from coordinator.keys import POOL
from events.bundle import build_consistency
from events.merkle_log import latest_checkpoint

# Audit answers are evidence about a person's case: never kept by a shared cache.
NO_STORE = {"Cache-Control": "no-store"}


def _json(document: Any) -> web.Response:
    return web.json_response(document, headers=NO_STORE)


def _size(request: web.Request, name: str, largest: int) -> int:
    text = request.query[name]
    if not text.isdigit() or int(text) > largest:
        raise BadRequest(f"{name} is a number of events from 0 to {largest}")
    return int(text)


async def get_checkpoint(request: web.Request) -> web.Response:
    """The latest signed checkpoint; with `?from_size=N`, also the proof it extends size N."""
    await authorise(request, LEGAL_AND_ADMIN)
    audit_log = request.app[AUDIT_LOG]
    async with request.app[POOL].acquire() as connection:
        signed = await latest_checkpoint(connection)
        if signed is None:
            raise NotFound("no checkpoint has been signed yet")
        if "from_size" not in request.query:
            return _json(signed.to_json())
        old_size = _size(request, "from_size", signed.checkpoint.tree_size)
        tree = await audit_log.merkle_log.refresh(connection)
    public_keys = await asyncio.to_thread(audit_log.keyring.public_keys)
    return _json(build_consistency(signed, old_size, tree, public_keys))


async def get_public_keys(request: web.Request) -> web.Response:
    """Every key that ever signed, with its period of use; the one signing now is marked."""
    await authorise(request, LEGAL_AND_ADMIN)
    keyring = request.app[AUDIT_LOG].keyring
    active, keys = await asyncio.to_thread(lambda: (keyring.active_key_id, keyring.public_keys()))
    return _json(
        {
            "active_key_id": active,
            "keys": {
                key_id: {**record, "active": key_id == active} for key_id, record in keys.items()
            },
        }
    )


AUDIT_ROUTE_DOCS = (
    RouteDoc(
        "GET", "/v1/audit/checkpoint", "The latest signed checkpoint of the Merkle log.",
        LEGAL_AND_ADMIN, statuses=(400, 404), tag="audit",
        description="`{checkpoint: {origin, tree_size, root_hash, timestamp, key_id}, signature}`, "
        "Ed25519 over the RFC 8785 form of `checkpoint`. With `?from_size=N`, a "
        "`homeward-consistency/1` document proving this log extends the log of N events "
        "(`coordinator audit verify-consistency OLD NEW` checks it offline).",
    ),
    RouteDoc(
        "GET", "/v1/audit/public-key", "Every key that signed checkpoints; the active one marked.",
        LEGAL_AND_ADMIN, tag="audit",
        description="`{active_key_id, keys: {key_id: {public_key, created_at, retired_at, "
        "active}}}`: raw Ed25519 public keys in base64; a key id is the first 16 hex digits of "
        "SHA-256 over the key. Save it as the `--keys` file of `coordinator audit verify`.",
    ),
)  # fmt: skip


def setup_audit_routes(app: web.Application) -> None:
    """The audit API's routes, documented."""
    app.router.add_get("/v1/audit/checkpoint", get_checkpoint)
    app.router.add_get("/v1/audit/public-key", get_public_keys)
    document(app, *AUDIT_ROUTE_DOCS)
