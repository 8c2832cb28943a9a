"""Export: the event log, the spec and the figures written as files and read back."""

from __future__ import annotations

import json

import polars as pl
import pytest

from llmteams_lab import Run, TeamSpec, team
from llmteams_lab.errors import PlotRenderError
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui import Lab
from llmteams_lab.ui.export import export_png
from tests.support import aio, no_stop
from tests.ui.helpers import until


@aio
async def test_export_buttons_write_readable_files(tmp_path):
    lab = Lab(no_stop(team(5, seed=3, max_rounds=6)))
    lab.export.root = tmp_path
    await lab.step()
    lab.inject(FaultSpec(kind="crash", agent="a1"))
    await lab.step()
    for name in ("events", "spec", "figures"):
        lab.export.buttons[name].click()
    folder = tmp_path / lab.controller.run.run_id
    frame = pl.read_parquet(folder / "events.parquet")
    assert frame.equals(lab.events)
    lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["kind"] for x in lines] == lab.events["kind"].to_list()
    spec = TeamSpec.from_toml((folder / "spec.toml").read_text(encoding="utf-8"))
    assert [f.kind for f in spec.faults] == ["crash"], "the live crash is scheduled in the exported spec"
    again = await Run(spec, run_id=lab.controller.run.run_id).run(max_rounds=2)
    assert again.events["kind"].to_list() == lab.events["kind"].to_list()[: again.events.height]
    html = (folder / "figures.html").read_text(encoding="utf-8")
    assert html.count("Plotly.newPlot") == 2 and "Consensus convergence" in html
    assert "figures.html" in lab.export.written.value
    await until(lambda: bool(lab.errors.messages))  # no page here: the PNGs cannot be drawn, and it says so
    assert lab.errors.messages[0].startswith("PlotRenderError") and "display the plot" in lab.errors.messages[0]


@aio
async def test_a_png_needs_the_plot_on_screen(tmp_path):
    lab = Lab(team(3, seed=1))
    with pytest.raises(PlotRenderError, match="display the plot"):
        await export_png(lab.figures.convergence, tmp_path / "x.png")
