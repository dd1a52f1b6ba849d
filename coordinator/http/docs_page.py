"""The `/docs` page: the OpenAPI document rendered on the server as one self-contained page.

No script and no network: the page is HTML and one inline stylesheet, allowed by its hash in a
Content-Security-Policy that forbids everything else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

STYLE: Final = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:68rem;padding:1rem 2rem;
color:#1d1d1f}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}h3{margin:0}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f5f5f7;padding:.75rem;overflow:auto}
section.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.75rem 1rem}
.m{display:inline-block;min-width:3.5rem;font-weight:bold;color:#fff;text-align:center;
border-radius:4px;padding:0 .4rem;margin-right:.5rem}
.get{background:#1f6feb}.post{background:#238636}.delete{background:#cf222e}.put{background:#9a6700}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:left;vertical-align:top}
.roles{color:#555}nav a{margin-right:1rem}
"""

STYLE_HASH: Final = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

SCHEMA_PREFIX: Final = "#/components/schemas/"

_CONSTRAINTS: Final = (
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "default",
)


@dataclass(frozen=True, slots=True)
class DocsPage:
    """The rendered page."""

    html: str


def security_headers(_page: DocsPage) -> dict[str, str]:
    """Headers that keep the page inert: only its own stylesheet may apply, nothing may load."""
    policy = (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-cache",
    }


def _prose(text: str) -> str:
    """Escape text, then show `code` and **bold** as the document's markdown means them."""
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    return html.replace("\n\n", "<br><br>")


def _anchor(name: str, kind: str = "schema") -> str:
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def _type_html(schema: dict[str, Any]) -> str:
    """A schema's type as a short phrase, with links to named schemas."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(SCHEMA_PREFIX)
        return f'<a href="#{_anchor(name)}">{escape(name)}</a>'
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type_html(part) for part in schema[key])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return "array of " + _type_html(schema.get("items", {}))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "object of " + _type_html(schema["additionalProperties"])
    return escape(str(kind))


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    for part in [schema, *schema.get("anyOf", [])]:
        for key in _CONSTRAINTS:
            if key in part:
                parts.append(f"{key} <code>{escape(json.dumps(part[key]))}</code>")
    return ", ".join(dict.fromkeys(parts))


def _schema_section(name: str, schema: dict[str, Any]) -> str:
    rows = [f'<h3 id="{_anchor(name)}">{escape(name)}</h3>']
    if schema.get("description"):
        rows.append(f"<p>{_prose(str(schema['description']))}</p>")
    if "oneOf" in schema:
        rows.append(f"<p>One of: {_type_html(schema)}</p>")
    elif "enum" in schema:
        rows.append(f"<p>{_type_html(schema)}</p>")
    elif "properties" in schema:
        required = set(schema.get("required", []))
        rows.append(
            "<table><tr><th>field</th><th>type</th><th>required</th><th>constraints</th>"
            "<th>about</th></tr>"
        )
        for field, spec in schema["properties"].items():
            rows.append(
                f"<tr><td><code>{escape(field)}</code></td><td>{_type_html(spec)}</td>"
                f"<td>{'yes' if field in required else ''}</td><td>{_constraints(spec)}</td>"
                f"<td>{_prose(str(spec.get('description', '')))}</td></tr>"
            )
        rows.append("</table>")
        if schema.get("additionalProperties") is True:
            rows.append("<p>Fields not shown are allowed.</p>")
    else:
        rows.append(f"<p>{_type_html(schema)}</p>")
    return "\n".join(rows)


def _example(media: dict[str, Any]) -> str:
    if "example" not in media:
        return ""
    text = json.dumps(media["example"], indent=2, ensure_ascii=False)
    return f"<p>Example:</p><pre>{escape(text)}</pre>"


def _operation_section(method: str, path: str, operation: dict[str, Any]) -> str:
    parts = [
        f'<section class="op" id="{escape(operation["operationId"])}">',
        f'<h3><span class="m {escape(method)}">{escape(method.upper())}</span>'
        f"<code>{escape(path)}</code></h3>",
        f"<p>{_prose(operation.get('summary', ''))}</p>",
        f'<p class="roles">{_prose(operation.get("description", ""))}</p>',
    ]
    body = operation.get("requestBody")
    if body:
        for content_type, media in body["content"].items():
            parts.append(
                f"<p>Request body ({escape(content_type)}): {_type_html(media['schema'])}</p>"
            )
            parts.append(_example(media))
    parts.append("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>")
    examples = []
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        shapes = ", ".join(
            f"{_type_html(media.get('schema', {}))} ({escape(kind)})"
            for kind, media in content.items()
        )
        parts.append(
            f"<tr><td>{escape(status)}</td><td>{_prose(response['description'])}</td>"
            f"<td>{shapes}</td></tr>"
        )
        examples += [_example(media) for media in content.values()]
    parts.append("</table>")
    parts += [example for example in examples if example]
    parts.append("</section>")
    return "\n".join(parts)


def _endpoints(document: dict[str, Any], order: Sequence[str]) -> list[str]:
    """The operations by tag, in the document's tag order, each tag's in `order` (operationIds;
    the paths' order groups a path's methods together, which would put listing operations
    between opening one and appending to it)."""
    operations = [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    tags = [tag["name"] for tag in document.get("tags", [])]
    tags += [tag for _, _, op in operations for tag in op.get("tags", []) if tag not in tags]
    described = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    position = {operation_id: index for index, operation_id in enumerate(order)}

    def rank(item: tuple[str, str, dict[str, Any]]) -> tuple[int, int]:
        operation = item[2]
        tag = (operation.get("tags") or [""])[0]
        tag_rank = tags.index(tag) if tag in tags else len(tags)
        return tag_rank, position.get(operation["operationId"], len(position))

    sections: list[str] = []
    current = None
    for method, path, operation in sorted(operations, key=rank):
        tag = (operation.get("tags") or [""])[0]
        if tag != current:
            current = tag
            sections.append(
                f'<h2 id="{_anchor(tag, "tag")}">{escape(tag)}</h2>'
                f"<p>{_prose(described.get(tag, ''))}</p>"
            )
        sections.append(_operation_section(method, path, operation))
    return sections


def render_docs(document: dict[str, Any], order: Sequence[str] = ()) -> DocsPage:
    """The documentation page of an OpenAPI document, its operations grouped by tag in the
    document's tag order and, within a tag, in `order` (operationIds) where given."""
    info = document["info"]
    operations = _endpoints(document, order)
    tag_links = "".join(
        f'<a href="#{_anchor(tag["name"], "tag")}">{escape(tag["name"])}</a>'
        for tag in document.get("tags", [])
    )
    schemas = [
        _schema_section(name, schema)
        for name, schema in sorted(document["components"]["schemas"].items())
    ]
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(info["title"])} API</title><style>{STYLE}</style></head>
<body>
<h1>{escape(info["title"])} API <small>{escape(info["version"])}</small></h1>
<p>{_prose(info.get("summary", ""))}</p>
<p>{_prose(info.get("description", ""))}</p>
<nav id="endpoints">{tag_links}<a href="#schemas">Schemas</a>
<a href="/openapi.json">openapi.json</a></nav>
{"".join(operations)}
<h2 id="schemas">Schemas</h2>
{"".join(schemas)}
</body></html>
"""
    return DocsPage(html=html)
