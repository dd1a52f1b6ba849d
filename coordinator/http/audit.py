"""Handlers of the audit API (legal and admin only): trails, checkpoints and the signing keys."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from coordinator.errors import (
    AuditLogBehind,
    BadRequest,
    Forbidden,
    NotFound,
    RecordTampered,
    SigningKeyUnknown,
)
from coordinator.http.access import LEGAL_AND_ADMIN, authorise
from coordinator.http.app_keys import POOL, SETTINGS, STORE
from coordinator.http.audit_docs import AUDIT_ROUTE_DOCS
from coordinator.http.audit_log import AUDIT_LOG
from coordinator.http.openapi import document
from coordinator.http.operations import operation_id_in
from coordinator.http.read_log import log_read
from coordinator.service.access_log import Read, entry_view, read_access_log
from coordinator.service.court.style import HEADERS
from coordinator.service.streams import refuse_other_kind
from coordinator.service.trail_page import render_trail
from events.catalogue import StreamKind
from events.verifier.consistency import CONSISTENCY_FORMAT
from events.verifier.cosignature import read_witness_keys
from events.verifier.signed_note import ED25519, NoteRejected, verifier_key
from evidence import export as exporter
from evidence.access_export import NothingAnchored, export_access_log
from evidence.bundle import build_consistency
from evidence.bundle_parts import BundleError
from evidence.checkpoint_note import (
    NoTrustedWitness,
    UnknownCheckpoint,
    add_cosignatures,
    cosigned_note,
    log_origin,
)
from evidence.keyring import SigningKeyring
from evidence.log_forensics import StoredLeafChanged, check_stored_leaves, which_leaves_changed
from evidence.merkle_log import LogInconsistent, latest_checkpoint

log = structlog.get_logger(__name__)

# Audit answers are evidence about a person's case: never kept by a shared cache.
NO_STORE = {"Cache-Control": "no-store"}


def _json(document: Any) -> web.Response:
    return web.json_response(document, headers=NO_STORE)


def _size(request: web.Request, name: str, largest: int) -> int:
    text = request.query[name]
    # ASCII digits only ("²".isdigit() is true), and few enough that int() cannot refuse them.
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) > largest:
        raise BadRequest(f"{name} is a number from 0 to {largest}")
    return int(text)


def as_of_in(request: web.Request) -> datetime | None:
    """`?as_of=TIME`, an ISO 8601 time with a zone; None without it; BadRequest if it is not."""
    text = request.query.get("as_of")
    if text is None:
        return None
    # An unescaped "+" of a zone arrives as a space: put it back.
    for written in (text, text[::-1].replace(" ", "+", 1)[::-1]):
        try:
            moment = datetime.fromisoformat(written)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return moment
    raise BadRequest("as_of is an ISO 8601 time with a zone, such as 2025-02-03T10:00:00+07:00")


async def export_trail(
    request: web.Request, operation_id: uuid.UUID, as_of: datetime | None = None
) -> dict[str, Any]:
    """The operation's verified prosecution bundle (as known at `as_of`, if given), or the error
    that says why there is none."""
    audit_log = request.app[AUDIT_LOG]
    return await exported(
        operation_id,
        exporter.export_bundle(
            request.app[POOL],
            audit_log.integrator,
            operation_id,
            wait_seconds=request.app[SETTINGS].audit_wait_seconds,
            as_of=as_of,
        ),
    )


async def exported(
    stream_id: uuid.UUID, export: Coroutine[Any, Any, dict[str, Any]]
) -> dict[str, Any]:
    """The bundle `export` builds, with its failures answered as the HTTP contract says."""
    try:
        return await export
    except exporter.NothingRecordedAsOf as error:
        raise NotFound(str(error)) from error
    except exporter.OperationNotFound as error:
        raise NotFound(f"{stream_id} does not exist") from error
    except exporter.NoCheckpointAsOf as error:
        raise NotFound(str(error)) from error
    except exporter.LogBehind as error:
        raise AuditLogBehind(str(error)) from error
    except exporter.KeyringMismatch as error:
        log.error("signing_key_unknown")  # noqa: TRY400  a setup error, not a bug
        raise SigningKeyUnknown(str(error)) from error
    except exporter.RecordTampered as error:
        failure = error.failure
        log.error(  # noqa: TRY400 -- the record failed, not the code: a traceback says nothing
            "record_tampered",
            stream_id=str(stream_id),
            reason=failure.reason.value,
            event_id=failure.event_id,
            version=failure.version,
        )
        raise RecordTampered(f"the stored record does not verify, {error}") from error


async def get_audit_trail(request: web.Request) -> web.Response:
    """The operation's prosecution bundle (JSON), or with `?format=html` a printable page."""
    actor = await authorise(request, LEGAL_AND_ADMIN)
    operation_id = operation_id_in(request)
    page = request.query.get("format", "json")
    if page not in {"json", "html"}:
        raise BadRequest("format is json or html")
    first = await request.app[STORE].read_stream(operation_id, limit=1)
    if first:  # a survivor's case or a prosecution has its own trail, with stubs
        refuse_other_kind(first[0], StreamKind.OPERATION, operation_id, reading=True)
    bundle = await export_trail(request, operation_id, as_of_in(request))
    await log_read(request, actor, operation_id, Read.AUDIT_TRAIL, page)
    if page == "html":
        return web.Response(text=render_trail(bundle), content_type="text/html", headers=HEADERS)
    return _json(bundle)


def _wants_note(request: web.Request) -> bool:
    """`?format=note`, or `Accept: text/plain` without a format: the C2SP signed note."""
    page = request.query.get("format")
    if page not in {None, "json", "note"}:
        raise BadRequest("format is json or note")
    if page is not None:
        return page == "note"
    accepted = request.headers.get("Accept", "")
    return "text/plain" in accepted and "application/json" not in accepted


async def get_checkpoint(request: web.Request) -> web.Response:
    """The latest signed checkpoint; with `?from_size=N`, also the proof it extends size N.
    As a C2SP signed note (with the witnesses' cosignatures) for `?format=note`."""
    await authorise(request, LEGAL_AND_ADMIN)
    wants_note = _wants_note(request)
    audit_log = request.app[AUDIT_LOG]
    async with request.app[POOL].acquire() as connection:
        signed = await latest_checkpoint(connection)
        if signed is None:
            raise NotFound("no checkpoint has been signed yet")
        note = None
        if wants_note:
            note = await cosigned_note(connection, signed.checkpoint.tree_size)
            if note is None:
                raise NotFound("the latest checkpoint was signed before checkpoint notes were")
        if "from_size" not in request.query:
            if note is not None:
                return web.Response(text=note, content_type="text/plain", headers=NO_STORE)
            return _json(signed.to_json())
        old_size = _size(request, "from_size", signed.checkpoint.tree_size)
        try:
            tree = await audit_log.merkle_log.refresh(connection)
            await check_stored_leaves(connection, tree)
            public_keys = await asyncio.to_thread(audit_log.keyring.public_keys)
            consistency = build_consistency(signed, old_size, tree, public_keys)
            if note is not None:
                # The body of a C2SP tlog-witness add-checkpoint request: old size, proof, note.
                proof = consistency["consistency"]["proof"]
                lines = [f"old {old_size}", *(base64.b64encode(bytes.fromhex(node)).decode()
                                              for node in proof)]  # fmt: skip
                text = "".join(line + "\n" for line in lines) + "\n" + note
                return web.Response(text=text, content_type="text/plain", headers=NO_STORE)
            assert consistency["format"] == CONSISTENCY_FORMAT  # noqa: S101 -- its one format
            return _json(consistency)
        except (LogInconsistent, StoredLeafChanged, BundleError) as error:
            narrowed = await which_leaves_changed(connection)
            reason = str(error) if narrowed is None else f"{error}; {narrowed}"
            log.error("record_tampered", reason=reason)  # noqa: TRY400  the record, not the code
            raise RecordTampered(f"the stored Merkle log does not verify, {reason}") from error


async def post_cosignatures(request: web.Request) -> web.Response:
    """A witness's cosignatures on a checkpoint note this log signed, checked and recorded.

    A legal or admin token (the one the witness reads checkpoints with), and only cosignatures
    of keys in the `witness_keys` setting count.
    """
    await authorise(request, LEGAL_AND_ADMIN)
    try:
        witnesses = read_witness_keys("\n".join(request.app[SETTINGS].witness_keys))
    except NoteRejected as error:
        raise Forbidden("this service accepts no witness cosignatures") from error
    try:
        posted = (await request.read()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest("the body is not a UTF-8 signed note") from error
    try:
        async with request.app[POOL].acquire() as connection:
            tree_size, cosigned = await add_cosignatures(connection, posted, witnesses)
    except NoteRejected as error:
        raise BadRequest(f"the cosigned note is refused: {error}") from error
    except UnknownCheckpoint as error:
        raise NotFound(str(error)) from error
    except NoTrustedWitness as error:
        raise Forbidden(str(error)) from error
    log.info("checkpoint_cosigned", tree_size=tree_size, witnesses=[c.witness for c in cosigned])
    return web.json_response(
        {"tree_size": tree_size, "witnesses": sorted(c.witness for c in cosigned)},
        status=201,
        headers=NO_STORE,
    )


def _published_keys(
    keyring: SigningKeyring, origin: str
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The active key id, every key's record marked active or not, and every key's vkey."""
    active, keys = keyring.active_key_id, keyring.public_keys()
    records = {key_id: {**record, "active": key_id == active} for key_id, record in keys.items()}
    vkeys = {
        key_id: verifier_key(origin, ED25519, base64.b64decode(record["public_key"])).vkey()
        for key_id, record in keys.items()
    }
    return active, records, vkeys


async def get_public_keys(request: web.Request) -> web.Response:
    """Every key that ever signed, with its period of use; the one signing now is marked. Also
    the checkpoint notes' origin and each key as a note verifier key (C2SP vkey)."""
    await authorise(request, LEGAL_AND_ADMIN)
    audit_log = request.app[AUDIT_LOG]
    origin = audit_log.integrator.origin or await log_origin(request.app[POOL])
    active, records, vkeys = await asyncio.to_thread(_published_keys, audit_log.keyring, origin)
    return _json({"active_key_id": active, "keys": records, "origin": origin, "vkeys": vkeys})


async def get_access_log(request: web.Request) -> web.Response:
    """Who read what of which operation, and when: the access log, oldest first, paged; with
    `?format=export` all of it with the checkpoint note that anchors it, for an offline check."""
    await authorise(request, LEGAL_AND_ADMIN)
    if request.query.get("format", "page") not in {"page", "export"}:
        raise BadRequest("format is page or export")
    if request.query.get("format") == "export":
        keyring = request.app[AUDIT_LOG].keyring
        public_keys = await asyncio.to_thread(keyring.public_keys)
        try:
            async with request.app[POOL].acquire() as connection:
                return _json(await export_access_log(connection, public_keys))
        except NothingAnchored as error:
            raise NotFound(str(error)) from error
    operation_id = None
    if "operation_id" in request.query:
        try:
            operation_id = uuid.UUID(request.query["operation_id"])
        except ValueError as error:
            raise BadRequest("operation_id is a UUID") from error
    after = _size(request, "after", 2**62) if "after" in request.query else 0
    limit = max(_size(request, "limit", 1000), 1) if "limit" in request.query else 500
    rows = await read_access_log(
        request.app[POOL], operation_id=operation_id, after=after, limit=limit
    )
    return _json(
        {
            "entries": [entry_view(row) for row in rows],
            "next_after": rows[-1]["entry"] if len(rows) == limit else None,
        }
    )


def setup_audit_routes(app: web.Application) -> None:
    """The audit API's routes, documented."""
    app.router.add_get("/v1/operations/{operation_id}/audit-trail", get_audit_trail)
    app.router.add_get("/v1/audit/checkpoint", get_checkpoint)
    app.router.add_post("/v1/audit/checkpoint/cosignatures", post_cosignatures)
    app.router.add_get("/v1/audit/public-key", get_public_keys)
    app.router.add_get("/v1/audit/access-log", get_access_log)
    document(app, *AUDIT_ROUTE_DOCS)
