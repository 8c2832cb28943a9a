"""Sweep figure: means per (group, x) with standard-error bars; references by size."""

from __future__ import annotations

import math

import polars as pl
import pytest

from llmteams_lab.errors import SpecError
from llmteams_lab.plots import sweep_figure


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"n": [3, 3, 5, 5, 3, 3, 5, 5], "acc": [0.5, 0.7, 0.8, 0.8, 0.2, 0.4, 0.6, 1.0],
                         "protocol": ["debate"] * 4 + ["majority"] * 4})


def test_one_line_per_group_with_means_and_sem():
    fig = sweep_figure(_frame(), "n", "acc", "protocol")
    debate, majority = fig.data
    assert debate.name == "debate" and list(debate.x) == [3, 5]
    assert list(debate.y) == pytest.approx([0.6, 0.8])
    assert majority.error_y.array[1] == pytest.approx(math.sqrt(0.08) / math.sqrt(2))
    assert debate.error_y.array[1] == 0.0


def test_references_are_drawn_at_each_team_size():
    frame = _frame().rename({"acc": "messages per round"})
    fig = sweep_figure(frame, "n", "messages per round", references=True)
    refs = {t.name: list(t.y) for t in fig.data[1:]}
    assert refs == {"O(n): 2(n−1)": [4, 8], "O(n²): n(n−1)": [6, 20]}  # 2(n − 1) and n(n − 1) at n = 3, 5


def test_references_only_for_messages_per_round_by_team_size():
    """O(n)/O(n²) are message counts: drawn on a tokens or accuracy axis they would mislead."""
    with pytest.raises(SpecError, match=r"'references' draws messages per round .* \(got 'tokens per round'\)"):
        sweep_figure(_frame().rename({"acc": "tokens per round"}), "n", "tokens per round", references=True)
    frame = _frame().rename({"acc": "messages"}).with_columns(share=pl.col("n") / 10)
    with pytest.raises(SpecError, match=r"'references' needs x to be the team size"):
        sweep_figure(frame, "share", "messages", references=True)


def test_unknown_column_is_refused_naming_it():
    with pytest.raises(SpecError, match=r"'by' must be a column of the frame .* \(got 'topology'\)"):
        sweep_figure(_frame(), "n", "acc", "topology")
