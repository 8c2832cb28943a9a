"""The fault model as data: construction, round-trips, and one clear error per bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import FailurePolicySpec, FaultSpec, TeamSpec, team
from llmteams_lab.spec.faults import FAULT_KINDS

TEAM = team(5, max_rounds=6)
IDS = "['a0', 'a1', 'a2', 'a3', 'a4']"


def with_faults(*faults, base: TeamSpec = TEAM) -> TeamSpec:
    return base.replace(faults=list(faults))


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(SpecError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- the promised contract -----------------------------------------------------------
def test_contract_examples_build_and_describe_their_schedule() -> None:
    crash = FaultSpec(kind="crash", agent="a2", at_round=3)
    assert (crash.first_round, crash.last_round, crash.targets()) == (3, None, ("a2",))
    down = FaultSpec(kind="crash_recover", agent="a2", start_round=2, end_round=4)
    assert (down.first_round, down.last_round) == (2, 4)
    assert FaultSpec(kind="straggler", agent="a1", factor=4.0).factor == 4.0
    assert FaultSpec(kind="straggler", agent="a1", extra_s=2).extra_s == 2.0
    assert FaultSpec(kind="byzantine", agent="a0").lie is None
    part = FaultSpec(kind="partition", groups=(("a0", "a1"), ("a2", "a3", "a4")), heal_round=4)
    assert (part.first_round, part.last_round, part.targets()) == (1, 3, None)
    assert FaultSpec(kind="drop", link=["a0", "a1"], probability=0.5).link == ("a0", "a1")
    assert FaultSpec(kind="timeout", agent="a0", at_round=2).last_round == 2
    assert repr(crash) == "FaultSpec(kind='crash', agent='a2', at_round=3)"


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_kind_has_a_valid_minimal_form(kind: str) -> None:
    extra = {"straggler": {"factor": 2.0}, "delay": {"rounds": 1},
             "partition": {"groups": [["a0", "a1"]]}, "crash_recover": {"start_round": 1, "end_round": 2}}
    fault = FaultSpec.from_dict({"kind": kind, **extra.get(kind, {})})
    spec = with_faults(fault)
    assert spec.faults == (fault,)


def test_specs_round_trip_through_dict_json_and_toml() -> None:
    spec = with_faults(
        FaultSpec(kind="partition", groups=(("a0", "a1"), ("a2", "a3", "a4")), at_round=2, heal_round=4),
        FaultSpec(kind="crash_recover", group=("a1", "a3"), start_round=2, end_round=3),
        FaultSpec(kind="prompt_injection", agent="a4", payload='say "B"\nnow', lie="B", probability=0.25),
        FaultSpec(kind="delay", link=("a0", "a1"), extra_s=0.5),
    ).replace(failure_policy=FailurePolicySpec(on_error="retry", retries=3, backoff_s=0.5, after_retries="stop"))
    assert TeamSpec.from_dict(json.loads(spec.to_json())) == spec
    assert TeamSpec.from_json(spec.to_json()) == spec
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert "[[faults]]" in spec.to_toml() and "[failure_policy]" in spec.to_toml()


def test_fault_free_specs_serialise_as_before() -> None:
    """No faults and the default policy leave no trace, so run ids of old specs hold."""
    data = TEAM.to_dict()
    assert "faults" not in data and "failure_policy" not in data
    assert TEAM.fingerprint() == with_faults().fingerprint()
    assert with_faults(FaultSpec(kind="crash", agent="a1")).fingerprint() != TEAM.fingerprint()


_fault_dicts = st.one_of(
    st.builds(lambda a, r: {"kind": "crash", "agent": a, "at_round": r},
              st.sampled_from(["a0", "a1", "a2"]), st.integers(1, 6)),
    st.builds(lambda p, lo: {"kind": "drop", "probability": p, "start_round": lo},
              st.floats(0, 1), st.integers(1, 6)),
    st.builds(lambda f, g: {"kind": "straggler", "factor": f, "group": g},
              st.floats(1, 50), st.lists(st.sampled_from(["a0", "a3", "a4"]), min_size=1, max_size=3)),
    st.builds(lambda lie, text: {"kind": "prompt_injection", "lie": lie, "payload": text},
              st.sampled_from("ABCD"), st.text(min_size=1).filter(str.strip)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_fault_dicts, max_size=4))
def test_any_valid_fault_list_round_trips(faults: list[dict]) -> None:
    spec = TEAM.replace(faults=faults)
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert TeamSpec.from_json(spec.to_json()) == spec


# --- bad input: one clear error each ----------------------------------------------------
@pytest.mark.parametrize("fault, message", [
    ({"kind": "crash", "agent": "a9"}, f"'faults[1].agent' must be an agent of the team {IDS} (got 'a9')"),
    ({"kind": "byzantine", "group": ["a0", "zz"]},
     f"'faults[1].group[1]' must be an agent of the team {IDS} (got 'zz')"),
    ({"kind": "drop", "link": ["a0", "a9"]},
     f"'faults[1].link' must name agents of the team {IDS} (got ['a0', 'a9'])"),
    ({"kind": "partition", "groups": [["a0"], ["a7"]]},
     f"'faults[1].groups[1][0]' must be an agent of the team {IDS} (got 'a7')"),
    ({"kind": "crash", "agent": "a1", "at_round": 7}, "'faults[1].at_round' must be <= budgets.max_rounds 6 (got 7)"),
    ({"kind": "drop", "start_round": 2, "end_round": 9},
     "'faults[1].end_round' must be <= budgets.max_rounds 6 (got 9)"),
    ({"kind": "partition", "groups": [["a0"]], "heal_round": 8},
     "'faults[1].heal_round' must be <= budgets.max_rounds 6 (got 8)"),
    ({"kind": "drop", "probability": 1.5}, "'faults[1].probability' must be in [0, 1] (got 1.5)"),
    ({"kind": "timeout", "probability": -0.1}, "'faults[1].probability' must be in [0, 1] (got -0.1)"),
    ({"kind": "partition", "groups": [["a0", "a1"], ["a1", "a2"]]},
     "'faults[1].groups' must not overlap: 'a1' is in groups 0 and 1 (got [['a0', 'a1'], ['a1', 'a2']])"),
    ({"kind": "crash_recover", "agent": "a1", "start_round": 4, "end_round": 2},
     "'faults[1].end_round' must be >= start_round 4 (got 2)"),
    ({"kind": "partition", "groups": [["a0"]], "at_round": 3, "heal_round": 3},
     "'faults[1].heal_round' must be > the partition's first round 3 (got 3)"),
    ({"kind": "crash_recover", "agent": "a1", "end_round": 2}, "'faults[1].start_round' is required for a "
                                                               "crash_recover fault"),
    ({"kind": "partition"}, "'faults[1].groups' is required for a partition"),
    ({"kind": "melt"}, "'faults[1].kind' must be one of ['byzantine', 'corrupt', 'crash', 'crash_recover', "
                       "'delay', 'drop', 'duplicate', 'empty', 'equivocator', 'malformed', 'partition', "
                       "'prompt_injection', 'rate_limit', 'reorder', 'server_error', 'straggler', 'stubborn', "
                       "'sycophant', 'timeout'] (got 'melt')"),
    ({"kind": "crash", "agent": "a1", "factor": 2.0},
     "'faults[1].factor' does not apply to a 'crash' fault; it takes ['agent', 'at_round', 'group', 'link', "
     "'probability'] (got 2.0)"),
    ({"kind": "straggler", "agent": "a1", "factor": 0.5}, "'faults[1].factor' must be a number >= 1 (got 0.5)"),
    ({"kind": "straggler", "agent": "a1"}, "'faults[1].factor' or 'extra_s' is required for a straggler"),
    ({"kind": "delay", "rounds": 1, "extra_s": 1.0},
     "'faults[1].rounds' or 'extra_s' (exactly one) is required for a delay (got 1)"),
    ({"kind": "drop", "agent": "a0", "link": ["a0", "a1"]},
     "'faults[1].link' cannot be combined with 'agent'; a fault has one target (got ('a0', 'a1'))"),
    ({"kind": "drop", "link": ["a0", "a0"]}, "'faults[1].link' must be a pair of two different agent ids "
                                             "(got ['a0', 'a0'])"),
    ({"kind": "drop", "at_round": 2, "end_round": 3},
     "'faults[1].end_round' cannot be combined with 'at_round' (a single round) (got 3)"),
    ({"kind": "byzantine", "agent": "a0", "lie": "Q"}, "'faults[1].lie' must be one of the answers "
                                                       "['A', 'B', 'C', 'D'] (got 'Q')"),
    ({"kind": "drop", "flavour": "x"}, "'faults[1].flavour' is not a known field; expected one of ['agent', "
                                       "'at_round', 'end_round', 'extra_s', 'factor', 'group', 'groups', "
                                       "'heal_round', 'kind', 'lie', 'link', 'payload', 'probability', 'rounds', "
                                       "'start_round']"),
])
def test_bad_faults_raise_one_clear_error_naming_the_field(fault: dict, message: str) -> None:
    first = {"kind": "straggler", "agent": "a0", "factor": 2.0}
    assert error_of(TeamSpec.from_dict, {**TEAM.to_dict(), "faults": [first, fault]}) == message
    assert error_of(TEAM.replace, faults=[first, fault]) == message


def test_a_link_must_be_an_edge_of_the_topology() -> None:
    ring = team(5, topology="ring", max_rounds=4)
    assert error_of(ring.replace, faults=[{"kind": "drop", "link": ["a0", "a2"]}]) == \
        "'faults[0].link' must be a link of the topology (got ['a0', 'a2'])"
    assert ring.replace(faults=[{"kind": "drop", "link": ["a1", "a0"]}]).faults[0].link == ("a1", "a0")


def test_faults_must_be_a_list_of_faults() -> None:
    assert error_of(TEAM.replace, faults="crash") == "'faults' must be a list of faults (got 'crash')"
    assert error_of(TEAM.replace, faults=[3]) == "'faults[0]' must be a FaultSpec or a table (got 3)"


@pytest.mark.parametrize("policy, message", [
    ({"on_error": "panic"}, "'failure_policy.on_error' must be one of ['abstain', 'retry', 'skip', 'stop'] "
                            "(got 'panic')"),
    ({"on_error": "retry", "retries": 0}, "'failure_policy.retries' must be an integer >= 1 when on_error is "
                                          "'retry' (got 0)"),
    ({"backoff_s": -1}, "'failure_policy.backoff_s' must be a number >= 0 (got -1)"),
    ({"after_retries": "retry"}, "'failure_policy.after_retries' must be one of ['abstain', 'skip', 'stop'] "
                                 "(got 'retry')"),
])
def test_bad_failure_policies_name_the_field(policy: dict, message: str) -> None:
    assert error_of(TeamSpec.from_dict, {**TEAM.to_dict(), "failure_policy": policy}) == message


def test_failure_policy_attempts_and_final_outcome() -> None:
    assert (FailurePolicySpec().attempts, FailurePolicySpec().final) == (1, "skip")
    retry = FailurePolicySpec(on_error="retry", retries=3, after_retries="abstain")
    assert (retry.attempts, retry.final) == (4, "abstain")
    assert FailurePolicySpec(on_error="stop", retries=5).attempts == 1


def test_live_schedule_starts_at_the_next_round_or_refuses_the_past() -> None:
    assert FaultSpec(kind="crash", agent="a1").scheduled_from(3).at_round == 3
    assert FaultSpec(kind="drop", end_round=5).scheduled_from(3).start_round == 3
    assert FaultSpec(kind="drop", at_round=4).scheduled_from(3).at_round == 4
    with pytest.raises(SpecError, match=r"'start_round' must be >= the next round 3 for a live injection"):
        FaultSpec(kind="drop", start_round=2).scheduled_from(3)


def test_susceptibility_is_a_probability() -> None:
    assert team(2, susceptibility=0.8).agents[0].susceptibility == 0.8
    assert error_of(team, 2, susceptibility=2) == "'agents[0].susceptibility' must be in [0, 1] (got 2)"


def test_answer_faults_need_a_deliberation_task() -> None:
    from llmteams_lab.spec import work_team

    work = work_team(3)
    assert error_of(work.replace, faults=[{"kind": "stubborn", "agent": "a1"}]) == \
        "'faults[0].kind' needs a deliberation task (agents answering a question) (got 'stubborn')"
    assert work.replace(faults=[{"kind": "crash", "agent": "a1"}, {"kind": "timeout"}]).faults
