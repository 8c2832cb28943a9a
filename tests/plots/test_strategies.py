"""The error-handling strategies figure: every number of the table, in its panel."""

from __future__ import annotations

import polars as pl

from llmteams_lab.experiments.strategies import compare_strategies, strategy_table
from llmteams_lab.plots.strategies import strategies_figure


def test_each_panel_shows_the_tables_numbers_with_and_without_the_faults(tmp_path) -> None:
    table = strategy_table(compare_strategies(3, strategies=("none", "compensation", "voting")))
    fig = strategies_figure(table)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["with the faults", "fault-free"] * 3
    for (faulty, clean), column in zip(zip(bars[::2], bars[1::2]), ("success", "tokens", "seconds")):
        assert list(faulty.x) == ["none", "compensation", "voting"]
        assert list(faulty.y) == table[column].to_list()
        assert list(clean.y) == table[f"{column}_fault_free"].to_list()
    half = next(t for t in fig.data if t.type == "scatter")
    assert list(half.y) == table["half_done"].to_list() and half.xaxis == "x"
    assert max(fig.layout.yaxis2.tickvals) >= max(table["tokens_fault_free"].max(), table["tokens"].max())
    assert [a.text for a in fig.layout.annotations] == ["success (× half-done)", "tokens per run", "seconds per run"]
    out = tmp_path / "strategies.html"
    fig.write_html(out, include_plotlyjs=False)
    assert "tokens per run" in out.read_text(encoding="utf-8")


def test_an_empty_fault_free_column_still_draws() -> None:
    table = pl.DataFrame({"strategy": ["none"], "runs": [1], "success": [0.0], "success_fault_free": [None],
                          "complete": [0.0], "half_done": [0.0], "tokens": [0.0], "tokens_fault_free": [None],
                          "seconds": [0.0], "seconds_fault_free": [None]},
                         schema_overrides={"success_fault_free": pl.Float64, "tokens_fault_free": pl.Float64,
                                           "seconds_fault_free": pl.Float64})
    assert len(strategies_figure(table).data) == 7
