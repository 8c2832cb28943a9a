"""The HTML page of a report: sections, tables and figures, plotly.js inlined once.

Why by hand rather than a template engine: a report is a handful of blocks, and the
one thing that matters — every chart drawn from one inlined copy of plotly.js, with no
request leaving the file — is easiest to see and to keep in a few lines.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

__all__ = ["Page", "code", "table"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;
color:#1d2330;padding:0 16px}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #dde2ea}
h3{font-size:1.05em;margin-top:1.4em}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0;display:block;overflow-x:auto}
th,td{border:1px solid #dde2ea;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f3f5f9}td.t{text-align:left}
pre{background:#f6f8fa;padding:10px;font-size:.85em;overflow-x:auto}
.chart{margin:14px 0}.meta{color:#667}
"""


class Page:
    """Blocks in order; :meth:`write` renders them into one self-contained file."""

    def __init__(self, title: str):
        self.title = title
        self.blocks: list[str] = []
        self.figures = 0

    def heading(self, text: str) -> None:
        self.blocks.append(f"<h3>{html.escape(text)}</h3>")

    def paragraph(self, text: str) -> None:
        self.blocks.append(f"<p>{html.escape(text)}</p>")

    def section(self, title: str, body_html: str) -> None:
        self.blocks.append(f"<h2>{html.escape(title)}</h2>\n{body_html}")

    def figure(self, fig: go.Figure) -> None:
        """A chart: its JSON and a call to the page's one plotly.js."""
        self.figures += 1
        div = f"chart-{self.figures}"
        spec = fig.to_json()
        self.blocks.append(f'<div class="chart" id="{div}"></div>\n<script>(function(){{var f={spec};'
                           f'Plotly.newPlot("{div}",f.data,f.layout,{{responsive:true}});}})();</script>')

    def render(self) -> str:
        from plotly.offline import get_plotlyjs  # the bundled, minified library: no CDN

        head = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style>"
                f"<script>{get_plotlyjs()}</script></head><body>")
        meta = f'<p class="meta">llmteams_lab report · {self.figures} interactive chart(s) · opens offline</p>'
        return "\n".join([head, f"<h1>{html.escape(self.title)}</h1>", meta, *self.blocks, "</body></html>"])

    def write(self, out: str | os.PathLike) -> Path:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path


def table(frame: pl.DataFrame, *, max_rows: int = 500, digits: int = 3) -> str:
    """``frame`` as an HTML table (numbers right-aligned, floats rounded; at most ``max_rows``)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.head(max_rows).iter_rows():
        cells = []
        for value in row:
            text_cell = isinstance(value, str)
            shown = f"{value:,.{digits}f}" if isinstance(value, float) else "" if value is None else value
            cells.append(f"<td{' class=t' if text_cell else ''}>{html.escape(str(shown))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class=meta>… {frame.height - max_rows:,} more rows</p>" if frame.height > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def code(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


