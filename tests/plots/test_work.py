"""Work-division views: progress against the speedup bounds, and who did what."""

from __future__ import annotations

from llmteams_lab.plots.style import TASK_STATE_COLORS
from llmteams_lab.plots.work import activity_figure, progress_figure


def test_progress_is_drawn_against_one_agent_amdahl_and_the_work_span_bound():
    fig = progress_figure([2, 4, 5], agents=4, tasks=20, chain=10)
    names = [t.name for t in fig.data]
    assert names[-1] == "tasks done" and list(fig.data[-1].y) == [0, 2, 4, 5]
    bound = next(t for t in fig.data if t.name.startswith("work/span bound"))
    assert "S ≤ 2.00" in bound.name, "min(n, W/C) = min(4, 20/10)"
    assert max(bound.y) == 20 and bound.y[1] == 2.0, "never more than W tasks; slope = the bound"
    serial = next(t for t in fig.data if t.name.startswith("one agent"))
    assert list(serial.y[:3]) == [0, 1, 2]


def test_the_gantt_chart_has_a_row_per_agent_and_a_colour_per_activity():
    cells = [(1, "a0", "working", "t1"), (1, "a1", "blocked", ""), (2, "a0", "completed", "t1")]
    fig = activity_figure(cells, ["a0", "a1"])
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == set(TASK_STATE_COLORS)
    assert list(by_name["working"].base) == [0.5] and list(by_name["completed"].y) == ["a0"]
    assert by_name["blocked"].marker.color == TASK_STATE_COLORS["blocked"]
    assert list(fig.layout.yaxis.categoryarray) == ["a0", "a1"]
