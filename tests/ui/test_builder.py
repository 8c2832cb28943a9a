"""The team builder: form values become a validated spec; bad values keep the last one."""

from __future__ import annotations

import json

from llmteams_lab import team
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.ui import TeamBuilder


def test_editing_a_field_produces_a_new_validated_spec():
    base = team(5, seed=1)
    builder = TeamBuilder(base)
    seen: list[TeamSpec] = []
    builder.on_spec(seen.append)
    builder.controls["competence"].value = 0.8
    builder.controls["n"].value = 7
    builder.controls["topology"].value = "ring"
    builder.controls["rounds"].value = 12
    spec = builder.spec
    assert len(seen) == 4 and seen[-1] is spec
    assert spec.ids == tuple(f"a{i}" for i in range(7))
    assert all(a.competence == 0.8 for a in spec.agents)
    assert spec.topology.kind == "ring" and spec.budgets.max_rounds == 12 and spec.seed == 1
    assert base.agents[0].competence == 0.6, "specs are values: the original is untouched"


def test_out_of_range_value_is_refused_with_the_specs_message_and_the_last_spec_kept():
    builder = TeamBuilder(team(4, seed=1))
    good = builder.spec
    builder.controls["competence"].value = 1.4
    assert builder.spec is good
    assert str(builder.error) == "'agents[0].competence' must be in [0, 1] (got 1.4)"
    assert "&#x27;agents[0].competence&#x27; must be in [0, 1] (got 1.4)" in builder.message.value
    assert "ltl-invalid" in builder.controls["competence"]._dom_classes
    builder.controls["competence"].value = 0.3
    assert builder.error is None and builder.message.value == ""
    assert builder.spec.agents[3].competence == 0.3
    assert "ltl-invalid" not in builder.controls["competence"]._dom_classes


def test_cross_field_rules_pass_through_an_invalid_state():
    builder = TeamBuilder(team(5, seed=1))
    builder.controls["protocol"].value = "leader"
    assert str(builder.error) == "'topology.kind' must be 'star' for the leader protocol (got 'complete')"
    assert "ltl-invalid" in builder.controls["topology"]._dom_classes
    builder.controls["topology"].value = "star"
    spec = builder.spec
    assert builder.error is None and spec.protocol.kind == "leader" and spec.agents[0].role == "leader"


def test_team_size_and_task_errors_name_their_field():
    builder = TeamBuilder(team(3, seed=1))
    builder.controls["n"].value = 0
    assert str(builder.error) == "'n' must be an integer in [1, 10000000] (got 0)"
    builder.controls["n"].value = 3
    builder.controls["options"].value = 1
    assert str(builder.error) == "'task.options' must be an integer >= 2 (got 1)"
    assert "ltl-invalid" in builder.controls["options"]._dom_classes


def test_untouched_profile_fields_keep_each_agents_own_values():
    agents = (AgentSpec("x", competence=0.9), AgentSpec("y", competence=0.2))
    builder = TeamBuilder(TeamSpec(agents=agents, seed=3))
    builder.controls["conformity"].value = 0.1
    assert [a.competence for a in builder.spec.agents] == [0.9, 0.2]
    assert [a.conformity for a in builder.spec.agents] == [0.1, 0.1]
    builder.controls["n"].value = 3
    assert builder.spec.ids == ("x", "y", "a2") and builder.spec.agents[2].competence == 0.2


def test_show_spec_gives_the_toml_and_json_of_what_is_on_screen():
    builder = TeamBuilder(team(3, seed=4))
    assert builder.spec_view.value == ""
    builder.controls["seed"].value = 8
    builder.view_as.value = "TOML"
    assert TeamSpec.from_toml(builder.spec_text) == builder.spec
    assert "seed = 8" in builder.spec_view.value
    builder.view_as.value = "JSON"
    assert json.loads(builder.spec_text)["seed"] == 8


def test_backend_choices_include_the_specs_own_backend():
    builder = TeamBuilder(team(2, backend="mock"))
    options = builder.controls["backend"].options
    assert options[0] == "simulated" and "mock" in options
    builder.controls["backend"].value = "simulated"
    assert {a.backend for a in builder.spec.agents} == {"simulated"}


def test_load_shows_a_spec_without_announcing_it():
    builder = TeamBuilder(team(3, seed=1))
    seen: list = []
    builder.on_spec(seen.append)
    other = team(6, topology="ring", protocol="majority", seed=5)
    builder.load(other)
    assert seen == [] and builder.spec == other
    assert builder.controls["n"].value == 6 and builder.controls["protocol"].value == "majority"


def test_choosing_openai_shows_the_endpoint_and_puts_it_in_the_spec():
    builder = TeamBuilder(team(3, seed=1))
    assert builder.endpoint_row.layout.display == "none" and builder.spec.endpoint is None
    builder.controls["base_url"].value = "http://127.0.0.1:8000/v1"
    builder.controls["backend"].value = "openai"
    assert builder.endpoint_row.layout.display == "flex"
    spec = builder.spec
    assert {a.backend for a in spec.agents} == {"openai"}
    assert spec.endpoint.base_url == "http://127.0.0.1:8000/v1" and spec.endpoint.api_key_env == "OPENAI_API_KEY"
    builder.controls["model"].value = "sim-large"
    assert builder.spec.endpoint.model == "sim-large"


def test_a_url_with_credentials_is_refused_without_echoing_them():
    builder = TeamBuilder(team(2, seed=1))
    builder.controls["backend"].value = "openai"
    builder.controls["base_url"].value = "http://me:hunter2@127.0.0.1:8000/v1"
    assert builder.error is not None and "'endpoint.base_url' must not embed credentials" in str(builder.error)
    assert "hunter2" not in builder.message.value and "hunter2" not in str(builder.error)
    assert "ltl-invalid" in builder.controls["base_url"]._dom_classes
    assert builder.spec.endpoint is None or "hunter2" not in (builder.spec.endpoint.base_url or "")


def test_growing_a_team_gives_fresh_ids_and_a_huge_team_waits_for_build_anyway():
    from llmteams_lab.ui.builder import CONFIRM_ABOVE, grow_agents

    grown = grow_agents([{"id": "a0"}, {"id": "a2", "role": "leader"}], 5)
    assert [a["id"] for a in grown] == ["a0", "a2", "a3", "a4", "a5"] and grown[-1]["role"] == "member"
    builder = TeamBuilder(team(3, seed=1))
    builder.controls["n"].value = CONFIRM_ABOVE + 1
    assert builder.spec.ids == ("a0", "a1", "a2") and "build anyway" in str(builder.error)
    assert builder.confirm.layout.display == "" and "ltl-invalid" in builder.controls["n"]._dom_classes
    builder.controls["n"].value = 8
    assert builder.confirm.layout.display == "none" and len(builder.spec.agents) == 8


def test_the_builder_edits_faults_and_stop_at_consensus():
    builder = TeamBuilder(team(4, seed=1))
    builder.controls["stop"].value = False
    assert builder.spec.protocol.stop_at_consensus is False
    builder.controls["faults"].value = '{"kind": "crash", "agent": "a2", "at_round": 3}\n\n{"kind": "straggler", ' \
                                       '"agent": "a1", "factor": 4}'
    assert [f.kind for f in builder.spec.faults] == ["crash", "straggler"]
    builder.controls["faults"].value = '{"kind": "crash", "agent": "a9"}'
    assert str(builder.error).startswith("'faults[0].agent' must be an agent of the team")
    assert "ltl-invalid" in builder.controls["faults"]._dom_classes and len(builder.spec.faults) == 2
    builder.controls["faults"].value = "{not json"
    assert "'faults[0]' must be one JSON object per line" in str(builder.error)
    builder.load(team(5, seed=2).replace(faults=[{"kind": "byzantine", "agent": "a0"}]))
    assert '"byzantine"' in builder.controls["faults"].value
