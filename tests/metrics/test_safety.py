"""Protocol-aware safety and liveness checks, and the shortest prefix that shows a violation.

Three kinds of test: healthy runs of every protocol raise no violation (also with
faults: the properties are the protocol's rule, whatever its agents say); a violation
constructed for each property (a real run's log with one thing changed) is caught with
the shortest prefix; the consensus problem's own properties are there when asked for.
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import team
from llmteams_lab.backends import MockBackend
from llmteams_lab.metrics import (
    PROPERTIES,
    check_agreement,
    check_run,
    check_termination,
    check_validity,
    declared_properties,
    events_frame,
    prefix,
)
from llmteams_lab.protocols import PROTOCOLS
from llmteams_lab.spec import FaultSpec, TeamSpec, work_team
from tests.support import no_stop, run_all


def frame(spec: TeamSpec, backend=None) -> pl.DataFrame:
    return events_frame(run_all(spec, backend)[1])


def verdicts(table: pl.DataFrame) -> dict[str, tuple]:
    return {row["check"]: (row["ok"], row["prefix_rounds"]) for row in table.iter_rows(named=True)}


def edit(events: pl.DataFrame, where: pl.Expr, **values) -> pl.DataFrame:
    """The log with ``values`` written into the rows matching ``where``."""
    return events.with_columns(**{c: pl.when(where).then(pl.lit(v, dtype=events.schema[c])).otherwise(pl.col(c))
                                  for c, v in values.items()})


def at(kind: str, round: int, agent: str | None = None) -> pl.Expr:
    cond = (pl.col("kind") == kind) & (pl.col("round") == round)
    return cond & (pl.col("agent") == agent) if agent else cond


def healthy(protocol: str, seed: int, logging: str = "messages", **kw) -> TeamSpec:
    profile = {"competence": 0.5, "conformity": 0.5, **kw}
    return team(7, protocol=protocol, topology="star" if protocol == "leader" else "complete", seed=seed,
                max_rounds=6, logging=logging, **profile)


def assert_shortest(events: pl.DataFrame, check: str, k: int | None = None) -> int:
    """The check fails with some prefix p; it fails again on the first p rounds, not on p − 1."""
    run_id = events["run_id"][0]
    ok, p = verdicts(check_run(events, k, properties=(check,)))[check]
    assert ok is False and p is not None
    assert verdicts(check_run(prefix(events, run_id, p), k, properties=(check,)))[check] == (False, p)
    if p > 1:
        assert verdicts(check_run(prefix(events, run_id, p - 1), k, properties=(check,)))[check][0] is not False
    return p


# --- what each protocol declares, and zero false positives ------------------------------------------

def test_every_protocol_declares_properties_the_registry_can_check() -> None:
    for cls in PROTOCOLS.values():
        assert cls.properties and set(cls.properties) <= set(PROPERTIES)
        assert ("termination" in cls.properties) == (cls.decides_by is not None)
    assert declared_properties(team(5, protocol="quorum")) == ("quorum", ("one_decision", "quorum_certificate",
                                                                         "decides_at_quorum"))
    assert declared_properties(work_team(2)) == ("work_division", ())


@pytest.mark.parametrize("logging", ["messages", "rounds"])
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_no_false_positives_on_fault_free_runs(protocol: str, logging: str) -> None:
    for seed in range(25):
        out = check_run(frame(healthy(protocol, seed, logging)))
        assert set(out["check"]) == set(PROTOCOLS[protocol].properties)  # it says which it ran
        assert (out["protocol"] == protocol).all()
        assert out.filter(pl.col("ok") == False).is_empty(), out  # noqa: E712 - a null is "cannot tell"
        if logging == "messages":
            assert out["ok"].all()


FAULTS = (
    lambda: FaultSpec(kind="crash", agent="a1", at_round=2),
    lambda: FaultSpec(kind="byzantine", group=("a0", "a2")),
    lambda: FaultSpec(kind="equivocator", agent="a3"),
    lambda: FaultSpec(kind="timeout", agent="a4", probability=0.5),
    lambda: FaultSpec(kind="drop", probability=0.3),
    lambda: FaultSpec(kind="crash_recover", agent="a0", start_round=1, end_round=2),
    lambda: FaultSpec(kind="server_error", group=("a5", "a6"), probability=0.4),
    lambda: FaultSpec(kind="stubborn", agent="a5"),
)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_protocols_properties_hold_whatever_faults_do(protocol: str) -> None:
    """Liars, crashes, failed calls and lost messages change what a team decides, never
    whether the protocol kept its own rule — so none of these runs may be flagged."""
    for seed in range(12):
        rng = random.Random(seed)
        spec = healthy(protocol, seed, rng.choice(["messages", "rounds"])).replace(
            faults=[f() for f in rng.sample(FAULTS, 3)],
            failure_policy={"on_error": rng.choice(["skip", "abstain", "retry"])})
        out = check_run(frame(spec))
        assert out.filter(pl.col("ok") == False).is_empty(), out  # noqa: E712


def test_healthy_quorum_runs_do_not_solve_the_consensus_problem_and_are_not_flagged_for_it() -> None:
    """The issue's case: the textbook agreement (every correct agent's last answer) fails on
    healthy quorum runs — a 2f + 1 quorum leaves dissenters — so it is not a quorum property."""
    runs = [frame(healthy("quorum", seed)) for seed in range(25)]
    textbook = [verdicts(check_agreement(events))["agreement"][0] for events in runs]
    assert textbook.count(False) > 0
    assert all(check_run(events)["ok"].all() for events in runs)


# --- a constructed violation for each property --------------------------------------------------------

def test_one_decision_catches_a_second_decision_and_a_changed_outcome() -> None:
    events = frame(healthy("majority", 1))
    other = next(v for v in ("A", "B", "C", "D") if v != events.filter(at("RoundEnded", 1))["value"][0])
    twice = edit(events, pl.col("kind") == "RunEnded", round=2)
    twice = pl.concat([twice, edit(twice.filter(at("RoundEnded", 1)), pl.lit(True), round=2, value=other,
                                   seq=10_000)])
    assert assert_shortest(twice, "one_decision") == 2
    changed = edit(events, pl.col("kind") == "RunEnded", value=other)
    assert assert_shortest(changed, "one_decision") == 1


def _minority(events: pl.DataFrame, round: int) -> str:
    held = events.filter(at("AgentReplied", round)).group_by("value").len().sort("len")
    return held["value"][0]


def test_plurality_catches_a_decision_fewer_agents_held() -> None:
    events = frame(healthy("majority", 3))
    assert assert_shortest(edit(events, at("RoundEnded", 1), value=_minority(events, 1)), "plurality") == 1


def test_weighted_plurality_catches_a_lighter_decision() -> None:
    events = frame(healthy("weighted", 3))
    assert assert_shortest(edit(events, at("RoundEnded", 1), value=_minority(events, 1)),
                           "weighted_plurality") == 1


def test_consensus_agreement_catches_a_consensus_a_live_agent_did_not_hold() -> None:
    events = frame(team(5, protocol="debate", backend="mock", max_rounds=4), MockBackend())
    assert events.filter(pl.col("kind") == "RoundEnded")["detail"].to_list() == ["consensus"]
    broken = edit(events, at("AgentReplied", 1, "a3"), value="not the decision")
    assert assert_shortest(broken, "consensus_agreement") == 1


def test_stops_at_consensus_catches_a_debate_that_ran_past_its_consensus() -> None:
    spec = team(5, protocol="debate", backend="mock", max_rounds=4)
    split = lambda request: "B" if request.agent == "a4" and request.round == 1 else "A"  # noqa: E731
    events = frame(spec, MockBackend(split))  # consensus after round 2, and it stopped there
    assert verdicts(check_run(events))["stops_at_consensus"] == (True, None)
    late = edit(events, at("RoundEnded", 2), detail=None)
    late = pl.concat([late, edit(late.filter(at("RoundEnded", 2)), pl.lit(True), round=3, detail="consensus",
                                 seq=10_000)])
    assert assert_shortest(late, "stops_at_consensus") == 2
    assert verdicts(check_run(frame(no_stop(spec), MockBackend(split))))["stops_at_consensus"] == (True, None)


def test_leader_decides_catches_a_decision_that_is_not_the_leaders() -> None:
    events = frame(healthy("leader", 2))
    leader = "a0"
    held = events.filter(at("AgentReplied", 2, leader))["value"][0]
    other = next(v for v in ("A", "B", "C", "D") if v != held)
    assert assert_shortest(edit(events, at("RoundEnded", 2), value=other), "leader_decides") == 2
    assert assert_shortest(edit(events, at("AgentReplied", 2, leader), value=other), "leader_decides") == 2


def _quorum_run() -> tuple[pl.DataFrame, int]:
    """A 7-agent quorum (q = 5) run that decided after round 2 or later."""
    for seed in range(200):
        events = frame(healthy("quorum", seed, competence=0.6))
        decided = events.filter((pl.col("kind") == "RoundEnded") & (pl.col("detail") == "quorum"))["round"]
        if decided.len() and decided[0] >= 2:
            return events, decided[0]
    raise AssertionError("no quorum run decided after round 1")


def test_quorum_certificate_catches_a_decision_without_q_matching_holders() -> None:
    events, rnd = _quorum_run()
    value = events.filter(at("RoundEnded", rnd))["value"][0]
    holders = events.filter(at("AgentReplied", rnd) & (pl.col("value") == value))["agent"].to_list()
    broken = edit(events, at("AgentReplied", rnd) & pl.col("agent").is_in(holders[:len(holders) - 4]),
                  value="dissent")
    assert assert_shortest(broken, "quorum_certificate") == rnd


def test_decides_at_quorum_catches_a_quorum_the_protocol_did_not_act_on() -> None:
    events, rnd = _quorum_run()
    early = edit(events, at("AgentReplied", rnd - 1), value="E")  # a quorum of seven, one round early
    assert assert_shortest(early, "decides_at_quorum") == rnd - 1


def test_termination_uses_the_protocols_bound_or_k() -> None:
    events = frame(healthy("majority", 0))
    assert verdicts(check_run(events))["termination"] == (True, None)  # majority decides by round 1
    late = edit(events, at("RoundEnded", 1), detail=None)
    late = pl.concat([late, edit(late.filter(at("RoundEnded", 1)), pl.lit(True), round=2, detail="voted",
                                 seq=10_000)])
    assert assert_shortest(late, "termination") == 1
    stuck = frame(no_stop(team(5, backend="mock", max_rounds=5)), MockBackend(split_vote))
    assert verdicts(check_termination(stuck, 3)) == {"termination": (False, 3)}
    assert verdicts(check_termination(stuck, 9)) == {"termination": (False, 5)}  # ended undecided
    assert verdicts(check_termination(prefix(stuck, stuck["run_id"][0], 2), 3)) == {"termination": (True, None)}
    assert verdicts(check_run(stuck, properties=("termination",)))["termination"][0] is None  # debate: no bound


# --- the consensus problem's properties, asked for by name ------------------------------------------------

def split_vote(request):
    """a4 answers a wrong option; everyone else the truth."""
    q = request.question
    return next(o for o in q.options if o != q.answer) if request.agent == "a4" else None


def test_correct_agents_that_disagree_violate_textbook_agreement_at_the_decision() -> None:
    events = frame(team(5, protocol="majority", backend="mock"), MockBackend(split_vote))
    out = check_agreement(events)
    assert verdicts(out) == {"agreement": (False, 1)}
    assert "a4='A'" in out["detail"][0] and "a0='" in out["detail"][0]
    assert check_run(events)["ok"].all()  # majority never promised it
    faulty = frame(team(5, protocol="majority", backend="mock").replace(
        faults=[FaultSpec(kind="stubborn", agent="a4")]), MockBackend(split_vote))
    assert verdicts(check_agreement(faulty)) == {"agreement": (True, None)}  # a4 is not a correct agent


def test_liars_outvoting_the_honest_break_validity() -> None:
    spec = team(5, protocol="majority", backend="mock").replace(
        faults=[FaultSpec(kind="byzantine", group=("a0", "a1", "a2"))])
    events = frame(spec, MockBackend())
    assert verdicts(check_run(events, properties=("agreement", "validity"))) == {
        "agreement": (True, None), "validity": (False, 1)}
    assert "which no correct agent proposed" in check_validity(events)["detail"][0]


def test_honest_agents_talked_into_a_lie_still_break_validity() -> None:
    spec = team(5, competence=1.0, conformity=1.0, max_rounds=4, seed=2).replace(
        faults=[FaultSpec(kind="byzantine", group=("a0", "a1", "a2"), lie="C")])
    assert verdicts(check_validity(frame(spec))) == {"validity": (False, 2)}


def test_a_later_fault_does_not_make_an_earlier_decision_unsafe() -> None:
    spec = team(5, protocol="quorum", backend="mock", max_rounds=4).replace(
        faults=[FaultSpec(kind="crash", agent="a4", at_round=3)])
    events = frame(spec, MockBackend(split_vote))
    assert verdicts(check_agreement(events)) == {"agreement": (False, 1)}


# --- what check_run says, and bad input ---------------------------------------------------------------

def test_aggregated_logs_say_what_they_cannot_tell() -> None:
    events = frame(team(5, protocol="weighted", logging="rounds"))
    out = verdicts(check_run(events, properties=("weighted_plurality", "agreement", "validity", "plurality")))
    assert out == {"weighted_plurality": (None, None), "agreement": (None, None), "validity": (None, None),
                   "plurality": (True, None)}


def test_checks_cover_every_run_of_a_frame_and_k_adds_termination() -> None:
    a = frame(team(5, protocol="debate", backend="mock", max_rounds=2).replace(name="one"),
              MockBackend(split_vote))
    b = frame(team(5, protocol="quorum", backend="mock").replace(name="two"), MockBackend())
    out = check_run(pl.concat([a, b]), 1)
    assert out.select("protocol", "check").rows() == [
        ("debate", "consensus_agreement"), ("debate", "one_decision"), ("debate", "stops_at_consensus"),
        ("debate", "termination"), ("quorum", "decides_at_quorum"), ("quorum", "one_decision"),
        ("quorum", "quorum_certificate"), ("quorum", "termination")]
    assert out.filter(pl.col("check") == "termination")["ok"].to_list() == [False, True]


def test_runs_without_a_protocol_get_one_row_saying_so() -> None:
    out = check_run(frame(work_team(2, p=0.5)))
    assert out.select("protocol", "check", "ok").rows() == [("work_division", None, None)]
    assert "work_division declares none" in out["detail"][0]


def test_bad_arguments_are_named() -> None:
    events = frame(team(3, protocol="majority"))
    with pytest.raises(ValueError, match=r"'k' must be an integer >= 1 \(got 0\)"):
        check_run(events, 0)
    with pytest.raises(ValueError, match=r"'properties' must name properties of .*\(got \['safe'\]\)"):
        check_run(events, properties=("safe",))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 200), st.integers(0, 3), st.sampled_from(sorted(PROTOCOLS)), st.integers(1, 6))
def test_a_violation_prefix_is_the_shortest_one(seed: int, liars: int, protocol: str, k: int) -> None:
    spec = healthy(protocol, seed).replace(faults=[FaultSpec(kind="byzantine", agent=f"a{i}") for i in range(liars)])
    events = frame(spec)
    run_id = events["run_id"][0]
    every = tuple(PROPERTIES)
    for row in check_run(events, k, properties=every).iter_rows(named=True):
        if row["ok"] is not False:
            continue
        p = row["prefix_rounds"]
        again = verdicts(check_run(prefix(events, run_id, p), k, properties=every))[row["check"]]
        assert again == (False, p)
        if p > 1:
            assert verdicts(check_run(prefix(events, run_id, p - 1), k, properties=every))[row["check"]][0] is not False
