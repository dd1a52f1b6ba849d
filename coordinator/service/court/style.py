"""The court page's stylesheet (A4 print and a phone), and the headers that allow it alone:
no script, nothing loaded, the page framed by nobody."""

from __future__ import annotations

import base64
import hashlib
from typing import Final

STYLE: Final = """
@page{size:A4;margin:11mm 12mm}
*{box-sizing:border-box}html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font:15px/1.45 Georgia,"Times New Roman",serif;color:#111;margin:0 auto;max-width:54rem;
padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.1rem 0 .3rem;
border-bottom:1px solid #888}h3{font-size:1rem;margin:.8rem 0 .2rem}
p{margin:.2rem 0}.lede{color:#333}
.verified{border:2px solid #2a6a3a;padding:.4rem .8rem;margin:.6rem 0}
.verified ul{margin:.2rem 0;padding-left:1.2rem}
article{border-top:1px solid #ccc;padding:.35rem 0 .3rem}
.n{font:bold .8em ui-monospace,monospace;color:#555;margin-right:.25rem}
dl{margin:.1rem 0 0;display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));
gap:0 1rem;font-size:.86em;color:#222}
dl div{display:flex;gap:.35rem;min-width:0}dt{color:#555;white-space:nowrap}
dt::after{content:":"}dd{margin:0;min-width:0;overflow-wrap:anywhere}
dd dl{display:flex;flex-wrap:wrap;gap:0 .8rem;font-size:1em;margin:0}
ol{margin:0;padding-left:1.1rem}
.fix{border-left:4px solid #b70;background:#fff4d6;padding:.2rem .6rem;margin:.3rem 0 0}
.correction{background:#fffaf0}.erased{color:#a00}
table{border-collapse:collapse;width:100%;table-layout:fixed;
font:9.5px/1.3 ui-monospace,Menlo,Consolas,monospace}
th,td{border:1px solid #bbb;padding:.1rem .25rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}th{background:#eee}
col.v{width:2.6em}col.t{width:19%}col.i{width:30%}col.l{width:3.6em}
code{font:.85em ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.note{font-size:.86em;color:#333}
@media print{body{font-size:9.5pt;line-height:1.3;max-width:none;padding:0}
article{break-inside:avoid}h2,h3{break-after:avoid}.fix{background:none}
dl{grid-template-columns:repeat(3,1fr)}.appendix{break-before:page}}
@media (max-width:34rem){body{font-size:16px;padding:.6rem}dl{grid-template-columns:1fr}
col.t{width:0}.t{display:none}table{font-size:9px}}
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
