"""Hostile spec input: deep nesting, huge integers, huge strings, binary text — the only
exception ever raised is SpecError, with a short message, and a spec that validates runs.

The fuzzers complement ``test_properties`` (plausible specs with one corrupted field)
with what a script fuzzing the loader sends: values nested thousands deep, integers of
thousands of digits, megabyte strings, arbitrary types, and TOML/JSON text built from
such values or mangled at random.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import SpecError, TeamSpec, run_sync
from llmteams_lab.spec import AgentSpec, Budgets, EndpointSpec, FailurePolicySpec, FaultSpec, TopologySpec

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
LONGEST_MESSAGE = 1_000  # path (<= 200) + expectation (<= 400) + value (<= 200) + the words around them


def nested(value: Any, depth: int, kind: str) -> Any:
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


huge_int = st.integers(4_000, 6_000).map(lambda digits: 10**digits + 7) | st.sampled_from([2**63, 2**64, -(2**63) - 1])
huge_text = st.integers(10_000, 300_000).map(lambda n: "é" * n)
deep = st.builds(nested, st.integers(0, 3) | st.just("x"), st.integers(20, 3_000), st.sampled_from(["list", "dict"]))
leaf = st.one_of(st.none(), st.booleans(), st.integers(), huge_int, st.floats(), st.text(max_size=8), huge_text,
                 st.binary(max_size=8), deep, st.just(object()), st.just(float("nan")))
value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=3), max_leaves=6)

TEAM_KEYS = ["agents", "size", "agent", "topology", "protocol", "task", "budgets", "seed", "name", "concurrency",
             "logging", "faults", "failure_policy", "endpoint"]
INNER_KEYS = {"agent": ["id", "competence", "prompt_tokens", "reply_tokens", "latency_s", "persona", "model"],
              "topology": ["kind", "leader", "edges", "seed", "k", "branching", "p"],
              "protocol": ["kind", "quorum", "faulty"], "task": ["kind", "options", "index", "choices", "prompt"],
              "budgets": ["max_rounds", "max_tokens", "max_cost_usd", "max_wall_s"],
              "failure_policy": ["on_error", "retries", "backoff_s"],
              "endpoint": ["base_url", "max_tokens", "max_retries", "timeout_s"]}


@st.composite
def hostile_team(draw) -> dict:
    """A team dict that is valid except where hostile values were put — at the top, in a
    nested table, or in the fields the runtime computes with."""
    data: dict[str, Any] = {"size": draw(st.integers(1, 4))}
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(TEAM_KEYS))
        if key in INNER_KEYS and draw(st.booleans()):
            table = data.setdefault(key, {}) if isinstance(data.get(key), dict) else {}
            table[draw(st.sampled_from(INNER_KEYS[key]))] = draw(value)
            data[key] = table
        else:
            data[key] = draw(value)
    return data


def spec_or_spec_error(build, *args) -> TeamSpec | None:
    """Build; any exception but SpecError fails the test, and messages stay short."""
    try:
        return build(*args)
    except SpecError as err:
        assert len(str(err)) <= LONGEST_MESSAGE, str(err)[:300]
        return None


def write(v: Any, toml: bool) -> str:
    """``v`` as TOML or JSON value syntax, written by hand and without recursion (values
    nest thousands deep) — including what neither format nor our writer can hold
    (integers of 5,000 digits, NaN), which the readers must refuse cleanly."""
    out: list[str] = []
    stack: list[Any] = [v]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int):
            out.append(str(item) if abs(item).bit_length() < 14_000 else "1" * 5_000)
        elif isinstance(item, float):
            out.append(("nan" if toml else "NaN") if math.isnan(item) else
                       ("inf" if toml else "Infinity") if math.isinf(item) else repr(item))
        elif isinstance(item, (list, dict)):
            pairs = list(item.items()) if isinstance(item, dict) else [(None, x) for x in item]
            parts: list[Any] = [_Raw("{" if isinstance(item, dict) else "[")]
            for i, (key, x) in enumerate(pairs):
                if i:
                    parts.append(_Raw(", "))
                if key is not None:
                    parts.append(_Raw(json.dumps(str(key)) + (" = " if toml else ": ")))
                parts.append(x)
            parts.append(_Raw("}" if isinstance(item, dict) else "]"))
            stack.extend(reversed(parts))
        elif item is None:
            out.append('"none"' if toml else "null")
        else:
            out.append(json.dumps(item.decode("latin-1") if isinstance(item, bytes) else str(item)))
    return "".join(out)


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


@FAST
@given(hostile_team())
def test_hostile_dicts_raise_only_spec_error(data: dict) -> None:
    spec = spec_or_spec_error(TeamSpec.from_dict, data)
    if spec is not None:  # whatever validated must also serialise and round-trip
        assert TeamSpec.from_json(spec.to_json()) == spec
        assert TeamSpec.from_toml(spec.to_toml()) == spec


@FAST
@given(st.sampled_from([AgentSpec, TopologySpec, Budgets, FailurePolicySpec, EndpointSpec]),
       st.dictionaries(st.sampled_from(["id", "kind", "seed", "retries", "max_rounds", "max_tokens",
                                        "prompt_tokens", "edges", "k", "timeout_s", "competence"]), value,
                       max_size=3))
def test_hostile_constructor_fields_raise_only_spec_error(cls, fields: dict) -> None:
    if cls is AgentSpec:
        fields.setdefault("id", "a0")
    spec_or_spec_error(lambda: cls.from_dict(fields))


@FAST
@given(hostile_team(), st.integers(0, 3), st.binary(max_size=6))
def test_hostile_toml_and_json_text_raise_only_spec_error(data: dict, mangle: int, noise: bytes) -> None:
    toml = "\n".join(f"{json.dumps(k)} = {write(v, toml=True)}" for k, v in data.items())
    text = write(data, toml=False)
    if mangle:  # cut, splice in bytes, or duplicate a fragment
        cut = len(text) * mangle // 4
        text, toml = text[:cut] + noise.decode("latin-1") + text[cut:], toml[:cut] + noise.decode("latin-1")
    spec_or_spec_error(TeamSpec.from_toml, toml)
    spec_or_spec_error(TeamSpec.from_json, text)


@settings(max_examples=30, deadline=None)
@given(hostile_team())
def test_every_small_spec_that_validates_runs(data: dict) -> None:
    spec = spec_or_spec_error(TeamSpec.from_dict, data)
    if spec is None or any(a.backend not in ("simulated", "mock") for a in spec.agents):
        return
    spec = spec.replace(budgets=spec.budgets.replace(max_rounds=min(spec.budgets.max_rounds, 2)))
    result = run_sync(spec)
    assert result.records[-1].kind == "RunEnded" and result.reason is not None


# --- the findings, one test each ---------------------------------------------------------
@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,                                     # JSON arrays (RecursionError before)
    '{"size": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001,            # JSON objects
    '{"size": 2, "seed": ' + "9" * 5_000 + "}",                        # 5,000 digits (ValueError before)
], ids=["deep-arrays", "deep-objects", "huge-int"])
def test_deep_json_and_huge_integers_are_spec_errors(text: str) -> None:
    with pytest.raises(SpecError, match=r"^'<json>' must (not nest|be valid JSON)"):
        TeamSpec.from_json(text)


@pytest.mark.parametrize(("text", "message"), [
    ("x = " + "[" * 100_000 + "]" * 100_000, "brackets nest more than"),
    ("seed = " + "9" * 5_000, "must be valid TOML: Exceeds the limit"),
    ("a" + ".a" * 100_000 + " = 1", "a dotted key has more than 64 parts"),  # exhausted memory before
    ("[topology]\nedges = " + "[" * 40 + "]" * 40, "brackets nest more than"),
], ids=["deep-arrays", "huge-int", "long-dotted-key", "deep-in-a-table"])
def test_deep_toml_huge_integers_and_long_dotted_keys_are_spec_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=r"^'<toml>' must") as err:
        TeamSpec.from_toml(text)
    assert message in str(err.value)


def test_deeply_nested_dicts_are_spec_errors_before_any_recursion() -> None:
    with pytest.raises(SpecError, match=r"^'TeamSpec' must not nest lists/tables more than 16 deep$"):
        TeamSpec.from_dict({"size": 2, "task": nested(1, 50_000, "dict")})
    with pytest.raises(SpecError, match="must not nest"):
        TeamSpec.from_dict({"agents": [{"id": "a", "persona": nested("x", 100_000, "list")}]})


def test_a_megabyte_bad_value_gives_a_short_message_quoting_a_prefix() -> None:
    bad = "ü" * 1_000_000
    with pytest.raises(SpecError) as err:
        TeamSpec.from_dict({"size": 2, "topology": {"kind": bad}})
    text = str(err.value)
    assert text.startswith("'topology.kind' must be one of [") and len(text) < 500
    assert "(got 'üüü" in text and "..." in text  # a prefix and a suffix of the value
    with pytest.raises(SpecError) as err:
        TeamSpec.from_dict({"size": 2, bad: 1})  # an unknown key of a megabyte
    assert len(str(err.value)) < 800


@pytest.mark.parametrize(("data", "message"), [
    ({"size": 2, "agent": {"prompt_tokens": 2**63}}, "'agents[0].prompt_tokens' must be an integer in [0, 10000000]"),
    ({"size": 2, "seed": 10**5000}, "'seed' must be an integer in [0, 9223372036854775807] (got <an integer of"),
    ({"size": 2, "seed": 2**63}, "'seed' must be an integer in [0, 9223372036854775807]"),
    ({"size": 2, "failure_policy": {"on_error": "retry", "retries": 10**9}},
     "'failure_policy.retries' must be an integer in [0, 100]"),
    ({"size": 2, "budgets": {"max_rounds": 10**12}}, "'budgets.max_rounds' must be an integer in [1, 1000000]"),
    ({"size": 2, "agent": {"latency_s": 1e300}}, "'agents[0].latency_s' must be in [0, 10000000]"),
    ({"size": 2, "endpoint": {"max_tokens": 2**40}}, "'endpoint.max_tokens' must be an integer in [1, 10000000]"),
])
def test_integer_and_duration_fields_have_upper_bounds(data: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        TeamSpec.from_dict(data)
    assert str(err.value).startswith(message)


def test_the_largest_seed_validates_serialises_and_runs() -> None:
    spec = TeamSpec.from_dict({"size": 3, "seed": 2**63 - 1, "budgets": {"max_rounds": 1}})
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert run_sync(spec).rounds == 1


def test_teams_that_would_not_fit_are_refused_with_the_estimate() -> None:
    with pytest.raises(SpecError, match=r"^'topology' needs about \d+\.\d GiB to run \(100,000 agents, "
                                        r"9,999,900,000 arcs, per-message logging\), above the limit of 4\.0 GiB"):
        TeamSpec.from_dict({"size": 100_000})
    with pytest.raises(SpecError, match=r"^'topology.kind' 'erdos_renyi' draws one number per pair"):
        TeamSpec.from_dict({"size": 20_000, "topology": {"kind": "erdos_renyi"}})
    assert len(FaultSpec(kind="drop").to_dict()) == 1  # (faults themselves have no size)
