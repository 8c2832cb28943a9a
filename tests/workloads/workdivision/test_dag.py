"""DAG algorithms: order, critical path and p of the paper's suites, chain-keeping assignment."""

from __future__ import annotations

import pytest

from llmteams_lab.spec import WorkTask
from llmteams_lab.spec.tasks import generate_dag, load_task_file
from llmteams_lab.workloads.workdivision.dag import (
    amdahl,
    assigned_makespan,
    chain_assignment,
    critical_path,
    critical_path_bound,
    parallel_fraction,
    topological_order,
    work_span_bound,
)
from tests.support import PAPER_DATA

DATA = PAPER_DATA
SUITES = ["amdahl_dataanalysis", "amdahl_mathutilities20", "amdahl_svgutils"]
CHAINS = {"p02": 16, "p05": 10, "p09": 2}
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the paper's data is not at ../shared/data")


def test_topological_order_puts_dependencies_first_and_keeps_listed_order() -> None:
    dag = (WorkTask("c", dependencies=("b",)), WorkTask("a"), WorkTask("b", dependencies=("a",)), WorkTask("d"))
    assert topological_order(dag) == ["a", "b", "c", "d"]


def test_critical_path_weighs_work() -> None:
    dag = (WorkTask("a", work=5), WorkTask("b"), WorkTask("c", dependencies=("b",)), WorkTask("d", dependencies=("c",)))
    assert critical_path(dag) == ["a"]
    assert parallel_fraction(dag) == pytest.approx(3 / 8)


@needs_data
@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("label", sorted(CHAINS))
def test_the_papers_dags_have_the_documented_chain_and_p(suite: str, label: str) -> None:
    dag, _ = load_task_file(DATA / "tasks" / suite / f"{label}.json")
    assert len(critical_path(dag)) == CHAINS[label]
    assert parallel_fraction(dag) == pytest.approx((20 - CHAINS[label]) / 20)


@needs_data
@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("label", sorted(CHAINS))
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_chain_assignment_keeps_chains_together_and_its_makespan_is_c_plus_the_share(suite, label, n) -> None:
    dag, _ = load_task_file(DATA / "tasks" / suite / f"{label}.json")
    agents = [f"a{i}" for i in range(n)]
    owner = chain_assignment(dag, agents)
    for t in dag:
        if t.dependencies:
            assert owner[t.id] == owner[t.dependencies[-1]]
    chain, free = CHAINS[label], 20 - CHAINS[label]
    assert assigned_makespan(dag, owner) == chain + free // n
    if free % n == 0:  # Amdahl's T1/S(n) = C + (W - C)/n exactly
        assert 20 / assigned_makespan(dag, owner) == pytest.approx(amdahl((20 - chain) / 20, n), abs=1e-12)


def test_assigned_makespan_waits_for_other_agents_dependencies() -> None:
    dag = (WorkTask("x"), WorkTask("y"), WorkTask("z", dependencies=("x", "y"), work=2))
    assert assigned_makespan(dag, {"x": "a", "y": "b", "z": "b"}) == 3
    assert assigned_makespan(dag, {"x": "a", "y": "a", "z": "a"}) == 4


def test_bounds() -> None:
    assert amdahl(0.5, 2) == pytest.approx(4 / 3)
    assert amdahl(0.0, 7) == 1.0 and amdahl(1.0, 4) == 4.0
    assert work_span_bound(20, 10, 3) == 2.0
    assert work_span_bound(20, 2, 3) == 3.0
    assert critical_path_bound(0.5, 3) == 2.0 and critical_path_bound(1.0, 3) == 3.0
    for p in (0.2, 0.5, 0.9):
        dag = generate_dag(p)
        w, c = 20, len(critical_path(dag))
        for n in range(1, 8):
            assert amdahl(parallel_fraction(dag), n) <= work_span_bound(w, c, n) + 1e-12
            assert critical_path_bound(parallel_fraction(dag), n) == pytest.approx(work_span_bound(w, c, n))


def test_chain_assignment_needs_agents() -> None:
    with pytest.raises(ValueError):
        chain_assignment(generate_dag(0.5), [])
