"""Hard budgets on simulated teams: a round that cannot be afforded never starts (round 1
included), the worst case counts what faults put in inboxes, and the wall-time budget
cuts the round at its deadline (each cancelled call an event)."""

from __future__ import annotations

import asyncio

import pytest

from llmteams_lab import Run, run_sync, team
from llmteams_lab.spec import work_team
from tests.support import no_stop, of


def spent(events) -> int:
    return sum(e.tokens_in + e.tokens_out for e in events if e.kind in ("AgentReplied", "AgentFailed",
                                                                          "AnswersTallied"))


@pytest.mark.parametrize("logging", ["messages", "rounds"])
def test_a_zero_token_budget_runs_no_round_at_all(logging) -> None:
    spec = team(5, max_rounds=4, logging=logging)
    result = run_sync(spec.replace(budgets=spec.budgets.replace(max_tokens=0)))
    assert (result.rounds, result.reason) == (0, "budget_tokens")  # round 1 used to run anyway
    assert spent(result.records) == 0 and not of(result.records, "RoundStarted")


def test_the_first_rounds_exact_cost_is_allowed_one_token_less_is_not() -> None:
    spec = no_stop(team(4, topology="ring", max_rounds=3, seed=2))
    first = run_sync(spec.replace(budgets=spec.budgets.replace(max_rounds=1)))
    cost = spent(first.records)
    assert cost == 4 * (200 + 60)  # the profile: prompt_tokens + reply_tokens, nothing read in round 1
    exact = run_sync(spec.replace(budgets=spec.budgets.replace(max_tokens=cost)))
    short = run_sync(spec.replace(budgets=spec.budgets.replace(max_tokens=cost - 1)))
    assert (exact.rounds, exact.reason, spent(exact.records)) == (1, "budget_tokens", cost)
    assert (short.rounds, short.reason) == (0, "budget_tokens")


ADVERSARIAL = [  # faults that swell inboxes or stretch rounds, on several topologies
    ({"kind": "duplicate"}, "complete"),
    ({"kind": "duplicate", "probability": 0.7}, "ring"),
    ({"kind": "delay", "rounds": 2}, "complete"),
    ({"kind": "reorder", "probability": 0.5}, "small_world"),
    ({"kind": "crash_recover", "agent": "a1", "start_round": 2, "end_round": 3}, "star"),
    ({"kind": "straggler", "agent": "a2", "factor": 9.0}, "tree"),
    ({"kind": "timeout", "probability": 0.3}, "complete"),
]


@pytest.mark.parametrize(("fault", "topology"), ADVERSARIAL)
@pytest.mark.parametrize("fraction", [0.35, 0.6, 0.9])
def test_token_budgets_hold_under_faults_that_swell_inboxes(fault, topology, fraction) -> None:
    base = no_stop(team(7, topology=topology, max_rounds=8, seed=5)).replace(
        faults=[fault], failure_policy={"on_error": "retry", "retries": 1, "backoff_s": 0.0})
    unlimited = spent(run_sync(base).records)
    budget = int(unlimited * fraction)
    result = run_sync(base.replace(budgets=base.budgets.replace(max_tokens=budget)))
    assert result.reason == "budget_tokens" and spent(result.records) <= budget  # duplicates once blew it by 32 %


def test_the_worst_case_of_every_round_covers_what_it_spends_with_duplicates() -> None:
    async def main() -> list[tuple[int, int]]:
        spec = no_stop(team(6, max_rounds=5, seed=1)).replace(faults=[{"kind": "duplicate"},
                                                                      {"kind": "delay", "rounds": 1,
                                                                       "probability": 0.5}])
        out = []
        async with Run(spec) as run:
            while not run.done:
                bound, _, bounded = run.worst_case_round()
                before = run.tokens_used
                await run.step()
                assert bounded
                out.append((run.tokens_used - before, bound))
        return out

    rounds = asyncio.run(main())
    assert all(used <= bound for used, bound in rounds)
    assert any(used == bound for used, bound in rounds[1:])  # exact for simulated agents: no slack


def test_a_work_division_team_keeps_its_token_budget() -> None:
    spec = work_team(4, p=0.5, seed=2)
    unlimited = spent(run_sync(spec).records)
    result = run_sync(spec.replace(budgets=spec.budgets.replace(max_tokens=unlimited // 3)))
    assert result.reason == "budget_tokens" and spent(result.records) <= unlimited // 3


def test_the_wall_time_budget_cuts_a_round_at_its_deadline_on_the_runs_clock() -> None:
    spec = no_stop(team(5, max_rounds=10, seed=3, latency_s=1.0, latency_jitter=0.5))
    spec = spec.replace(budgets=spec.budgets.replace(max_wall_s=2.5))
    result = run_sync(spec)
    ends = [e.t_end for e in result.records if e.kind == "RoundEnded"]
    assert result.reason == "budget_wall" and max(ends) <= 2.5  # a round used to finish past the budget
    cancelled = of(result.records, "AgentFailed", fault="cancelled")
    assert cancelled and all(e.t_end == 2.5 and "wall-time budget's deadline" in e.detail for e in cancelled)
    last = result.records[-1]
    assert last.kind == "RunEnded" and last.detail == "budget_wall"


def test_cancelled_calls_do_not_trigger_the_failure_policy() -> None:
    spec = no_stop(team(4, max_rounds=5, seed=3, latency_s=1.0, latency_jitter=0.5)).replace(
        failure_policy={"on_error": "stop"})
    result = run_sync(spec.replace(budgets=spec.budgets.replace(max_wall_s=1.6)))
    assert result.reason == "budget_wall"  # not failure_policy_stop


def test_the_previewed_inbox_sizes_are_what_agents_then_read() -> None:
    """Ground truth: a simulated agent's input tokens are prompt_tokens + 40 per message read."""

    async def main() -> None:
        spec = no_stop(team(7, topology="small_world", max_rounds=5, seed=4)).replace(
            faults=[{"kind": "duplicate", "probability": 0.5}, {"kind": "delay", "rounds": 1, "probability": 0.3},
                    {"kind": "drop", "probability": 0.2}, {"kind": "reorder", "probability": 0.2}])
        async with Run(spec) as run:
            while not run.done:
                r = run.round + 1
                sizes, peeked = run.network.pending_sizes(r), run.network.peek_inbox(r)
                await run.step()
                assert sizes.tolist() == peeked.size.tolist()
                read = {e.agent: (e.tokens_in - 200) // 40 for e in run.events
                        if e.kind == "AgentReplied" and e.round == r}
                assert read == {aid: int(sizes[i]) for i, aid in enumerate(spec.ids) if aid in read}

    asyncio.run(main())
