"""Asynchronous runs fork: the recorded turns are re-executed (same bytes), then live."""

from __future__ import annotations

import pytest

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.datasets import fork_asynchronous
from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import LifecycleError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.messages import AgentReply
from llmteams_lab.spec import commit_team, election_team, gossip_team, work_team
from llmteams_lab.spec.faults import FaultSpec
from tests.serve.servers import openai_team, serving
from tests.support import aio, no_stop

NET = {"delay_s": 0.1, "jitter": 0.3, "tick_s": 1.0}
FAULTS = {
    "none": [],  # no faults, no detector: the recorded run sent its messages in bulk
    "crash": [FaultSpec(kind="crash", agent="a4", at_round=3)],  # turns lost while busy
    "crash_recover": [FaultSpec(kind="crash_recover", agent="a2", start_round=2, end_round=4)],
    "straggler": [FaultSpec(kind="straggler", agent="a2", factor=2.0, extra_s=0.25)],
    "drop": [FaultSpec(kind="drop", link=("a0", "a1"), start_round=2, probability=0.5)],
    "partition": [FaultSpec(kind="partition", groups=(("a0", "a1"),), at_round=2, heal_round=4)],
    "timeout": [FaultSpec(kind="timeout", agent="a3", at_round=3)],
    "byzantine": [FaultSpec(kind="byzantine", agent="a1", at_round=2)],  # a replay's replies have no text:
    "sycophant": [FaultSpec(kind="sycophant", agent="a3", at_round=2)],  # none is invented for the lie
}


def spec_of(faults=(), *, seed: int = 3, detector=None, n: int = 5):
    base = team(n, protocol="debate", competence=0.5, conformity=0.5, seed=seed, max_rounds=7)
    return no_stop(base.replace(execution="asynchronous", network=NET, faults=list(faults), detector=detector))


async def record(spec, **kw) -> list:
    async with Run(spec, run_id="orig", **kw) as run:
        await run.run()
        return list(run.events)


def through_slice(events: list, k: int) -> list:
    end = next(i for i, e in enumerate(events) if e.kind == "RoundEnded" and e.round == k)
    return events[: end + 1]


@pytest.mark.parametrize("detector", [None, {"timeout_s": 2.0}], ids=["plain", "detector"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
@aio
async def test_a_fork_re_executes_the_recorded_slices_byte_for_byte(fault: str, detector) -> None:
    spec = spec_of(FAULTS[fault], detector=detector)
    trace = await record(spec)
    last = max(e.round for e in trace)
    assert last == 7
    if fault == "straggler":  # replies stretched by the fault land inside the prefix (stretched once only)
        assert [e.round for e in trace if e.kind == "AgentReplied" and e.fault == "straggler"][0] < last
    for k in range(1, last):
        fork = await fork_asynchronous(trace, k, spec, run_id="orig")
        assert events_to_jsonl(fork.events) == events_to_jsonl(through_slice(trace, k)), f"slice {k}"
        assert fork.round == k and not fork.done
        await fork.aclose()


@pytest.mark.parametrize("workload", ["work_division", "election", "commit", "gossip"])
@aio
async def test_every_workload_forks_byte_for_byte(workload: str) -> None:
    """Role-playing agents' replies are their recorded choices; work teams' their actions."""
    spec = {"work_division": lambda: work_team(4, p=0.5, seed=4), "election": lambda: election_team(5, seed=2),
            "commit": lambda: commit_team(4, seed=2), "gossip": lambda: gossip_team(8, seed=2)}[workload]()
    spec = spec.replace(execution="asynchronous", network=NET)
    trace = await record(spec)
    last = max(e.round for e in trace)
    for k in sorted({1, last // 2, last - 1}):
        fork = await fork_asynchronous(trace, k, spec, run_id="orig")
        assert events_to_jsonl(fork.events) == events_to_jsonl(through_slice(trace, k)), f"slice {k} of {last}"
        await fork.aclose()


@aio
async def test_turns_begun_before_the_fork_point_are_the_recorded_ones_and_later_ones_are_live() -> None:
    spec = spec_of()
    trace = await record(spec)
    live = MockBackend(lambda r: AgentReply(r.agent, r.question.options[3], 0.9, "live", 0, 0, 0.4))
    fork = await fork_asynchronous(trace, 2, spec, backends=live, run_id="orig")
    await fork.step()
    await fork.step()
    recorded = {(e.agent, e.t_start): e.value for e in trace if e.kind == "AgentReplied"}
    after = [e for e in fork.events[len(through_slice(trace, 2)):] if e.kind == "AgentReplied"]
    began_before = [e for e in after if e.t_start <= 2.0]
    assert began_before and all(e.value == recorded[(e.agent, e.t_start)] for e in began_before), \
        "a turn under way at the fork point ends as recorded"
    began_after = [e for e in after if e.t_start > 2.0]
    assert began_after and {e.value for e in began_after} == {fork.question.options[3]}
    assert all(r.round >= 1 for r in live.calls), "the live backend is asked for the agents' own turns"


@aio
async def test_a_run_stopped_mid_slice_forks_exactly_where_it_stands() -> None:
    spec = spec_of(FAULTS["straggler"], detector={"timeout_s": 2.0})
    async with Run(spec, run_id="orig") as run:
        await run.step()
        await run.step()
        for _ in range(7):
            await run.advance(1)
        fork = await fork_asynchronous(run.events, 2, spec, run_id="orig", through=len(run.events))
        assert events_to_jsonl(fork.events) == events_to_jsonl(run.events)
        assert (fork.round, fork.clock) == (run.round, run.clock) == (3, run.clock)
        closed = await fork.step()  # the rest of slice 3, live
        assert closed.round == 3 and fork.events[-1].kind == "RoundEnded" and fork.events[-1].t_end == 3.0
        await fork.aclose()


@aio
async def test_a_fork_with_another_seed_keeps_the_recorded_prefix_and_draws_anew_after_it() -> None:
    spec = spec_of(FAULTS["drop"])
    trace = await record(spec)
    other = spec.replace(seed=11, task=spec.task.replace(seed=3))  # the same question (as the lab's fork keeps it)
    fork = await fork_asynchronous(trace, 3, other, run_id="orig")
    prefix = through_slice(trace, 3)
    assert events_to_jsonl(fork.events[1:]) == events_to_jsonl(prefix[1:]), "only RunStarted's spec differs"
    assert '"seed": 11' in fork.events[0].detail
    await fork.run()
    rest = [(e.kind, e.agent, e.peer, e.t_end) for e in fork.events[len(prefix):] if e.kind == "MessageDelivered"]
    recorded = [(e.kind, e.agent, e.peer, e.t_end) for e in trace[len(prefix):] if e.kind == "MessageDelivered"]
    assert rest and rest != recorded, "after the fork point the new seed draws the link delays"


@aio
async def test_a_replay_of_an_asynchronous_trace_forks_the_same_way() -> None:
    spec = spec_of(FAULTS["crash_recover"], detector={"timeout_s": 2.0})
    trace = await record(spec)
    fork = await ReplayRun(trace).fork(4, run_id="orig")
    assert events_to_jsonl(fork.events) == events_to_jsonl(through_slice(trace, 4))
    await fork.aclose()


@aio
async def test_forks_that_cannot_re_execute_the_run_are_refused_clearly() -> None:
    spec = spec_of()
    trace = await record(spec)
    with pytest.raises(LifecycleError, match=r"needs the recorded agents .*'a4'"):
        await fork_asynchronous(trace, 2, spec_of(n=4), run_id="x")
    with pytest.raises(LifecycleError, match="execution is 'synchronous'"):
        await fork_asynchronous(trace, 2, spec.replace(execution="synchronous", network=None), run_id="x")


@aio
async def test_a_real_model_run_in_real_time_forks_in_virtual_time_then_follows_the_wall_clock() -> None:
    with serving(competence=0.9) as (server, url):
        spec = no_stop(openai_team(url, n=3, seed=2, max_rounds=500)).replace(
            execution="asynchronous", network={"delay_s": 0.05, "tick_s": 0.2})
        async with Run(spec, run_id="orig") as run:
            assert run.execution.realtime
            while sum(e.kind == "AgentReplied" for e in run.events) < 6 and not run.done:  # the calls return
                await run.step()                                                           # when they do
            assert not run.done, [(e.kind, e.agent, e.detail) for e in run.events if e.kind == "AgentFailed"][:3]
            await run.step()
            trace = list(run.events)
        k = run.round - 1
        requests = server.stats.requests
        fork = await fork_asynchronous(trace, k, spec, run_id="orig")
        try:
            assert events_to_jsonl(fork.events) == events_to_jsonl(through_slice(trace, k))
            split = fork.clock
            assert fork.execution.realtime and split == trace[len(fork.events) - 1].t_end
            while not any(e.kind == "AgentReplied" and e.t_start > split for e in fork.events) and not fork.done:
                await fork.step()  # a turn begun after the fork point: live again, over HTTP
            assert not fork.done, (fork.end_reason, [(e.kind, e.agent, e.t_end) for e in fork.events[-8:]])
            assert server.stats.requests > requests
        finally:
            await fork.aclose()
