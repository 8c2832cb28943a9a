"""Exporting a lab's run from the page: the event log, the spec and the figures, as files.

Why files next to the notebook: a teacher hands them out, a researcher diffs them or
loads them elsewhere — ``events.parquet`` / ``events.jsonl`` (the one event schema, every
event so far: a run in progress loses nothing), ``spec.toml`` (with live-injected faults
folded in as scheduled ones, so running it reproduces the run), ``figures.html`` (both
live figures, interactive, plotly.js embedded once so it opens offline) and one PNG per
figure. A PNG is drawn by the page itself (``Plotly.toImage`` in the plot's view, sent
back to the kernel), so it needs no extra package — and needs the plot on screen.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from pathlib import Path
from typing import Any, Callable, Sequence

import ipywidgets as w
import plotly.graph_objects as go
import plotly.io as pio

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics import events_frame
from llmteams_lab.ui.forking import recorded_spec
from llmteams_lab.ui.plot_view import PlotView, _plotly_source

__all__ = ["ExportPanel", "decode_png", "export_events", "export_figures_html", "export_folder", "export_png", "export_spec"]

PNG_TIMEOUT_S = 15.0


def export_folder(root: Path | str, run_id: str) -> Path:
    """``root/<run id>`` (characters a file system may refuse replaced), created."""
    folder = Path(root) / re.sub(r"[^A-Za-z0-9._@~+-]", "_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def export_events(events: Sequence[Any], folder: Path) -> list[Path]:
    """``events.parquet`` and ``events.jsonl`` (one JSON object per event, in order)."""
    parquet, jsonl = folder / "events.parquet", folder / "events.jsonl"
    events_frame(events).write_parquet(parquet)
    with jsonl.open("w", encoding="utf-8") as f:
        for e in events:
            f.write(e.to_json() + "\n")
    return [parquet, jsonl]


def export_spec(events: Sequence[Any], fallback: Any, folder: Path) -> list[Path]:
    """``spec.toml``: the run's spec with its live faults scheduled."""
    path = folder / "spec.toml"
    path.write_text(recorded_spec(events, fallback).to_toml(), encoding="utf-8")
    return [path]


def export_figures_html(views: Sequence[PlotView], folder: Path) -> list[Path]:
    """``figures.html``: every figure, interactive; plotly.js embedded once."""
    parts = [pio.to_html(go.Figure(v.figure), include_plotlyjs=False, full_html=False) for v in views]
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>llmteams lab figures</title>"
            f"<script>{_plotly_source()}</script></head><body>" + "".join(parts) + "</body></html>")
    path = folder / "figures.html"
    path.write_text(page, encoding="utf-8")
    return [path]


async def export_png(view: PlotView, path: Path, *, timeout: float = PNG_TIMEOUT_S) -> Path:
    """Ask the page to draw ``view`` as a PNG and write it to ``path``."""
    data = await view.to_png(timeout=timeout)
    path.write_bytes(data)
    return path


def _slug(view: PlotView, i: int) -> str:
    title = (view.figure.get("layout", {}).get("title") or {})
    text = title.get("text", "") if isinstance(title, dict) else str(title)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or f"figure_{i}"


class ExportPanel(w.HBox):
    """Three buttons — event log, spec, figures — and the files they wrote, as links."""

    def __init__(self, source: Callable[[], tuple[Sequence[Any], Any, str, Sequence[PlotView]]],
                 spawn: Callable[[Any], Any], report: Callable[[BaseException], None], root: str | Path = "exports",
                 call: Callable[..., None] | None = None):
        self._source, self._spawn, self._report = source, spawn, report
        self._call = call or (lambda fn, *args: fn(*args))  # how a click reaches _clicked (see ui.home)
        self.root = Path(root)
        self.buttons = {name: w.Button(description=label, icon="download", tooltip=tip,
                                       layout=w.Layout(width="auto"))
                        for name, label, tip in (
                            ("events", "Event log", "events.parquet and events.jsonl (every event so far)"),
                            ("spec", "Spec", "spec.toml (live faults folded in: re-running it reproduces the run)"),
                            ("figures", "Figures", "figures.html (interactive) and a PNG per figure"))}
        for name, button in self.buttons.items():
            button.add_class(f"ltl-export-{name}")
            button.on_click(lambda _b, what=name: self._call(self._clicked, what))
        self.written = w.HTML()
        self.written.add_class("ltl-exported")
        self.files: list[Path] = []
        super().__init__(children=[w.HTML("<b>Export</b>"), *self.buttons.values(), self.written])
        self.add_class("ltl-export")

    def _clicked(self, what: str) -> None:
        try:
            events, spec, run_id, views = self._source()
            folder = export_folder(self.root, run_id)
            if what == "events":
                self._show(export_events(events, folder))
            elif what == "spec":
                self._show(export_spec(events, spec, folder))
            elif what == "figures":
                paths = export_figures_html(views, folder)
                self._show(paths)
                self._spawn(self._pngs(views, folder, paths))
            else:
                raise ArgumentError("what", "must be events, spec or figures", what)
        except Exception as err:
            self.written.value = f"<span class='ltl-invalid-text'>{escape(str(err))}</span>"
            self._report(err)

    async def _pngs(self, views: Sequence[PlotView], folder: Path, done: list[Path]) -> None:
        paths = list(done)
        for i, view in enumerate(views):
            paths.append(await export_png(view, folder / f"{_slug(view, i)}.png"))
            self._show(paths)

    def _show(self, paths: list[Path]) -> None:
        """List every file written so far for this run (newest click last)."""
        if self.files and self.files[0].parent != paths[0].parent:
            self.files = []
        self.files = list(dict.fromkeys([*self.files, *paths]))
        paths = self.files
        links = " · ".join(f"<a href='{escape(p.as_posix())}' download data-path='{escape(p.as_posix())}'>"
                           f"{escape(p.name)}</a>" for p in paths)
        self.written.value = f"wrote {links} in <code>{escape(paths[0].parent.as_posix())}</code>" if paths else ""

    def paths_json(self) -> str:
        return json.dumps([p.as_posix() for p in self.files])


def decode_png(data_url: str) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URL (what the page sends)."""
    head, _, body = data_url.partition(",")
    if not head.startswith("data:image/png;base64"):
        raise ArgumentError("image", "must be a PNG data URL", head[:40])
    return base64.b64decode(body)

