"""The court page's two framing sections: what was verified (first) and the appendix of hashes
and keys (last), in the page's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coordinator.i18n.catalogues import Catalogue
from coordinator.service.court.fields import text
from coordinator.service.court.times import Clock


def html_message(say: Catalogue, key: str, /, **markup: str) -> str:
    """A message as HTML: its text escaped, then its `{names}` filled with ready markup."""
    return text(say.text(key)).format(**markup) if markup else text(say.text(key))


def checkpoint_of(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    signed = bundle.get("checkpoint")
    inner = signed.get("checkpoint", signed) if isinstance(signed, dict) else {}
    return inner if isinstance(inner, dict) else {}


def verified_section(
    bundle: Mapping[str, Any], streams: list[Any], clock: Clock, say: Catalogue
) -> str:
    checkpoint = checkpoint_of(bundle)
    count = sum(len(events) for _, _, events, _ in streams)
    signed_at = clock.text(str(checkpoint.get("timestamp", "")), seconds=True)
    heads = [
        say.text("court.version", version=head["head"].get("version"))
        for _, _, _, head in streams
        if isinstance(head, dict) and isinstance(head.get("head"), dict)
    ]
    exported = clock.text(str(bundle.get("exported_at", "")), seconds=True)

    def item(name: str, **markup: str) -> str:
        return (
            f"<li><strong>{html_message(say, f'court.{name}_label')}</strong> "
            f"{html_message(say, f'court.{name}', **markup)}</li>"
        )

    command = "<code>coordinator audit verify FILE --keys KEYS</code>"
    return (
        f"<section class=verified><h2>{html_message(say, 'court.verified_heading')}</h2>"
        f"<p>{html_message(say, 'court.verified_intro', when=text(exported))}</p><ul>"
        + item("chain", count=text(count))
        + item("proofs", size=text(checkpoint.get("tree_size", "?")))
        + item(
            "signature",
            key=f"<code>{text(checkpoint.get('key_id', '?'))}</code>",
            when=text(signed_at),
        )
        + item("last", heads=text(", ".join(heads)))
        + f"</ul><p class=note>{html_message(say, 'court.note', command=command)}</p></section>"
    )


_BACKTICKED = re.compile(r"`([^`]*)`")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def _public_key(record: object) -> str:
    return str(record.get("public_key", "")) if isinstance(record, dict) else ""


def appendix_section(
    bundle: Mapping[str, Any], streams: list[Any], clock: Clock, say: Catalogue
) -> str:
    checkpoint = checkpoint_of(bundle)
    rows = "".join(
        f"<tr><td>{text(e['version'])}</td><td class=t>{text(e['type'])}</td>"
        f"<td>{text(e['event_id'])}</td><td>{text(e.get('hash', ''))}</td>"
        f"<td>{text(e.get('leaf_index', ''))}</td></tr>"
        for _, _, events, _ in streams
        for e in events
    )
    keys = bundle.get("public_keys")
    keys = keys if isinstance(keys, dict) else {}
    key_rows = "".join(
        f"<tr><td colspan=2>{text(key_id)}</td><td colspan=3>{text(_public_key(record))}</td></tr>"
        for key_id, record in sorted(keys.items())
    )
    statement = _STAMP.sub(
        lambda found: clock.text(found.group(), seconds=True), str(bundle.get("statement", ""))
    )
    statement = _BACKTICKED.sub(r"<code>\1</code>", text(statement))

    def th(key: str) -> str:
        return html_message(say, f"court.th_{key}")

    root = html_message(say, "court.root", size=text(checkpoint.get("tree_size", "?")))
    return (
        f"<section class=appendix><h2>{html_message(say, 'court.appendix_heading')}</h2>"
        f"<p class=note>{root} <code>{text(checkpoint.get('root_hash', ''))}</code></p>"
        "<table><colgroup><col class=v><col class=t><col class=i><col><col class=l></colgroup>"
        f"<tr><th>{th('version')}</th><th class=t>{th('type')}</th><th>{th('event_id')}</th>"
        f"<th>{th('hash')}</th><th>{th('leaf')}</th></tr>{rows}"
        f"<tr><th colspan=2>{th('key_id')}</th><th colspan=3>{th('public_key')}</th>"
        f"</tr>{key_rows}</table>"
        f"<h3>{html_message(say, 'court.proves_heading')}</h3>"
        f"<p class=note>{statement}</p></section>"
    )
