"""The space-time diagram draws what the log says: a bar per turn, an arrow per delivered
message, a cross per lost one, spans for down agents — for any kind of run."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import FaultSpec, run_sync, team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.plots.spacetime import spacetime_figure, spacetime_segments


def _async_run():
    spec = team(5, seed=3, max_rounds=8).replace(
        execution="asynchronous", network={"delay_s": 0.1, "jitter": 0.3}, detector={"timeout_s": 1.5},
        faults=[FaultSpec(kind="crash", agent="a1", at_round=2), FaultSpec(kind="drop", probability=0.2)])
    return run_sync(spec)


def _points(fig, name_prefix: str) -> int:
    """Segments drawn by the line traces whose legend name starts with ``name_prefix``."""
    return sum(len([x for x in t.x if x is None]) for t in fig.data if (t.name or "").startswith(name_prefix))


def test_every_delivered_message_is_an_arrow_and_every_lost_one_a_cross() -> None:
    result = _async_run()
    ev = result.events
    fig = spacetime_figure(ev, options=("A", "B", "C", "D"))
    delivered = ev.filter(pl.col("kind") == "MessageDelivered").height
    lost = ev.filter(pl.col("kind") == "MessageDropped").height
    assert delivered and lost
    assert _points(fig, "message:") == delivered
    assert _points(fig, "message lost") == lost
    heads = [t for t in fig.data if t.mode == "markers" and t.legendgroup == "messages"]
    assert sum(len(t.x) for t in heads) == delivered
    sent = set(ev.filter(pl.col("kind") == "MessageSent")["seq"].to_list())
    assert all(seq in sent for t in heads for seq in t.customdata)  # a click finds the message's send


def test_turns_and_down_spans_follow_the_log() -> None:
    result = _async_run()
    data = spacetime_segments(result.events)
    replies = result.events.filter(pl.col("kind") == "AgentReplied").height
    fig = spacetime_figure(result.events)
    assert _points(fig, "turn") == replies
    assert data["down"].height and set(data["down"]["agent"].to_list()) == {"a1"}
    assert any(s.type == "rect" for s in fig.layout.shapes)  # the crashed agent's lane is shaded
    assert {t.name for t in fig.data} >= {"suspected", "fault"}
    assert data["lanes"] == list(result.spec.ids)


def test_synchronous_rounds_show_as_time_slices() -> None:
    result = run_sync(team(4, seed=2, max_rounds=3).replace(protocol={"kind": "debate",
                                                                      "stop_at_consensus": False}))
    fig = spacetime_figure(result.events)
    rounds = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(rounds) == result.rounds


def test_a_big_run_draws_at_most_max_messages_and_says_so() -> None:
    result = run_sync(team(12, seed=1, max_rounds=3).replace(protocol={"kind": "debate",
                                                                       "stop_at_consensus": False}))
    fig = spacetime_figure(result.events, max_messages=50)
    assert _points(fig, "message:") == 50 and "left out" in fig.layout.title.text


def test_several_runs_are_refused_with_a_hint() -> None:
    a, b = run_sync(team(3, seed=1)), run_sync(team(3, seed=2))
    with pytest.raises(ArgumentError, match="must hold one run"):
        spacetime_figure(pl.concat([a.events, b.events]))


def test_leaders_wear_their_term_until_they_go_down_and_role_changes_are_written() -> None:
    from llmteams_lab.spec import election_team

    spec = election_team(5, seed=0, max_rounds=80, decisions=2).replace(
        faults=[FaultSpec(kind="crash", agent="a0", at_round=20)])
    ev = run_sync(spec).events
    elected = ev.filter(pl.col("kind") == "LeaderElected").sort("t_end").select("agent", "t_end", "value").rows()
    crash = ev.filter((pl.col("kind") == "FaultApplied") & (pl.col("agent") == "a0"))["t_end"][0]
    data = spacetime_segments(ev)
    assert [(a, term) for a, _, _, term in data["leads"]] == [(a, term) for a, _, term in elected]
    first = data["leads"][0]
    assert first[0] == "a0" and first[1] == elected[0][1] and first[2] == crash  # until it went down
    assert data["leads"][-1][2] == ev["t_end"].max()  # the last leader leads to the end
    fig = spacetime_figure(ev)
    crowns = next(t for t in fig.data if t.name == "leader (its own view)")
    assert list(crowns.text) == [f"♛ t{term}" for _, _, term in elected]
    bands = [s for s in fig.layout.shapes if s.fillcolor == "#F0E442"]
    assert [(b.x0, b.x1) for b in bands] == [(t0, t1) for _, t0, t1, _ in data["leads"]]
    marks = next(t for t in fig.data if t.name == "role changes")
    started = ev.filter(pl.col("kind") == "ElectionStarted")["value"].to_list()
    assert [m for m in marks.text if m.startswith("? t")] == [f"? t{v}" for v in started]


def test_a_deliberating_run_has_no_role_marks() -> None:
    fig = spacetime_figure(_async_run().events)
    assert not [t for t in fig.data if t.name in ("leader (its own view)", "role changes")]


def test_an_assigning_leaders_many_turn_values_keep_the_legend_short() -> None:
    """Every assignment is a distinct turn value: the legend lists the first few, shortened,
    and says how many it leaves out; each turn's hover text keeps its whole value."""
    from llmteams_lab.spec import election_team

    spec = election_team(5, seed=0, duty="assign", work={"parallel_fraction": 0.75, "size": 10}, max_rounds=80)
    ev = run_sync(spec).events
    fig = spacetime_figure(ev)
    turns = [t for t in fig.data if (t.name or "").startswith("turn")]
    values = {v for v in ev.filter(pl.col("kind") == "AgentReplied")["value"].to_list() if v is not None}
    assert len(values) > 6  # the case: more values than the legend lists
    listed = [t for t in turns if t.showlegend is not False]
    assert len(listed) == 6 and all(len(t.name) <= 32 for t in listed)
    more = next(t for t in fig.data if (t.name or "").startswith("…"))
    assert more.name == f"… {len(turns) - 6} more turn values (hover a turn)"
    hovered = {text.split(": ", 1)[1] for t in turns for text in t.hovertext if text}
    assert any(v.startswith("assign") for v in values) and values <= hovered
