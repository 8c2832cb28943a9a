"""The Lab driven like a user would, without a browser: click, then read the widgets."""

from __future__ import annotations

import asyncio
import math

from llmteams_lab import team
from llmteams_lab.backends import MockBackend
from llmteams_lab.plots import answer_colors
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui import Lab
from tests.support import aio, no_stop
from tests.ui.helpers import until


def _spec(rounds: int = 30):
    return no_stop(team(6, protocol="debate", competence=0.45, conformity=0.4, seed=3, max_rounds=rounds))


async def _click_step(lab: Lab, times: int = 1) -> None:
    for _ in range(times):
        before = lab.controller.round
        lab.controls.step.click()
        await until(lambda: lab.controller.round == before + 1 and not lab.controller.busy)


@aio
async def test_step_clicks_colour_the_graph_and_extend_the_live_figures():
    lab = Lab(_spec())
    assert set(lab.graph.colors) == {"#d0d4da"} and lab.figures.rounds == []
    await _click_step(lab, 3)
    state = lab.history[-1]
    palette = answer_colors(lab.controller.run.question.options)
    assert lab.graph.round == 3 and lab.graph.answers == list(state.answers)
    assert lab.graph.colors == [palette[a] for a in state.answers]
    assert lab.graph.confidence == list(state.confidence)
    assert len(lab.graph.messages) == 30 and lab.graph.frame >= 3  # 6 agents, all-to-all
    assert lab.figures.rounds == [1, 2, 3]
    conv = lab.summary()
    assert list(lab.figures.convergence.data[0].y) == conv["agreement"].to_list()
    assert list(lab.figures.overhead.data[0].y) == [30.0, 30.0, 30.0]
    reference = lab.figures.overhead.data[3]  # O(n²), n = 6: a straight line, drawn by its ends
    assert (list(reference.x), list(reference.y)) == ([1, 3], [30, 30])
    assert lab.figures.series["ref_n2"] == ([1, 2, 3], [30, 30, 30])
    assert "Messages of round 3" in lab.table.value and lab.table.value.count("<tr") == 31
    assert "data-round='3'" in lab.controls.status.value
    assert lab.controls.scrubber.max == 3 and lab.controls.scrubber.value == 3


@aio
async def test_play_and_pause_buttons_run_a_task_and_stop_it():
    lab = Lab(_spec(rounds=500), speed=50.0)
    lab.controls.play.click()
    await until(lambda: lab.controller.round >= 2)
    assert lab.controls.play.description == "Pause"
    assert lab.controls.step.disabled and lab.controls.reset.disabled
    lab.controls.play.click()
    await lab.wait()
    assert lab.controls.play.description == "Play" and not lab.controls.step.disabled
    assert not lab.controls.reset.disabled and lab.controller.state == "idle"
    assert lab.figures.rounds == list(range(1, lab.controller.round + 1)), "every round plotted"


@aio
async def test_speed_slider_sets_the_controller_pace():
    lab = Lab(_spec())
    lab.controls.speed.value = "max"
    assert math.isinf(lab.controller.speed)
    lab.controls.speed.value = "2"
    assert lab.controller.speed == 2.0


@aio
async def test_scrubbing_back_detaches_the_view_and_step_returns_it_to_live():
    lab = Lab(_spec())
    await _click_step(lab, 4)
    lab.controls.scrubber.value = 1
    past = lab.history[1]
    assert lab.graph.round == 1 and lab.graph.answers == list(past.answers)
    assert "Messages of round 1" in lab.table.value
    assert lab.figures.convergence.layout.shapes[0].x0 == 1
    assert not lab.controls.scrubber.live and "viewing round 1" in lab.controls.status.value
    assert "data-round='4'" in lab.controls.status.value, "the status still names the latest round"
    await _click_step(lab)  # Step returns to live: every view shows round 5
    assert lab.graph.round == 5 and lab.controls.scrubber.value == 5 and lab.controls.scrubber.live
    assert "Messages of round 5" in lab.table.value and lab.figures.convergence.layout.shapes == ()
    assert "viewing round" not in lab.controls.status.value


@aio
async def test_back_to_live_and_keys_sent_by_the_page():
    lab = Lab(_spec(rounds=40), speed=math.inf)
    await _click_step(lab, 3)
    lab.controls.scrubber.value = 0
    assert lab.graph.round == 0
    lab.controls.scrubber._from_view(lab.controls.scrubber, {"type": "live"}, [])  # "back to live" clicked
    assert lab.graph.round == 3 and lab.controls.scrubber.live and lab.controls.scrubber.value == 3
    lab.controls.scrubber.value = 1
    lab.controls.scrubber._from_view(lab.controls.scrubber, {"type": "key", "action": "step"}, [])  # →
    await until(lambda: lab.controller.round == 4 and not lab.controller.busy)
    assert lab.graph.round == 4 and lab.controls.scrubber.live
    lab.controls.scrubber._from_view(lab.controls.scrubber, {"type": "key", "action": "play"}, [])  # space
    await until(lambda: lab.controller.round >= 6)
    lab.controls.scrubber._from_view(lab.controls.scrubber, {"type": "key", "action": "play"}, [])  # space again
    await lab.wait()
    assert not lab.controller.playing and lab.controller.state == "idle"


@aio
async def test_fork_from_a_past_round_keeps_the_old_timeline_to_compare():
    lab = Lab(_spec(rounds=12))
    await _click_step(lab, 6)
    original = [s.answers for s in lab.history]
    lab.controls.scrubber.value = 3
    lab.controls.fork_seed.value = 99
    lab.controls.fork.click()
    await until(lambda: lab.controller.timelines and not lab.controller.busy)
    ctl = lab.controller
    assert ctl.round == 3 and [s.answers for s in ctl.history] == original[:4]
    assert ctl.run.run_id.endswith("~fork1@3") and ctl.spec.seed == 99
    assert ctl.run.question == lab.controller.timelines[0].run.question, "another seed, the same question"
    assert ctl.run_spec.task.seed == 3
    assert lab.controls.scrubber.live and lab.controls.scrubber.max == 3 and lab.figures.rounds == [1, 2, 3]
    ghost = lab.figures.convergence.data[-1]
    assert ghost.name == "agreement (run)" and list(ghost.x) == [1, 2, 3, 4, 5, 6], "the old timeline, drawn faint"
    assert list(lab.controls.timeline.options) == ["run", "current run"]
    await _click_step(lab)
    assert ctl.round == 4 and lab.figures.rounds == [1, 2, 3, 4]
    lab.controls.timeline.value = "run"  # look at the old timeline again
    assert lab.graph.round == 6 and lab.controls.scrubber.max == 6 and not lab.controls.scrubber.live
    lab.controls.scrubber.value = 2
    assert lab.graph.answers == list(original[2])
    await _click_step(lab)  # Step returns to the current timeline, live
    assert lab.controls.timeline.value == "current run" and lab.graph.round == 5
    assert lab.errors.messages == []


@aio
async def test_presets_load_their_spec_and_explanation():
    lab = Lab(_spec())
    lab.presets.value = "leader_crash"
    await until(lambda: lab.controller.spec.name == "leader-crash" and lab.controller.state == "idle")
    assert "A crash without failover" in lab.preset_info.value or "leader crash" in lab.preset_info.value.lower()
    assert lab.builder.spec == lab.controller.spec and lab.graph.agents == list(lab.controller.spec.ids)
    await lab.run()
    assert lab.controller.history[-1].decision is None and "crash" in lab.fault_log.value


@aio
async def test_a_crashed_agent_recovers_and_a_partition_heals_from_the_fault_log():
    lab = Lab(no_stop(team(5, topology="ring", seed=2, max_rounds=12)))
    await lab.step()
    lab.inject(FaultSpec(kind="crash", agent="a2"))
    await lab.step()
    await lab.step()
    assert lab.history[-1].states[2] == "crashed"
    lab.graph.selected = {"kind": "node", "agent": "a2"}
    assert lab.faults.buttons["recover"].layout.display == ""
    lab.faults.buttons["straggler"].click()
    assert "is down (crashed)" in lab.faults.message.value, "stacking on a crashed agent warns"
    lab.faults.buttons["recover"].click()
    await until(lambda: any(n.kind == "ended" for n in lab.controller.notes) and not lab.controller.busy)
    await lab.step()
    assert lab.history[-1].states[2] == "alive" and lab.controller.round == 4
    kinds = [f.kind for f in lab.controller.faults_in_force()]
    assert "crash_recover" in kinds and "crash" not in kinds
    assert "recovered" in lab.fault_log.value and lab.errors.messages == []


@aio
async def test_a_big_complete_team_is_logged_per_round_and_says_so():
    lab = Lab(team(200, seed=1, max_rounds=5))
    assert lab.controller.run_spec.logging == "rounds" and "39,800 messages a round" in lab.controls.note.value
    await lab.step()
    assert lab.graph.round == 1 and lab.graph.edges == [] and lab.graph.hidden_links == 19_900
    assert sum(count for *_, count in lab.graph.shares) == 200


@aio
async def test_work_teams_get_progress_and_gantt_views_and_an_honest_status():
    from llmteams_lab.spec import work_team

    lab = Lab(work_team(4, p=0.5, assignment="self_claim", seed=1))
    await lab.step()
    await lab.step()
    titles = [v.figure["layout"]["title"]["text"] for v in lab.figures.views]
    assert titles == ["Progress vs speedup bounds", "Who did what, round by round"]
    assert [v.figure["layout"]["xaxis"]["title"]["text"] for v in lab.figures.views] == ["round", "round"]
    assert "✗" not in lab.controls.status.value and "progress" in lab.controls.status.value
    assert set(lab.graph.colors) <= {"#0072B2", "#009E73", "#E69F00", "#D55E00", "#c9ced6"}
    assert [label for label, _ in lab.graph.legend] == ["working", "completed", "blocked", "failed", "idle"]


@aio
async def test_reset_button_rebuilds_from_the_builders_spec():
    lab = Lab(_spec())
    await _click_step(lab, 2)
    lab.builder.controls["n"].value = 4
    assert lab.spec.ids != lab.builder.spec.ids and "press Reset" in lab.controls.status.value
    lab.controls.reset.click()
    await until(lambda: lab.controller.state == "idle" and len(lab.spec.agents) == 4)
    assert lab.graph.agents == ["a0", "a1", "a2", "a3"] and lab.figures.rounds == []
    assert lab.controls.scrubber.max == 0 and "press Reset" not in lab.controls.status.value
    await _click_step(lab)
    assert lab.figures.rounds == [1] and list(lab.figures.overhead.data[3].y) == [12]


@aio
async def test_backend_failure_during_play_is_shown_in_the_panel_and_reset_works():
    def script(request):
        if request.round == 2:
            return RuntimeError("model server on fire")
        return None

    spec = no_stop(team(3, backend="mock", seed=1, max_rounds=9))
    lab = Lab(spec, backends=lambda s: MockBackend(script), speed=math.inf)
    lab.controls.play.click()
    await lab.wait()
    assert lab.errors.messages == ["RuntimeError: model server on fire"]
    assert lab.errors.layout.display == "flex" and "model server on fire" in lab.errors.html.value
    assert lab.controls.step.disabled and lab.controls.play.disabled and not lab.controls.reset.disabled
    assert lab.events.filter(lab.events["kind"] == "RoundEnded").height == 1
    lab.controls.reset.click()
    await until(lambda: lab.controller.state == "idle")
    assert not lab.controls.step.disabled and lab.history[-1].round == 0


@aio
async def test_exceptions_in_callbacks_reach_the_panel():
    lab = Lab(team(3, seed=1, max_rounds=1))
    await _click_step(lab)
    assert lab.controller.run.done
    lab.controls.step.click()  # the button is disabled in the browser; a stray click still reports
    await until(lambda: bool(lab.errors.messages))
    assert "has ended" in lab.errors.messages[0]
    lab.errors.clear_button.click()
    assert lab.errors.messages == [] and lab.errors.layout.display == "none"


def test_clicks_without_an_event_loop_explain_what_is_missing():
    lab = Lab(team(3, seed=1))
    lab.controls.step.click()
    assert "needs a running event loop" in lab.errors.messages[0]


def test_display_is_the_whole_panel():
    lab = Lab()
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == lab.widget.model_id


@aio
async def test_notebook_api_runs_to_the_end():
    lab = Lab(no_stop(team(4, seed=5, max_rounds=6)))
    state = await lab.run()
    assert state.round == 6 and lab.controller.state == "finished"
    assert lab.summary()["round"].to_list() == [1, 2, 3, 4, 5, 6]
    assert "finished (max_rounds)" in lab.controls.status.value
    await asyncio.sleep(0)


@aio
async def test_export_html_writes_the_run_with_its_live_fault(tmp_path):
    from llmteams_lab import FaultSpec

    lab = Lab(team(5, competence=0.45, max_rounds=6, seed=2))
    await lab.step()
    lab.inject(FaultSpec(kind="crash", agent="a3"))
    await lab.run()
    text = lab.export_html(tmp_path / "lab.html").read_text(encoding="utf-8")
    assert text.count("Plotly.newPlot(") == 3 and "Space-time diagram" in text
    assert "crash" in text and lab.controller.run.run_id in text
