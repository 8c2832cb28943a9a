"""Election teams end to end: both execution models, a leader crash, split votes, a
partitioned old leader, agents that break the rules."""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest

from llmteams_lab import Run
from llmteams_lab.backends import MockBackend
from llmteams_lab.messages import AgentReply
from llmteams_lab.metrics import check_run, election_summary, events_frame, failovers
from llmteams_lab.spec import election_team
from tests.support import of, run_all


def checks(events) -> dict[str, bool]:
    return dict(check_run(events_frame(events)).select("check", "ok").rows())


@pytest.mark.parametrize("execution", ["asynchronous", "synchronous"])
def test_a_team_elects_a_leader_and_commits_its_decisions(execution: str) -> None:
    run, events = run_all(election_team(5, seed=3, decisions=3, execution=execution))
    assert run.end_reason == "committed"
    assert len(of(events, "EntryCommitted")) == 3 and len({e.value for e in of(events, "LeaderElected")}) >= 1
    assert all(checks(events).values())
    value, correct = run.workload.outcome()
    assert value == "; ".join(e.value for e in of(events, "EntryCommitted"))
    assert correct == all(e.correct for e in of(events, "EntryCommitted"))
    state = run.state()
    leader = of(events, "LeaderElected")[-1].agent
    assert state[leader]["role"] == "leader" and state[leader]["badge"].startswith("♛ t")
    assert all(s["commit"] >= 0 and "term" in s for s in state.values())


async def _crash_the_first_leader(seed: int):
    spec = election_team(5, seed=seed, decisions=4, max_rounds=150)
    async with Run(spec) as run:
        leader = None
        while not run.done:
            await run.step()
            elected = [e for e in run.events if e.kind == "LeaderElected"]
            if elected and leader is None and any(e.kind == "EntryCommitted" for e in run.events):
                leader = elected[-1].agent
                run.inject({"kind": "crash", "agent": leader})
        return run, list(run.events), leader


def test_when_the_leader_crashes_a_new_one_takes_over_and_keeps_what_was_committed() -> None:
    run, events, first = asyncio.run(_crash_the_first_leader(4))
    assert run.end_reason == "committed"
    later = [e for e in of(events, "LeaderElected") if e.agent != first]
    assert later and int(later[0].value) > int(of(events, "LeaderElected", agent=first)[0].value)
    committed_before = [e.value for e in of(events, "EntryCommitted", agent=first)]
    log = [entry[2] for entry in json.loads(later[0].detail)["log"] if entry[1] >= 0]
    assert log[: len(committed_before)] == committed_before
    assert all(checks(events).values())
    table = failovers(events_frame(events))
    assert table.height == 1 and table["lost"][0] == first and 0 < table["timeouts"][0] < 10


def test_without_randomised_timeouts_votes_split_for_ever() -> None:
    stuck, events = run_all(election_team(5, seed=1, decisions=1, timeout_spread=0.0, max_rounds=120))
    summary = election_summary(events_frame(events))
    assert stuck.end_reason == "max_rounds" and summary["leaders"][0] == 0 and summary["split_votes"][0] >= 3
    assert checks(events)["election_safety"]
    _, events = run_all(election_team(5, seed=1, decisions=1, timeout_spread=1.0, max_rounds=120))
    assert election_summary(events_frame(events))["leaders"][0] >= 1


async def _partition_the_leader() -> tuple[str, list, dict]:
    async with Run(election_team(5, seed=2, decisions=8, max_rounds=300)) as run:
        old = None
        while not run.done:
            await run.step()
            elected = [e for e in run.events if e.kind == "LeaderElected"]
            if elected and old is None:
                old = elected[-1].agent
                run.inject({"kind": "partition", "groups": [[old]], "heal_round": run.round + 25})
        return old, list(run.events), run.state()


def test_a_partitioned_old_leader_steps_down_when_the_partition_heals() -> None:
    old, events, state = asyncio.run(_partition_the_leader())
    new = [e for e in of(events, "LeaderElected") if e.agent != old]
    assert new, "the majority side elected a new leader"
    stranded = [e for e in of(events, "EntryProposed", agent=old) if e.seq > of(events, "FaultApplied", value="start")[0].seq]
    assert stranded, "the old leader kept proposing on its side of the partition"
    stepped = of(events, "SteppedDown", agent=old)
    assert stepped and int(stepped[0].value) >= int(new[0].value)
    assert all(e.agent != old for e in of(events, "EntryCommitted") if e.seq > new[0].seq)
    assert all(checks(events).values())
    leader = state[new[-1].agent]
    assert state[old]["log"][: state[old]["commit"]] == leader["log"][: state[old]["commit"]]  # it caught up


def _rule_breaker(request):
    """a1 votes for whoever it likes (even itself, even twice) and proposes a non-option."""
    view = request.view
    actions = []
    if "vote" in view.get("decide", ()) or request.agent == "a1":
        actions.append(("vote", "a1" if request.agent == "a1" else (view.get("candidates") or ["a9"])[0]))
    if "stand" in view.get("decide", ()):
        actions.append(("stand",))
    if "propose" in view.get("decide", ()):
        actions.append(("propose", "not-an-option" if request.agent == "a1" else request.question.options[0]))
    return AgentReply(request.agent, None, None, "", 10, 5, 0.5, actions=tuple(actions))


def test_choices_the_rules_forbid_are_refused_and_recorded_and_safety_holds() -> None:
    _, events = run_all(election_team(4, seed=5, decisions=2, max_rounds=120), MockBackend(_rule_breaker))
    refused = of(events, "ActionRefused")
    assert {e.value for e in refused} >= {"vote"}
    frame = events_frame(events)
    assert frame.filter(pl.col("kind") == "VoteGranted").group_by("agent", "value").len()["len"].max() == 1
    assert all(v for k, v in checks(events).items() if k != "leader_within_timeouts")
