"""Work-division specs: DAG sources, validation naming the task, round trips, work_team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmteams_lab import SpecError, TaskSpec, TeamSpec
from llmteams_lab.spec import WorkSpec, WorkTask, work_team
from llmteams_lab.spec.tasks import generate_dag, load_task_file
from tests.support import PAPER_DATA

DATA = PAPER_DATA
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the paper's data is not at ../shared/data")


def tasks(*spec: tuple[str, tuple[str, ...]]) -> tuple[WorkTask, ...]:
    return tuple(WorkTask(tid, dependencies=deps) for tid, deps in spec)


def write_task_file(tmp_path: Path, items: list) -> str:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"project": "demo", "tasks": items}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("make, message", [
    (lambda: WorkSpec(tasks=()), "'tasks' needs exactly one DAG"),
    (lambda: WorkSpec(tasks=tasks(("a", ()), ("a", ()))),
     "'tasks[1].id' must be unique in the DAG (task 0 has it too) (got 'a')"),
    (lambda: WorkSpec(tasks=tasks(("a", ()), ("b", ("zz",)))),
     "'tasks[1].dependencies' of task 'b' must name tasks of the DAG (got 'zz')"),
    (lambda: WorkSpec(tasks=tasks(("a", ("c",)), ("b", ("a",)), ("c", ("b",)))),
     "'tasks' must not contain a dependency cycle: a -> c -> b -> a"),
    (lambda: WorkSpec(tasks=tasks(("a", ("a",)))), "'tasks' must not contain a dependency cycle: a -> a"),
    (lambda: WorkSpec(parallel_fraction=0.5, source="x.json"), "needs exactly one DAG"),
    (lambda: WorkSpec(parallel_fraction=1.5), "'parallel_fraction' must be in [0, 1] (got 1.5)"),
    (lambda: WorkSpec(parallel_fraction=0.5, assignment="anarchy"),
     "'assignment' must be one of ['lead_assigned', 'pre_assigned', 'self_claim'] (got 'anarchy')"),
    (lambda: WorkSpec(parallel_fraction=0.5, error_rate=1.0), "'error_rate' must be in [0, 0.95] (got 1.0)"),
    (lambda: WorkTask("t", work=0), "'work' must be an integer >= 1 (got 0)"),
    (lambda: WorkTask(""), "'id' must be a non-empty string (got '')"),
    (lambda: TaskSpec(kind="work_division"), "'work' must be a WorkSpec"),
    (lambda: TaskSpec(work=WorkSpec(parallel_fraction=0.5)), "'work' is only allowed with kind 'work_division'"),
])
def test_bad_dags_and_fields_are_spec_errors_naming_the_field(make, message) -> None:
    with pytest.raises(SpecError) as err:
        make()
    assert message in str(err.value)


def test_task_file_errors_name_the_file_and_the_task(tmp_path: Path) -> None:
    bad = write_task_file(tmp_path, [{"id": "task-1", "dependencies": []},
                                     {"id": "task-2", "dependencies": ["task-9"]}])
    with pytest.raises(SpecError) as err:
        WorkSpec(source=bad)
    assert str(err.value) == "'source(tasks.json).tasks[1].dependencies' of task 'task-2' must name tasks of the " \
                             "DAG (got 'task-9')"
    cyclic = write_task_file(tmp_path, [{"id": "x", "dependencies": ["y"]}, {"id": "y", "dependencies": ["x"]}])
    with pytest.raises(SpecError, match=r"tasks\.json\)\.tasks' must not contain a dependency cycle: x -> y -> x"):
        WorkSpec(source=cyclic)
    empty = write_task_file(tmp_path, [])
    with pytest.raises(SpecError, match="must hold at least one task"):
        WorkSpec(source=empty)
    with pytest.raises(SpecError, match="'source' must be an existing task JSON file"):
        WorkSpec(source=str(tmp_path / "nope.json"))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SpecError, match="'source' must be a valid JSON task file"):
        WorkSpec(source=str(tmp_path / "broken.json"))


def test_a_spec_error_inside_a_team_carries_the_team_path() -> None:
    data = work_team(2).to_dict()
    data["task"]["work"]["tasks"] = [{"id": "a", "dependencies": ["b"]}]
    data["task"]["work"].pop("parallel_fraction")
    with pytest.raises(SpecError) as err:
        TeamSpec.from_dict(data)
    assert str(err.value).startswith("'task.work.tasks[0].dependencies' of task 'a'")


@pytest.mark.parametrize("p, chain", [(0.9, 2), (0.5, 10), (0.2, 16), (1.0, 1), (0.0, 20)])
def test_generated_dags_have_the_papers_shape(p: float, chain: int) -> None:
    dag = generate_dag(p, 20)
    assert [t.id for t in dag] == [f"t{i}" for i in range(1, 21)]
    linked = [t for t in dag if t.dependencies]
    assert len(linked) == chain - 1
    assert all(t.dependencies == (f"t{int(t.id[1:]) - 1}",) for t in linked)
    assert all(t.files == (f"{t.id}.py",) for t in dag)


@needs_data
@pytest.mark.parametrize("suite", ["amdahl_dataanalysis", "amdahl_mathutilities20", "amdahl_svgutils"])
def test_the_papers_task_files_load(suite: str) -> None:
    for p in ("p02", "p05", "p09"):
        dag, project = load_task_file(DATA / "tasks" / suite / f"{p}.json")
        assert len(dag) == 20 and project
        assert all(len(t.files) == 1 for t in dag)
    example = WorkSpec(source=str(DATA / "tasks" / "example_task.json"))
    assert [t.id for t in example.dag] == ["task-1", "task-2", "task-3", "task-4", "task-5"]
    assert example.dag[4].dependencies == ("task-1", "task-2", "task-4")


def test_inline_dags_round_trip_through_dict_json_and_toml() -> None:
    dag = (WorkTask("a", "first", "do a", (), ("a.py", "shared.py"), 2), WorkTask("b", dependencies=("a",)))
    spec = work_team(3, tasks=dag, assignment="pre_assigned", work={"locks": False, "error_rate": 0.1})
    assert TeamSpec.from_dict(spec.to_dict()) == spec
    assert TeamSpec.from_json(spec.to_json()) == spec
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert spec.task.work.dag == dag


def test_work_team_defaults_and_lead_teams() -> None:
    spec = work_team(4)
    assert spec.task.kind == "work_division" and spec.task.work.parallel_fraction == 0.5
    assert spec.budgets.max_rounds == 60 and spec.task.work.assignment == "self_claim"
    lead = work_team(3, assignment="lead_assigned", p=0.9)
    assert lead.agents[0].role == "leader" and lead.topology.kind == "star" and lead.leader == "a0"
    with pytest.raises(SpecError, match="'task.work.assignment' 'lead_assigned' needs at least 2 agents"):
        work_team(1, assignment="lead_assigned")
    with pytest.raises(SpecError, match="'agents\\[0\\].eagerness' is not a known field"):
        work_team(2, eagerness=0.5)


def test_deliberation_specs_are_unchanged_by_the_work_field() -> None:
    spec = TeamSpec.from_dict({"size": 2})
    assert "work" not in spec.to_dict()["task"]
    assert spec.task.work is None
