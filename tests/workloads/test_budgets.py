"""Every role-playing workload's simulated agents bound their round: a token cap set on an
election, commit or gossip team is never exceeded, in either execution model (their
``worst_case_round`` is exact, so the engine never has to guess from earlier rounds)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import Run, run_sync
from llmteams_lab.spec import commit_team, election_team, gossip_team

MAKERS = {
    "election": lambda seed, execution: election_team(5, seed=seed, decisions=4, max_rounds=150, execution=execution),
    "election_assign": lambda seed, execution: election_team(
        5, seed=seed, duty="assign", work={"parallel_fraction": 0.75, "size": 8}, max_rounds=300, execution=execution),
    "commit": lambda seed, execution: commit_team(3, seed=seed, max_rounds=200, execution=execution),
    "gossip": lambda seed, execution: gossip_team(24, seed=seed, execution=execution),
}


def _spent(result) -> int:
    return sum(e.tokens_in + e.tokens_out for e in result.records if e.kind in ("AgentReplied", "AgentFailed"))


@pytest.mark.parametrize("workload", sorted(MAKERS))
def test_the_simulated_agents_bound_their_round(workload: str) -> None:
    run = Run(MAKERS[workload](1, "synchronous"))
    tokens, cost, bounded = run.worst_case_round()
    assert bounded and tokens > 0 and cost == 0.0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MAKERS)), st.sampled_from(["synchronous", "asynchronous"]), st.integers(0, 500),
       st.floats(0.05, 0.9))
def test_a_token_cap_is_never_exceeded(workload: str, execution: str, seed: int, share: float) -> None:
    spec = MAKERS[workload](seed, execution)
    full = _spent(run_sync(spec))
    cap = max(1, int(full * share))
    capped = run_sync(spec.replace(budgets=spec.budgets.replace(max_tokens=cap)))
    assert _spent(capped) <= cap
    assert [e.detail for e in capped.records if e.kind == "RunEnded"] == ["budget_tokens"]
