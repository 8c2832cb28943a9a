"""Push gossip matches the theory, and costs O(n log n) messages where all-to-all costs O(n²).

The known answer (Frieze and Grimmett 1985; Pittel 1987): push gossip with fanout 1 on
the complete graph informs all n agents in S_n = log2 n + ln n + O(1) rounds, with
probability tending to 1 — the O(1) term bounded, the spread of S_n of a round or two.
So over many seeds (i) the mean of S_n sits within a constant of log2 n + ln n, at every
n, and (ii) it grows between sizes by the theory's difference (the constant cancels),
which a wrong model would miss by rounds: pushing every other round doubles it, fanout 2
makes it log3 n + ln n / 2, pull-only adds log log n instead of ln n.

Messages: each informed agent sends one message a round, so a run costs about
n · (ln n + 2) messages (~2n while the informed double, ~n ln n while the last agents
are found), against n(n − 1) for one round of all-to-all (a debate's round).
Runs are deterministic per seed, so these statistical checks never flake.
"""

from __future__ import annotations

import math
import statistics

import pytest

from llmteams_lab import team
from llmteams_lab.metrics import events_frame, gossip_summary, overhead
from llmteams_lab.spec import gossip_team
from tests.support import run_all

SIZES = (32, 128, 512)
SEEDS = range(20)


def theory(n: int) -> float:
    return math.log2(n) + math.log(n)


@pytest.fixture(scope="module")
def push_runs() -> dict[int, list[dict]]:
    runs = {}
    for n in SIZES:
        rows = []
        for seed in SEEDS:
            _, events = run_all(gossip_team(n, seed=seed, profile={"latency_jitter": 0.0}))
            rows.append(gossip_summary(events_frame(events)).row(0, named=True))
        runs[n] = rows
    return runs


def test_push_gossip_takes_log2_n_plus_ln_n_rounds(push_runs) -> None:
    means = {}
    for n, rows in push_runs.items():
        rounds = [r["rounds_to_all"] for r in rows]
        assert all(r is not None for r in rounds), "push gossip without faults informs everyone"
        means[n] = statistics.mean(rounds)
        assert -1.0 <= means[n] - theory(n) <= 2.5, (n, means[n], theory(n))
        assert all(abs(r - theory(n)) <= 6 for r in rounds), (n, rounds)
    growth = means[SIZES[-1]] - means[SIZES[0]]
    assert abs(growth - (theory(SIZES[-1]) - theory(SIZES[0]))) <= 1.5, (growth, means)


def test_gossip_costs_n_log_n_messages_where_all_to_all_costs_n_squared(push_runs) -> None:
    per = {n: statistics.mean(r["messages_to_all"] for r in rows) / (n * math.log(n)) for n, rows in push_runs.items()}
    assert all(0.8 <= v <= 2.5 for v in per.values()), per  # Θ(n log n), the constant ≈ 1 + 2 / ln n
    assert max(per.values()) / min(per.values()) < 1.6, per
    ratio = {}
    for n in SIZES[:2]:
        _, debate = run_all(team(n, protocol="debate", max_rounds=1))
        all_to_all = overhead(events_frame(debate))["messages"][0]
        assert all_to_all == n * (n - 1)  # one round of all-to-all debate
        ratio[n] = all_to_all / statistics.mean(r["messages_to_all"] for r in push_runs[n])
    # one all-to-all round over a whole gossip run grows like n / ln n: x2.9 from 32 to 128 agents
    assert ratio[SIZES[1]] / ratio[SIZES[0]] > 2.2, ratio


def test_push_pull_and_a_larger_fanout_reach_everyone_sooner() -> None:
    def mean_rounds(**gossip) -> float:
        rows = [gossip_summary(events_frame(run_all(gossip_team(128, seed=s, **gossip))[1])).row(0, named=True)
                for s in range(8)]
        return statistics.mean(r["rounds_to_all"] for r in rows)

    push = mean_rounds()
    assert mean_rounds(mode="push_pull") < push - 2
    assert mean_rounds(fanout=2) < push - 2
