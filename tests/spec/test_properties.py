"""Property tests: any generated spec input either builds a TeamSpec or raises
SpecError — never another exception — and every spec that builds round-trips and runs.

Team sizes are kept small on purpose: a valid ``size`` really allocates that many agents.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import SpecError, TeamSpec, run_sync
from llmteams_lab.spec import AgentSpec, Budgets, ProtocolSpec, TaskSpec, TopologySpec

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

garbage = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-1, 2), st.text(max_size=6),
    st.lists(st.integers(-2, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ids = st.sampled_from(["a0", "a1", "a2", "a3", "x", ""]) | st.text(max_size=4)


@st.composite
def corrupted(draw, base: st.SearchStrategy[dict]) -> dict:
    """``base`` as drawn, or (one time in five) with one value swapped for garbage or an
    unknown key added — so most examples are valid and the rest are invalid in one place."""
    data = dict(draw(base))
    how = draw(st.integers(0, 9))
    if how == 0 and data:
        data[draw(st.sampled_from(sorted(data, key=str)))] = draw(garbage)
    elif how == 1:
        data[draw(st.sampled_from(["colour", "size_", "Kind"]) | st.integers(0, 3))] = draw(garbage)
    return data


def fields(choices: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict[str, Any]]:
    return corrupted(st.fixed_dictionaries({}, optional=choices))


unit = st.floats(0, 1)
agent_fields = {
    "role": st.sampled_from(["member", "member", "leader"]),
    "backend": st.sampled_from(["simulated", "mock"]), "competence": unit, "conformity": unit,
    "confidence": unit, "calibration": unit, "latency_s": st.floats(0, 5), "latency_jitter": st.floats(0, 5),
    "prompt_tokens": st.integers(0, 500), "tokens_per_message": st.integers(0, 50),
    "reply_tokens": st.integers(0, 80), "model": st.text(max_size=5), "temperature": st.floats(0, 2),
    "persona": st.text(max_size=10),
}
agent_dict = fields({"id": ids, **agent_fields})
topology_dict = fields({
    "kind": st.sampled_from(["complete", "edges", "erdos_renyi", "ring", "small_world", "star", "tree"]),
    "leader": ids, "branching": st.integers(1, 4), "p": unit, "k": st.integers(1, 4).map(lambda x: 2 * x),
    "seed": st.integers(0, 2**70), "directed": st.booleans(),
    "edges": st.lists(st.lists(ids, min_size=2, max_size=2), max_size=4),
})
protocol_dict = fields({
    "kind": st.sampled_from(["debate", "leader", "majority", "quorum", "weighted"]),
    "quorum": st.integers(1, 6), "faulty": st.integers(0, 2), "stop_at_consensus": st.booleans(),
})
task_dict = fields({
    "kind": st.sampled_from(["arithmetic", "custom", "multiple_choice"]),
    "options": st.integers(2, 26), "index": st.integers(0, 10**6), "prompt": st.text(min_size=1, max_size=8),
    "choices": st.lists(st.text(min_size=1, max_size=3), min_size=2, max_size=4, unique=True),
    "answer": st.text(max_size=3),
})
budgets_dict = fields({
    "max_rounds": st.integers(1, 4), "max_tokens": st.integers(0, 10**6),
    "max_cost_usd": st.floats(0, 10), "max_wall_s": st.floats(0, 100),
})


@st.composite
def agent_list(draw) -> list:
    """Agents with distinct ids a0, a1 ... (each possibly corrupted)."""
    size = draw(st.integers(0, 6))
    return [{**draw(fields(agent_fields)), "id": f"a{i}"} for i in range(size)]


members = st.one_of(
    corrupted(st.fixed_dictionaries({"size": st.integers(1, 6)}, optional={"agent": fields(agent_fields)})),
    corrupted(st.fixed_dictionaries({"agents": agent_list() | st.lists(agent_dict, max_size=3)})),
)
team_dict = st.builds(
    lambda who, rest: {**who, **rest}, members,
    fields({"topology": topology_dict, "protocol": protocol_dict, "task": task_dict,
            "budgets": budgets_dict, "seed": st.integers(0, 2**64), "name": st.text(min_size=1, max_size=5),
            "concurrency": st.integers(1, 20), "logging": st.sampled_from(["messages", "rounds"])}),
)


def build_or_spec_error(builder, *args) -> TeamSpec | None:
    try:
        return builder(*args)
    except SpecError as err:
        assert isinstance(err, ValueError) and str(err).startswith("'")
        return None


@SETTINGS
@given(team_dict)
def test_from_dict_builds_or_raises_spec_error(data: dict) -> None:
    spec = build_or_spec_error(TeamSpec.from_dict, data)
    if spec is None:
        return
    assert TeamSpec.from_dict(spec.to_dict()) == spec
    assert TeamSpec.from_json(spec.to_json()) == spec
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    n = len(spec.agents)
    assert all(0 <= a < n and 0 <= b < n and a != b for a, b in spec.arcs())


@SETTINGS
@given(st.sampled_from([AgentSpec, TopologySpec, ProtocolSpec, TaskSpec, Budgets]), st.data())
def test_constructors_build_or_raise_spec_error(cls, data) -> None:
    strategy = {AgentSpec: agent_dict, TopologySpec: topology_dict, ProtocolSpec: protocol_dict,
                TaskSpec: task_dict, Budgets: budgets_dict}[cls]
    kwargs = data.draw(strategy)
    build_or_spec_error(lambda: cls.from_dict(kwargs))


@SETTINGS
@given(st.text(max_size=60) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_is_a_spec_or_a_spec_error(text: str) -> None:
    build_or_spec_error(TeamSpec.from_toml, text)
    build_or_spec_error(TeamSpec.from_json, text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(team_dict)
def test_every_valid_offline_spec_runs(data: dict) -> None:
    """Valid specs on offline backends run to the end (two rounds at most, to stay fast)."""
    spec = build_or_spec_error(TeamSpec.from_dict, data)
    if spec is None or any(a.backend not in ("simulated", "mock") for a in spec.agents):
        return
    spec = spec.replace(budgets=spec.budgets.replace(max_rounds=min(spec.budgets.max_rounds, 2)))
    result = run_sync(spec)
    assert result.reason is not None and 0 <= result.rounds <= 2
    assert result.records[0].kind == "RunStarted" and result.records[-1].kind == "RunEnded"
