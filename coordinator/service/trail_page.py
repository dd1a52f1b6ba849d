"""The printable audit trail: a prosecution bundle as one self-contained page for a court file.

It shows who recorded what, when it happened and when it was recorded, each correction beside
the event it corrects, and the hashes, checkpoint and stream head a reader can match against the
JSON bundle. Every value is escaped; the page has no script and loads nothing, and its headers
forbid everything but its own inline stylesheet.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any, Final

from events.catalogue import EventType

STYLE: Final = """
body{font:13px/1.45 Georgia,serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#111}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #999;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}
dt{font-weight:bold}dd{margin:0}code,pre{font:11px/1.35 ui-monospace,monospace}
pre{white-space:pre-wrap;word-break:break-word;margin:0}.hash{word-break:break-all}
.correction{background:#fff6dd}.corrected{background:#f3f3f3}.note{font-style:italic}
@media print{body{padding:0;max-width:none}tr{break-inside:avoid}th{background:#ddd}}
"""
STYLE_HASH: Final = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

HEADERS: Final = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _text(value: Any) -> str:
    return escape(str(value), quote=True)


def _when(stamp: str) -> str:
    """`2026-10-01T02:00:00.000000Z` as `2026-10-01 02:00:00.000000 UTC`."""
    return _text(stamp.replace("T", " ").removesuffix("Z") + " UTC")


def _facts(pairs: list[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{_text(name)}</dt><dd>{value}</dd>" for name, value in pairs)
    return f"<dl>{rows}</dl>"


def _correction_cell(event: dict[str, Any], by_id: dict[str, dict[str, Any]], index: Any) -> str:
    notes = []
    target = (
        event["data"].get("corrects_event_id")
        if event["type"] == EventType.EVENT_CORRECTED
        else None
    )
    if isinstance(target, str):
        original = by_id.get(target)
        where = f"version {original['version']}" if original else f"event {target}"
        reason = event["data"].get("reason", "")
        notes.append(f"Corrects {_text(where)}: {_text(reason)}")
    for correcting_id in index.get(event["event_id"], []) if isinstance(index, dict) else []:
        correcting = by_id.get(correcting_id)
        if correcting is not None:
            reason = correcting["data"].get("reason", "")
            notes.append(f"Corrected by version {correcting['version']}: {_text(reason)}")
    return "<br>".join(notes)


def _event_row(event: dict[str, Any], by_id: dict[str, dict[str, Any]], index: Any) -> str:
    metadata = event["metadata"]
    corrected = isinstance(index, dict) and event["event_id"] in index
    css = (
        "correction"
        if event["type"] == EventType.EVENT_CORRECTED
        else "corrected"
        if corrected
        else ""
    )
    who = f"{_text(metadata.get('recorded_by', ''))}<br>({_text(metadata.get('role', ''))})"
    data = _text(json.dumps(event["data"], ensure_ascii=False, indent=1, sort_keys=True))
    cells = (
        _text(event["version"]),
        f"<strong>{_text(event['type'])}</strong><br><code>{_text(event['event_id'])}</code>",
        _when(event["occurred_at"]),
        _when(event["recorded_at"]),
        who,
        f"<code>{_text(metadata.get('request_id', ''))}</code>",
        f"<pre>{data}</pre>",
        _correction_cell(event, by_id, index),
        f"<code class=hash>{_text(event['hash'])}</code>",
    )
    return f"<tr class='{css}'>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def render_trail(bundle: dict[str, Any]) -> str:
    """The bundle as a printable HTML page."""
    events: list[dict[str, Any]] = bundle["events"]
    by_id = {event["event_id"]: event for event in events}
    checkpoint = bundle["checkpoint"]["checkpoint"]
    head = bundle["stream_head"]["head"]
    index = bundle.get("corrections", {})
    summary = _facts(
        [
            ("Operation", f"<code>{_text(bundle['operation_id'])}</code>"),
            ("Exported", _when(bundle["exported_at"])),
            ("Events", _text(len(events))),
            ("Last event (signed head)", f"version {_text(head['version'])}"),
            ("Head hash", f"<code class=hash>{_text(head['head_hash'])}</code>"),
            ("Merkle log size", f"{_text(checkpoint['tree_size'])} events"),
            ("Merkle root", f"<code class=hash>{_text(checkpoint['root_hash'])}</code>"),
            ("Checkpoint signed", _when(checkpoint["timestamp"])),
            ("Signing key id", f"<code>{_text(checkpoint['key_id'])}</code>"),
        ]
    )
    keys = _facts(
        [
            (key_id, f"<code class=hash>{_text(record.get('public_key', ''))}</code>")
            for key_id, record in sorted(bundle["public_keys"].items())
        ]
    )
    header = (
        "<tr><th>Version</th><th>Event</th><th>Happened (field)</th><th>Recorded (server)</th>"
        "<th>Recorded by</th><th>Request</th><th>What was recorded</th><th>Corrections</th>"
        "<th>Hash</th></tr>"
    )
    rows = "".join(_event_row(event, by_id, index) for event in events)
    title = f"Audit trail of operation {_text(bundle['operation_id'])}"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<h1>{title}</h1>{summary}"
        f"<h2>What this record proves</h2><p>{_text(bundle['statement'])}</p>"
        "<p class=note>This page is a reading copy. The JSON export of the same trail is the "
        "evidence file: <code>coordinator audit verify FILE</code> checks it offline.</p>"
        f"<h2>Events, in the order recorded</h2><table>{header}{rows}</table>"
        f"<h2>Public keys (Ed25519, base64)</h2>{keys}</body></html>"
    )
