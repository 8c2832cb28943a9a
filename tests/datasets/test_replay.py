"""Replays step like the engine, end clearly, and fork at round k."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import Run, RunClosedError, RunFinishedError, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.datasets.replay import ReplayFinishedError, ReplayRun
from llmteams_lab.errors import DatasetError, LifecycleError, TraceEndedError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.metrics import events_frame, work_summary
from llmteams_lab.runtime import CallbackSink
from llmteams_lab.spec import FaultSpec, work_team
from tests.support import aio, flaky_script, no_stop


async def record(spec, backends=None) -> list:
    async with Run(spec, backends=backends) as run:
        await run.run()
        return list(run.events)


@aio
async def test_a_replay_re_emits_the_trace_round_by_round() -> None:
    spec = work_team(3, p=0.5, seed=4, work={"eagerness": 0.3})
    trace = await record(spec)
    seen: list[list] = []
    replay = ReplayRun(trace, sinks=[CallbackSink(lambda evs: seen.append(list(evs)))])
    assert (replay.status, replay.round, replay.done, replay.spec) == ("ready", 0, False, spec)
    first = await replay.step()
    assert (first.round, replay.status, first.done) == (1, "running", False)
    assert seen[0][0].kind == "RunStarted" and seen[0][-1].kind == "RoundEnded"
    assert first.clock == pytest.approx(seen[0][-1].t_end)
    result = await replay.run()
    assert replay.done and replay.status == "finished" and result.reason == "all_tasks_done"
    assert events_to_jsonl(replay.events) == events_to_jsonl(trace)
    assert sum(len(batch) for batch in seen) == len(trace)
    assert result.rounds == replay.last_round == max(e.round for e in trace)
    assert set(replay.state()) == {"a0", "a1", "a2"}


@aio
async def test_stepping_past_the_end_is_a_clear_end_of_trace_state() -> None:
    trace = await record(team(3, seed=1, max_rounds=2))
    replay = ReplayRun(trace)
    await replay.run()
    for error in (ReplayFinishedError, TraceEndedError, RunFinishedError):
        with pytest.raises(error, match=r"ended after round \d+ .*fork\(at_round=k\)"):
            await replay.step()
    assert replay.done and replay.end_reason in ("consensus", "max_rounds")
    await replay.aclose()
    with pytest.raises(RunClosedError):
        await replay.step()


@aio
async def test_a_deliberation_fork_re_executes_the_prefix_exactly() -> None:
    spec = no_stop(team(5, topology="tree", protocol="debate", backend="mock", seed=1, max_rounds=4))
    trace = await record(spec, MockBackend(flaky_script))
    run_id = trace[0].run_id
    fork = await ReplayRun(trace).fork(2, backends=MockBackend(flaky_script), run_id=run_id)
    assert fork.round == 2 and not fork.done
    await fork.run()
    assert events_to_jsonl(fork.events) == events_to_jsonl(trace)
    other = await ReplayRun(trace).fork(2, backends=MockBackend(lambda r: r.question.options[0]))
    await other.run()
    prefix = [e for e in trace if e.round <= 2]
    assert [e._replace(run_id="x") for e in other.events[:len(prefix)]] == [e._replace(run_id="x") for e in prefix]
    assert other.events[len(prefix):] != trace[len(prefix):]
    assert other.run_id == f"{run_id}~fork2"


@pytest.mark.parametrize("kind", ["byzantine", "sycophant"])
@aio
async def test_a_fork_of_simulated_agents_with_an_answer_fault_is_exact(kind: str) -> None:
    """Batched simulated agents log messages without text; the replayed liar's reply has
    none either, and none is invented for its lie."""
    spec = no_stop(team(5, protocol="debate", seed=4, max_rounds=5, competence=0.5, conformity=0.5)).replace(
        faults=[FaultSpec(kind=kind, agent="a1", at_round=2)])
    trace = await record(spec)
    fork = await ReplayRun(trace).fork(4, run_id=trace[0].run_id)
    prefix = [e for e in trace if e.round <= 4]
    assert events_to_jsonl(fork.events) == events_to_jsonl(prefix)
    await fork.run()  # live from round 5, one agent at a time: the same replies as the batched run
    assert events_to_jsonl(fork.events) == events_to_jsonl(trace)


@aio
async def test_a_work_fork_with_the_recorded_team_is_exact_and_a_bigger_team_continues() -> None:
    spec = work_team(2, p=0.5, seed=3, work={"error_rate": 0.2, "locks": False})
    trace = await record(spec)
    exact = await ReplayRun(trace).fork(5, run_id=trace[0].run_id)
    await exact.run()
    assert events_to_jsonl(exact.events) == events_to_jsonl(trace)

    bigger = await ReplayRun(trace).fork(5, spec=work_team(6, p=0.5, seed=3))
    assert bigger.round == 5 and bigger.status == "running"
    done_at_5 = sum(e.kind == "TaskCompleted" for e in trace if e.round <= 5)
    assert bigger.workload.board.done_count <= done_at_5
    result = await bigger.run()
    s = work_summary(result.events).row(0, named=True)
    assert s["finished"] and s["n_agents"] == 6
    assert result.events.filter(pl.col("kind") == "RunStarted")["detail"][0] == work_team(6, p=0.5, seed=3).to_json()
    assert result.events["seq"].to_list() == list(range(result.events.height))


@aio
async def test_fork_needs_a_round_in_the_trace_and_a_spec() -> None:
    trace = await record(team(3, seed=2, max_rounds=3))
    replay = ReplayRun(trace)
    with pytest.raises(TraceEndedError, match="rounds 0..3"):
        await replay.fork(7)
    specless = ReplayRun([e for e in trace if e.kind != "RunStarted"])
    assert specless.spec is None
    with pytest.raises(LifecycleError, match="pass spec="):
        await specless.fork(1)
    with pytest.raises(LifecycleError, match="needs the recorded agents"):
        await replay.fork(1, spec=team(2, seed=2))
    rounds_logged = await record(team(4, seed=2, max_rounds=3, logging="rounds"))
    with pytest.raises(DatasetError, match="no per-agent replies"):
        await ReplayRun(rounds_logged).fork(1)


def test_a_replay_needs_one_run() -> None:
    with pytest.raises(DatasetError, match="no events"):
        ReplayRun([])
    with pytest.raises(DatasetError, match="pass run_id="):
        from llmteams_lab.events import RoundStarted

        ReplayRun([RoundStarted("a", 1, 0), RoundStarted("b", 1, 0)])


@aio
async def test_result_and_summary_work_on_a_partial_replay() -> None:
    trace = await record(no_stop(team(4, seed=3, max_rounds=5, competence=0.3)))
    replay = ReplayRun(trace)
    await replay.step()
    await replay.step()
    result = replay.result()
    assert result.rounds == 2 and not replay.done and result.summary()["round"].to_list() == [1, 2]
    assert events_frame(replay.events).equals(events_frame([e for e in trace if e.round <= 2
                                                           and e.kind != "RunEnded"]))


@aio
async def test_a_fork_can_continue_under_another_fault_schedule() -> None:
    trace = await record(work_team(3, p=0.5, seed=2))
    spec = work_team(4, p=0.5, seed=2).replace(faults=[{"kind": "crash", "agent": "a3", "at_round": 6},
                                                       {"kind": "straggler", "agent": "a0", "factor": 4.0,
                                                        "start_round": 5}])
    result = await (await ReplayRun(trace).fork(4, spec=spec)).run()
    ev = result.events
    applied = ev.filter(pl.col("kind") == "FaultApplied").select("round", "agent", "fault").rows()
    assert applied == [(5, "a0", "straggler"), (6, "a3", "crash")]
    assert ev.filter((pl.col("agent") == "a3") & (pl.col("kind") == "AgentReplied"))["round"].to_list() == [5]
    assert result.reason == "all_tasks_done"
    same_team = work_team(3, p=0.5, seed=2).replace(faults=[{"kind": "crash", "agent": "a2", "at_round": 6}])
    again = await (await ReplayRun(trace).fork(4, spec=same_team)).run()
    replied = again.events.filter((pl.col("agent") == "a2") & (pl.col("kind") == "AgentReplied"))["round"]
    assert replied.to_list() == [1, 2, 3, 4, 5]
    strip = lambda events: [e._replace(run_id="") for e in events if e.round <= 4][1:]  # noqa: E731
    assert strip(again.records) == strip(trace)


@aio
async def test_a_fork_stretches_a_straggler_s_recorded_replies_once_not_twice() -> None:
    from llmteams_lab.spec.faults import FaultSpec

    spec = team(5, seed=3, max_rounds=6, competence=0.5).replace(
        faults=[FaultSpec(kind="straggler", agent="a1", factor=4.0, extra_s=0.5)])
    async with Run(no_stop(spec), run_id="orig") as run:
        await run.run()
        trace = list(run.events)
    fork = await ReplayRun(trace).fork(3, run_id="orig")
    assert events_to_jsonl(fork.events) == events_to_jsonl(trace[: len(fork.events)])
    assert [e for e in fork.events if e.kind == "AgentReplied" and e.fault == "straggler"]
    await fork.aclose()
