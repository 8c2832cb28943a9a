"""Consensus metrics checked on hand-built event frames (formulas in metrics.consensus)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from llmteams_lab.events import (
    AgentFailed,
    AgentReplied,
    AnswersTallied,
    RoundEnded,
    RunStarted,
)
from llmteams_lab.metrics import (
    answer_tallies,
    convergence,
    events_frame,
    rounds_to_consensus,
)


class Log:
    """Builds a run's events by hand, numbering ``seq``."""

    def __init__(self, run_id: str) -> None:
        self.run_id, self.rows = run_id, []

    def add(self, cls, round, agent=None, peer=None, **fields):
        self.rows.append(cls(self.run_id, round, len(self.rows), agent, peer, **fields))
        return self


def reply(log: Log, round: int, agent: str, value: str, truth: str = "A") -> None:
    log.add(AgentReplied, round, agent, value=value, correct=value == truth, tokens_in=10, tokens_out=2)


def debate_log() -> list:
    """r1: a=A b=A c=B (truth A), d failed; r2: all A; r3: a flips to B."""
    log = Log("run-1").add(RunStarted, 0)
    for agent, value in (("a", "A"), ("b", "A"), ("c", "B")):
        reply(log, 1, agent, value)
    log.add(AgentFailed, 1, "d", fault="timeout")
    log.add(RoundEnded, 1, value="A", correct=True)
    for agent in "abcd":
        reply(log, 2, agent, "A")
    log.add(RoundEnded, 2, value="A", correct=True, detail="consensus")
    for agent, value in (("a", "B"), ("b", "A"), ("c", "A"), ("d", "A")):
        reply(log, 3, agent, value)
    log.add(RoundEnded, 3, value="A", correct=True)
    return log.rows


def undecided_log() -> list:
    """Another run in the same frame: four options split, never agreeing, no decision."""
    log = Log("run-2")
    for r in (1, 2):
        for agent, value in (("x", "A"), ("y", "B"), ("z", "C"), ("w", "D")):
            reply(log, r, agent, value)
        log.add(RoundEnded, r)
    return log.rows


def entropy(*shares: float) -> float:
    return -sum(p * math.log2(p) for p in shares)


def test_convergence_formulas_per_round() -> None:
    conv = convergence(events_frame(debate_log() + undecided_log()))
    assert conv.columns == ["run_id", "round", "agents", "replies", "agreement", "entropy", "accuracy",
                            "team_value", "team_correct", "flips"]
    rows = conv.rows(named=True)
    r1, r2, r3, u1, u2 = rows
    # d's call failed before it ever answered: it is live and holds no answer, so it counts
    # among the agents (and blocks consensus) but not among the replies or the entropy
    assert (r1["run_id"], r1["round"], r1["agents"], r1["replies"]) == ("run-1", 1, 4, 3)
    assert r1["agreement"] == pytest.approx(2 / 4)
    assert r1["entropy"] == pytest.approx(entropy(2 / 3, 1 / 3))
    assert r1["accuracy"] == pytest.approx(2 / 4)
    assert (r1["team_value"], r1["team_correct"], r1["flips"]) == ("A", True, 0)
    assert (r2["agreement"], r2["entropy"], r2["accuracy"], r2["flips"]) == (1.0, 0.0, 1.0, 1)  # c: B → A
    assert r3["agreement"] == 0.75 and r3["accuracy"] == 0.75 and r3["flips"] == 1  # a: A → B
    assert r3["entropy"] == pytest.approx(entropy(0.75, 0.25))
    assert (u1["run_id"], u1["agreement"], u1["entropy"], u1["accuracy"]) == ("run-2", 0.25, 2.0, 0.25)
    assert u1["team_value"] is None and u1["team_correct"] is None and u2["flips"] == 0


def test_rounds_to_consensus_is_the_first_unanimous_round_or_null() -> None:
    out = rounds_to_consensus(events_frame(debate_log() + undecided_log()))
    assert out.rows() == [("run-1", 2), ("run-2", None)]


def test_answer_tallies_count_agents_per_value() -> None:
    tallies = answer_tallies(events_frame(debate_log()))
    assert tallies.filter(pl.col("round") == 1).select("value", "correct", "count").rows() == [
        ("A", True, 2), ("B", False, 1)]


def test_aggregated_rows_give_the_same_convergence() -> None:
    log = Log("run-1").add(RunStarted, 0)
    log.add(AnswersTallied, 1, value="A", correct=True, count=2, tokens_in=20, tokens_out=4)
    log.add(AnswersTallied, 1, value="B", correct=False, count=1, tokens_in=10, tokens_out=2)
    log.add(AgentFailed, 1, "d", fault="timeout")
    log.add(RoundEnded, 1, value="A", correct=True)
    log.add(AnswersTallied, 2, value="A", correct=True, count=4, tokens_in=40, tokens_out=8)
    log.add(RoundEnded, 2, value="A", correct=True, detail="consensus")
    aggregated = convergence(events_frame(log.rows))
    per_agent = convergence(events_frame(debate_log())).filter(pl.col("round") <= 2)
    assert aggregated.drop("flips").equals(per_agent.drop("flips"))
    assert aggregated["flips"].null_count() == 2


def test_empty_frame_gives_empty_results() -> None:
    empty = events_frame([])
    assert convergence(empty).is_empty() and rounds_to_consensus(empty).is_empty()


# --- one definition of consensus: engine stop rule, RoundSummary, convergence, replay ---------------

def _steps(spec, backend=None) -> tuple[list, list]:
    """Step ``spec`` to its end; (RoundSummary per step, events)."""
    import asyncio

    from llmteams_lab import Run

    async def main():
        async with Run(spec, backends=backend) as run:
            summaries = []
            while not run.done:
                summaries.append(await run.step())
            return summaries, list(run.events)

    return asyncio.run(main())


def _replayed(events: list) -> list[float]:
    import asyncio

    from llmteams_lab.datasets import ReplayRun

    async def main():
        replay = ReplayRun(events)
        out = []
        while not replay.done:
            out.append((await replay.step()).agreement)
        return out

    return asyncio.run(main())


def assert_one_definition(spec, backend=None) -> pl.DataFrame:
    """Every place that says how far a team agrees says the same, round by round."""
    summaries, events = _steps(spec, backend)
    frame = events_frame(events)
    conv = convergence(frame).filter(pl.col("round") <= summaries[-1].round)
    by_round = {s.round: s.agreement for s in summaries}
    assert conv["agreement"].to_list() == pytest.approx([by_round[r] for r in conv["round"].to_list()])
    first = rounds_to_consensus(frame)["rounds_to_consensus"].item()
    stopped = [s.round for s in summaries if s.reason == "consensus"]
    if spec.protocol.kind == "debate" and spec.protocol.stop_at_consensus:
        assert stopped == ([] if first is None else [first])  # the engine stops exactly there
    assert _replayed(events) == pytest.approx([by_round[r] for r in sorted(by_round)])
    return conv


def script_of(table: dict[tuple[str, int], object]):
    """A MockBackend script: (agent, round) -> answer letter or an exception instance;
    anything not listed answers "A"."""
    def script(request):
        return table.get((request.agent, request.round), "A")
    return script


def test_a_live_agent_whose_call_fails_still_counts_by_the_answer_it_holds() -> None:
    from llmteams_lab import team
    from llmteams_lab.backends import MockBackend
    from llmteams_lab.errors import BackendTimeoutError, ServerError

    # a6 said B in round 1, then its calls fail in rounds 2–3; everyone else says A
    table = {("a6", 1): "B", ("a6", 2): BackendTimeoutError("slow"), ("a6", 3): ServerError("500")}
    spec = team(7, protocol="debate", backend="mock", max_rounds=5)
    conv = assert_one_definition(spec, MockBackend(script_of(table)))
    # skip: a6 still holds B in rounds 2–3, so 6 of 7 agree until it says A in round 4
    assert conv["agreement"].to_list() == pytest.approx([6 / 7, 6 / 7, 6 / 7, 1.0])
    assert conv["replies"].to_list() == [7, 6, 6, 7] and conv["agents"].to_list() == [7] * 4
    abstain = spec.replace(failure_policy={"on_error": "abstain"})
    conv = assert_one_definition(abstain, MockBackend(script_of(table)))
    # abstain: the failed call withdraws a6's answer — it holds none, and still blocks consensus
    assert conv["agreement"].to_list() == pytest.approx([6 / 7, 6 / 7, 6 / 7, 1.0])


def test_an_agent_that_never_answers_blocks_consensus_to_the_round_budget() -> None:
    """The issue's case: a6 times out every round. Counting only this round's replies
    said "consensus in round 1" while the debate ran to its budget; now both say never."""
    from llmteams_lab import team
    from llmteams_lab.backends import MockBackend
    from llmteams_lab.errors import BackendTimeoutError

    table = {("a6", r): BackendTimeoutError("slow") for r in range(1, 5)}
    spec = team(7, protocol="debate", backend="mock", max_rounds=4)
    conv = assert_one_definition(spec, MockBackend(script_of(table)))
    assert conv["agreement"].to_list() == pytest.approx([6 / 7] * 4)
    summaries, events = _steps(spec, MockBackend(script_of(table)))
    assert summaries[-1].reason == "max_rounds"
    assert rounds_to_consensus(events_frame(events))["rounds_to_consensus"].to_list() == [None]


def test_down_agents_do_not_count() -> None:
    from llmteams_lab import team
    from llmteams_lab.backends import MockBackend
    from llmteams_lab.spec import FaultSpec

    table = {("a6", 1): "B"}
    spec = team(7, protocol="debate", backend="mock", max_rounds=4).replace(
        faults=[FaultSpec(kind="crash", agent="a6", at_round=2)])
    conv = assert_one_definition(spec, MockBackend(script_of(table)))
    # round 2: a6 is down, the six live agents all hold A — consensus, and the debate stops
    assert conv["agreement"].to_list() == pytest.approx([6 / 7, 1.0]) and conv["agents"].to_list() == [7, 6]


@pytest.mark.parametrize("logging", ["messages", "rounds"])
@pytest.mark.parametrize("policy", ["skip", "abstain", "retry"])
@pytest.mark.parametrize("seed", range(6))
def test_simulated_teams_with_timeouts_and_server_errors_agree_everywhere(logging: str, policy: str,
                                                                            seed: int) -> None:
    from llmteams_lab import team
    from llmteams_lab.spec import FaultSpec

    spec = team(6, protocol="debate", competence=0.6, conformity=0.7, max_rounds=8, seed=seed,
                logging=logging).replace(
        faults=[FaultSpec(kind="timeout", agent="a1", probability=0.5),
                FaultSpec(kind="server_error", group=("a2", "a3"), probability=0.3)],
        failure_policy={"on_error": policy, **({"retries": 1, "backoff_s": 0.1} if policy == "retry" else {})})
    conv = assert_one_definition(spec)
    assert (conv["agents"] == 6).all()


# --- known answers from the binomial distribution ---------------------------------------------------

def _binomial_band(p: float, trials: int, hits: int) -> None:
    """``hits`` of ``trials`` lies within 4.5 standard deviations of trials · p."""
    sd = math.sqrt(trials * p * (1 - p))
    assert abs(hits - trials * p) <= 4.5 * sd, (hits, trials * p, sd)


def test_consensus_in_round_1_has_the_binomial_probability_of_no_failed_call() -> None:
    """Five agents who all answer the truth, each call timing out with probability q = 0.3
    (abstain withdraws the answer). Counting every live agent, the team agrees in round 1
    exactly when no call failed: P = (1 − q)^5 = 0.168, and by round 3 with
    1 − (1 − 0.168)^3. (Counting only this round's replies said "always round 1".)"""
    from llmteams_lab import team
    from llmteams_lab.backends import MockBackend
    from llmteams_lab.spec import FaultSpec
    from tests.support import run_all

    trials, q, n = 300, 0.3, 5
    firsts = []
    for seed in range(trials):
        spec = team(n, protocol="debate", backend="mock", max_rounds=3, seed=seed).replace(
            faults=[FaultSpec(kind="timeout", probability=q)], failure_policy={"on_error": "abstain"})
        firsts.append(rounds_to_consensus(events_frame(run_all(spec, MockBackend())[1]))["rounds_to_consensus"][0])
    p1 = (1 - q) ** n
    _binomial_band(p1, trials, firsts.count(1))
    _binomial_band(1 - (1 - p1) ** 3, trials, sum(f is not None for f in firsts))


def test_majority_team_accuracy_is_the_binomial_tail_the_jury_theorem_names() -> None:
    """n = 5 independent agents, each right with probability c = 0.6, two options: the
    majority is right with P = Σ_{k ≥ 3} C(5, k) c^k (1 − c)^(5 − k) = 0.68256."""
    from llmteams_lab import team
    from tests.support import run_all

    trials, c, n = 600, 0.6, 5
    right = 0
    for seed in range(trials):
        spec = team(n, protocol="majority", options=2, competence=c, seed=seed, logging="rounds")
        run, _ = run_all(spec)
        right += bool(run.result().correct)
    p = sum(math.comb(n, k) * c ** k * (1 - c) ** (n - k) for k in range(3, n + 1))
    assert p == pytest.approx(0.68256)
    _binomial_band(p, trials, right)
