"""The lab on an asynchronous team: builder, slices and happenings, faults by clicking,
the space-time view (real runs, driven like a user would, without a browser)."""

from __future__ import annotations

import math

import ipywidgets as w
import polars as pl
import pytest

from llmteams_lab import team
from llmteams_lab.errors import ArgumentError, LifecycleError
from llmteams_lab.metrics import events_frame
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui import Lab, LabController
from llmteams_lab.ui.builder import DEFAULT_DELAY_S, TeamBuilder
from llmteams_lab.ui.graph import CRASHED
from llmteams_lab.ui.spacetime_view import MAX_ARROWS, SpacetimeView
from tests.support import aio, no_stop
from tests.ui.helpers import until

NET = {"delay_s": 0.1, "jitter": 0.3, "tick_s": 1.0}


def _async(n: int = 6, **changes):
    base = team(n, protocol="debate", competence=0.5, conformity=0.5, seed=3, max_rounds=20)
    return base.replace(execution="asynchronous", network=NET, **changes)


async def _click(lab: Lab, button: str = "step") -> None:
    before = len(lab.controller.run.events)
    getattr(lab.controls, button).click()
    await until(lambda: len(lab.controller.run.events) > before and not lab.controller.busy)


# --- the builder ------------------------------------------------------------------------------
def test_builder_switches_a_team_to_asynchronous_and_back():
    base = team(5, protocol="debate", seed=1)
    b = TeamBuilder(base)
    assert b.async_row.layout.display == "none"  # the detector only matters asynchronously
    b.controls["execution"].value = "asynchronous"
    assert b.error is None and b.spec.execution == "asynchronous"
    assert b.spec.network.delay_s == DEFAULT_DELAY_S, "instant links are rarely meant: a default delay"
    assert b.spec.detector.timeout_s == 3.0  # three median latencies (1 s)
    assert b.async_row.layout.display == "flex"
    b.controls["timeout_s"].value = 0
    assert b.error is None and b.spec.detector is None
    b.controls["execution"].value = "partially_synchronous"
    assert (b.spec.network.gst_s, b.spec.network.delta_s) == (1.0, 0.3)  # 10 and 3 link delays
    b.controls["delay_s"].value = -1.0
    assert b.error is not None and b.error.path == "network.delay_s"
    assert "ltl-invalid" in b.controls["delay_s"]._dom_classes and b.spec.network.delay_s == DEFAULT_DELAY_S
    b.controls["delay_s"].value = 0.0
    b.controls["execution"].value = "synchronous"
    assert b.error is None and b.spec == base, "switching back gives the synchronous team it was"


def test_builder_names_the_rule_an_asynchronous_leader_team_breaks():
    b = TeamBuilder(team(5, topology="star", protocol="leader", seed=1))
    b.controls["execution"].value = "asynchronous"
    assert b.error is not None and b.error.path == "protocol.kind" and "asynchronous" in str(b.error)
    assert b.spec.execution == "synchronous" and "ltl-invalid" in b.controls["protocol"]._dom_classes


def test_builder_loads_an_asynchronous_spec_into_its_controls():
    spec = _async(detector={"timeout_s": 1.5})
    b = TeamBuilder(team(3, seed=1))
    b.load(spec)
    c = b.controls
    assert (c["execution"].value, c["delay_s"].value, c["timeout_s"].value) == ("asynchronous", 0.1, 1.5)
    assert b.async_row.layout.display == "flex" and b.candidate() == spec


# --- slices and happenings ----------------------------------------------------------------------
@aio
async def test_a_slice_advanced_happening_by_happening_is_the_slice_stepped_whole():
    spec = _async(detector={"timeout_s": 2.0}, faults=[FaultSpec(kind="straggler", agent="a2", factor=4.0)])
    whole, parts = LabController(spec), LabController(spec)
    for _ in range(3):
        await whole.step()
    while parts.round < 3 or parts.history[-1].time < 3.0:
        await parts.step(happenings=1)
    assert [s.round for s in parts.history] == [0, 1, 2, 3], "one history entry per slice, not per happening"
    for a, b in zip(whole.history, parts.history):
        assert (a.answers, a.states, a.messages, a.suspected, a.time) == (b.answers, b.states, b.messages,
                                                                           b.suspected, b.time)
    assert whole.notes == parts.notes
    assert len(whole.history[2].messages) > 0 and whole.history[3].time == 3.0


@aio
async def test_happenings_are_refused_for_a_synchronous_team():
    ctl = LabController(team(4, seed=1))
    with pytest.raises(ArgumentError, match="happenings"):
        await ctl.step(happenings=1)
    assert ctl.round == 0 and ctl.errors == []


@aio
async def test_the_lab_labels_an_asynchronous_run_by_slices_of_virtual_time():
    lab = Lab(_async(), speed=math.inf)
    c = lab.controls
    assert c.happening.layout.display == "" and c.speed.description == "slices/s" and c.scrubber.unit == "slice"
    await _click(lab, "happening")
    await _click(lab, "happening")
    assert lab.controller.round == 1 and lab.figures.rounds == [], "a slice is plotted once, when it closes"
    t = lab.controller.run.clock
    assert 0 < t < 1.0 and f"t = {t:.3f} s" in c.status.value and "slice <b>1</b>" in c.status.value
    await _click(lab, "step")  # the rest of slice 1
    await _click(lab, "step")
    assert lab.figures.rounds == [1, 2] and c.scrubber.max == 2
    assert lab.graph.unit == "slice" and lab.table.title == "Messages of slice 2"
    for view in lab.figures.views:  # the plots count slices too
        layout = view.figure["layout"]
        titles = [a["title"]["text"] for k, a in layout.items() if k.startswith("xaxis") and a.get("title")]
        assert titles and set(titles) == {"slice"}, titles
        assert "per round" not in str(layout.get("annotations"))
    ends = {e.round: e.t_end for e in lab.controller.run.events if e.kind == "RoundEnded"}
    assert ends[1] == 1.0 and 1.0 < ends[2] <= 2.0  # a slice ends at its tick, or when the team decided
    assert c.scrubber.time_label == f"t = {ends[2]:.3f} s" and lab.history[2].time == ends[2]
    c.scrubber.value = 1
    assert c.scrubber.time_label == "t = 1.000 s" and "viewing slice 1" in c.status.value
    assert lab.errors.messages == []


@aio
async def test_reset_to_a_synchronous_team_hides_the_async_controls_and_the_view():
    lab = Lab(_async())
    assert lab.slot.children == (lab.spacetime,) and lab.slot.layout.display == ""
    await lab.reset(no_stop(team(4, seed=1)))
    assert lab.slot.children == () and lab.slot.layout.display == "none" and not lab.spacetime.active
    assert lab.controls.happening.layout.display == "none" and lab.controls.scrubber.unit == "round"
    assert lab.graph.unit == "round" and lab.figures.unit == "round"
    await lab.step()
    assert "round <b>1</b>" in lab.controls.status.value and "virtual time" not in lab.controls.status.value
    redraws = lab.spacetime.redraws
    await lab.step()
    assert lab.spacetime.redraws == redraws, "a hidden view does not follow the run"


# --- faults by clicking ---------------------------------------------------------------------------
@aio
async def test_a_crash_clicked_in_an_async_team_is_suspected_and_drawn():
    lab = Lab(_async(protocol={"kind": "debate", "wait": "all", "stop_at_consensus": False},
                     detector={"timeout_s": 1.5}), speed=math.inf)
    await _click(lab)
    lab.graph.selected = {"kind": "node", "agent": "a1"}  # what a click in the browser sets
    lab.faults.buttons["crash"].click()
    assert "crash injected — takes effect in slice 2" in lab.faults.message.value
    for _ in range(3):
        await _click(lab)
    state = lab.history[-1]
    assert state.states[1] == "crashed" and lab.graph.colors[1] == CRASHED
    assert state.suspected[1] == 5, "every peer's detector suspects the crashed agent"
    assert "suspected" in lab.graph.faults[1] and "crash" in lab.graph.faults[1]
    assert "suspected" in lab.graph.fault_style
    figure = lab.spacetime.plot.figure
    names = {trace.get("name") for trace in figure["data"]}
    assert "suspected" in names
    lane = lab.spec.ids.index("a1")
    assert any(s.get("type") == "rect" and s["y0"] < lane < s["y1"] for s in figure["layout"].get("shapes", [])), \
        "the crashed agent's lane is greyed"
    assert lab.errors.messages == []


@aio
async def test_an_async_lab_forks_and_recovers_a_crash_from_its_buttons():
    lab = Lab(_async(protocol={"kind": "debate", "stop_at_consensus": False},
                     faults=[FaultSpec(kind="crash", agent="a1", at_round=2)]))
    for _ in range(3):
        await lab.step()
    assert not lab.controls.fork.disabled and lab.controller.can_fork
    assert [b.description for row in lab.fault_log.children for b in getattr(row, "children", ())
            if isinstance(b, w.Button)] == ["recover"], "the fault log offers to end the crash"
    lab.graph.selected = {"kind": "node", "agent": "a1"}
    assert lab.faults.buttons["recover"].layout.display == ""
    before = list(lab.controller.run.events)
    lab._recover("a1")  # the fault panel's Recover
    await until(lambda: lab.controller.run.events is not None and "~" in lab.controller.run.run_id
                and not lab.controller.busy)
    assert lab.errors.messages == [] and len(lab.controller.run.events) == len(before)
    assert "slice 4: crash on a1 recovered" in lab.fault_log.value and lab.controller.round == 3
    assert "crash_recover on a1 · from slice 2 to 3 · over" in lab.fault_log.value, "slices, not rounds"
    for _ in range(3):
        await lab.step()
    replies = [e.round for e in lab.controller.run.events if e.kind == "AgentReplied" and e.agent == "a1"]
    assert max(replies) >= 4 and lab.history[-1].states[1] != "crashed", "a1 is back from slice 4"
    await lab.fork(2)
    assert lab.controller.label == "fork 1 @ slice 2" and lab.controller.round == 2
    assert lab.controls.timeline.options[0] == "run" and lab.controls.scrubber.max == 2
    await lab.step()
    assert lab.controller.round == 3 and lab.errors.messages == []


# --- the space-time view -----------------------------------------------------------------------------
def _heads(figure: dict) -> list[int]:
    return [i for i, t in enumerate(figure["data"]) if t.get("customdata") and t["marker"]["symbol"] ==
            "triangle-right"]


@aio
async def test_clicking_a_message_arrow_shows_its_text_and_times():
    lab = Lab(_async())
    await lab.step()
    await lab.step()
    view = lab.spacetime
    figure = view.plot.figure
    heads = _heads(figure)
    assert heads, "arrow heads carry the message's seq"
    trace = figure["data"][heads[-1]]
    seq = trace["customdata"][-1]
    view.plot._from_view(None, {"type": "click", "points": [
        {"curve": heads[-1], "index": 0, "x": trace["x"][-1], "y": trace["y"][-1], "customdata": seq}]}, None)
    frame = events_frame(lab.controller.run.events)
    sent = frame.filter((pl.col("seq") == seq) & (pl.col("kind") == "MessageSent")).row(0, named=True)
    got = frame.filter((pl.col("cause") == seq) & (pl.col("kind") == "MessageDelivered")).row(0, named=True)
    html = view.detail.value
    assert f"data-seq='{seq}'" in html and f"{sent['agent']} → {sent['peer']}" in html
    assert f"sent at t = {sent['t_start']:.3f} s" in html and f"delivered at t = {got['t_end']:.3f} s" in html
    assert (sent["detail"] or f"answer: {sent['value']}") in html
    view.plot._from_view(None, {"type": "click", "points": [{"curve": 0, "index": 0, "x": 0.5, "customdata": None,
                                                             "text": "a0 suspected a2"}]}, None)
    assert "a0 suspected a2 at t = 0.500 s" in view.detail.value


@aio
async def test_a_dropped_message_reads_as_lost_with_its_reason():
    lab = Lab(_async(faults=[FaultSpec(kind="drop", link=("a0", "a1"), probability=1.0)]))
    await lab.step()
    await lab.step()
    frame = events_frame(lab.controller.run.events)
    lost = frame.filter(pl.col("kind") == "MessageDropped")
    assert lost.height > 0
    seq = lost["cause"][0]
    lab.spacetime.show_message(int(seq))
    assert "lost at t =" in lab.spacetime.detail.value and "drop" in lab.spacetime.detail.value
    lab.spacetime.show_message(10**9)
    assert "not in this run" in lab.spacetime.detail.value


@aio
async def test_a_big_run_shows_its_latest_slices_and_the_view_follows_resets():
    spec = team(30, protocol="debate", competence=0.5, seed=2, max_rounds=10).replace(
        execution="asynchronous", network={"delay_s": 0.05, "jitter": 0.2, "tick_s": 0.5},
        protocol={"kind": "debate", "stop_at_consensus": False})
    ctl = LabController(spec, speed=math.inf)
    view = SpacetimeView(ctl)
    await ctl.run_rounds()
    sent = events_frame(ctl.run.events).filter(pl.col("kind") == "MessageSent")
    assert sent.height > MAX_ARROWS
    first, last = view.window
    assert last == ctl.round and first > 1
    kept = sent.filter(pl.col("round") >= first).height
    assert kept <= MAX_ARROWS < kept + sent.filter(pl.col("round") == first - 1).height
    figure = view.plot.figure
    assert f"slices {first}–{last}" in figure["layout"]["title"]["text"]
    arrows = sum(len(figure["data"][i]["customdata"]) for i in _heads(figure))
    assert 0 < arrows <= kept
    await ctl.reset(spec.replace(agents=spec.agents[:4]))
    assert view.frame.height == len(ctl.run.events) and view.window is None


@aio
async def test_a_replayed_async_run_steps_by_slices_with_its_space_time_diagram():
    from llmteams_lab import run_sync
    from llmteams_lab.datasets.replay import ReplayRun

    spec = _async(detector={"timeout_s": 2.0})
    result = run_sync(spec)
    lab = Lab.replay(ReplayRun(result.records, spec=spec, run_id=result.run_id))
    assert lab.slot.children == (lab.spacetime,) and lab.controls.happening.layout.display == "none"
    await lab.step()
    await lab.step()
    recorded = [e for e in result.records if e.round <= 2 and e.kind != "RunEnded"]
    assert lab.spacetime.frame.height == len(lab.controller.run.events) >= len(recorded)
    assert lab.history[2].time == next(e.t_end for e in result.records if e.kind == "RoundEnded" and e.round == 2)
    assert _heads(lab.spacetime.plot.figure) and lab.errors.messages == []
    await lab.fork(1)  # a replay forks into a live team, turn by turn up to slice 1
    end = next(i for i, e in enumerate(result.records) if e.kind == "RoundEnded" and e.round == 1)
    assert [e._replace(run_id="") for e in lab.controller.run.events] == \
        [e._replace(run_id="") for e in result.records[: end + 1]]
    await lab.step()
    assert lab.controller.round == 2 and lab.controller.run.can_inject and lab.errors.messages == []
