"""The controller: one owner of the engine; Play as a task; errors reported, never lost."""

from __future__ import annotations

import asyncio
import math

import pytest

from llmteams_lab import team
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import LifecycleError, RunFailedError, ServerError
from llmteams_lab.ui import LabController
from tests.support import aio, no_stop
from tests.ui.helpers import GateBackend, until


def _mock_spec(n: int = 4, rounds: int = 6):
    return no_stop(team(n, backend="mock", seed=1, max_rounds=rounds))


@aio
async def test_steps_become_history_and_round_listeners_see_every_event():
    ctl = LabController(no_stop(team(5, seed=2, max_rounds=5)))
    seen: list = []
    ctl.subscribe("round", lambda state, events: seen.append((state.round, list(events))))
    await ctl.step()
    await ctl.step()
    assert [s.round for s in ctl.history] == [0, 1, 2]
    assert [r for r, _ in seen] == [1, 2]
    assert [e for _, batch in seen for e in batch] == ctl.run.events
    assert ctl.state == "idle" and ctl.round == 2
    assert all(a is not None for a in ctl.history[-1].answers)


@aio
async def test_play_is_a_task_on_the_running_loop_and_pause_stops_it():
    ctl = LabController(no_stop(team(5, seed=2, max_rounds=200)), speed=200.0)
    task = ctl.play()
    assert isinstance(task, asyncio.Task) and ctl.playing and ctl.state == "playing"
    await until(lambda: ctl.round >= 3)
    with pytest.raises(LifecycleError, match="pause it before stepping"):
        await ctl.step()
    ctl.pause()
    await ctl.wait()
    stopped = ctl.round
    assert not ctl.playing and ctl.state == "idle" and not ctl.run.done
    await asyncio.sleep(0.05)
    assert ctl.round == stopped, "no round may run after Pause"
    assert 3 <= stopped < 200


@aio
async def test_play_runs_to_the_end_and_then_refuses_more_rounds():
    ctl = LabController(no_stop(team(4, seed=1, max_rounds=7)), speed=math.inf)
    ctl.play()
    await ctl.wait()
    assert ctl.state == "finished" and ctl.round == 7 and ctl.run.done
    with pytest.raises(LifecycleError, match="has ended"):
        ctl.play()
    with pytest.raises(LifecycleError, match="press Reset"):
        await ctl.step()


@aio
async def test_pause_during_a_round_in_flight_lets_the_round_finish():
    gate = GateBackend()
    ctl = LabController(_mock_spec(), backends=gate, speed=math.inf)
    ctl.play()
    await until(gate.waiting.is_set)
    ctl.pause()  # mid-round: cancelling run.step() would fail the run
    gate.gate.set()
    await ctl.wait()
    assert ctl.round == 1 and ctl.run.status == "running" and ctl.state == "idle"


@aio
async def test_a_second_round_cannot_start_while_one_is_in_flight():
    gate = GateBackend()
    ctl = LabController(_mock_spec(), backends=gate, speed=math.inf)
    task = ctl.play()
    await until(gate.waiting.is_set)
    assert ctl.busy and ctl.play() is task
    with pytest.raises(LifecycleError, match="already in progress"):
        await ctl.step()
    with pytest.raises(LifecycleError, match="pause"):
        await ctl.reset()
    ctl.pause()
    gate.gate.set()
    await ctl.wait()
    assert ctl.round == 1 and not ctl.busy


@aio
async def test_backend_error_mid_play_pauses_shows_it_and_keeps_every_event():
    def script(request):
        if request.agent == "a1" and request.round == 3:
            return ServerError("502 from the model server")
        return None

    ctl = LabController(_mock_spec(rounds=8), backends=lambda spec: MockBackend(script), speed=math.inf)
    reported: list = []
    ctl.subscribe("error", reported.append)
    ctl.play()
    await ctl.wait()
    assert ctl.round == 3 and not ctl.playing and ctl.state == "idle"
    assert len(reported) == 1 and "a1 failed (server_error): 502 from the model server" in str(reported[0])
    kinds = [e.kind for e in ctl.run.events]
    assert kinds.count("RoundEnded") == 3 and "AgentFailed" in kinds
    assert ctl.history[-1].states[1] == "failed"
    await ctl.step()  # the run itself is fine: the user may continue
    assert ctl.round == 4


@aio
async def test_exception_in_a_round_fails_the_run_reports_it_and_reset_recovers():
    def script(request):
        if request.round == 2:
            return RuntimeError("the backend fell over")
        return None

    ctl = LabController(_mock_spec(), backends=lambda spec: MockBackend(script), speed=math.inf)
    errors: list = []
    ctl.subscribe("error", errors.append)
    ctl.play()
    await ctl.wait()
    assert ctl.state == "error" and ctl.run.status == "failed"
    assert [str(e) for e in errors] == ["the backend fell over"]
    kept = ctl.run.events
    assert kept[-1].kind == "RunEnded" and kept[-1].detail == "error"
    assert any(e.kind == "RoundEnded" and e.round == 1 for e in kept)
    with pytest.raises(RunFailedError, match="press Reset"):
        await ctl.step()
    await ctl.reset()
    assert ctl.state == "idle" and ctl.round == 0 and ctl.run.status == "ready"
    assert await ctl.step() is not None and ctl.round == 1


@aio
async def test_reset_is_refused_while_playing_and_rebuilds_from_a_new_spec():
    ctl = LabController(no_stop(team(5, seed=2, max_rounds=100)), speed=100.0)
    ctl.play()
    await until(lambda: ctl.round >= 1)
    with pytest.raises(LifecycleError, match="pause"):
        await ctl.reset()
    ctl.pause()
    await ctl.wait()
    await ctl.reset(team(3, seed=9))
    assert ctl.spec.ids == ("a0", "a1", "a2") and len(ctl.history) == 1 and ctl.run.round == 0


@aio
async def test_a_broken_listener_is_reported_and_does_not_stop_the_run():
    ctl = LabController(no_stop(team(4, seed=1, max_rounds=3)), speed=math.inf)
    errors: list = []
    ctl.subscribe("error", errors.append)
    ctl.subscribe("round", lambda state, events: 1 / 0)
    ctl.play()
    await ctl.wait()
    assert ctl.round == 3 and ctl.state == "finished"
    assert len(errors) == 3 and all(isinstance(e, ZeroDivisionError) for e in errors)


def test_unknown_topic_is_refused():
    ctl = LabController(team(3))
    with pytest.raises(ValueError, match=r"'topic' must be one of .* \(got 'rounds'\)"):
        ctl.subscribe("rounds", print)
