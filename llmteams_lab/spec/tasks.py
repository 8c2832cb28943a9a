"""Work division: a task DAG and how the team divides it (level 1, stdlib only).

A work-division team runs ``TaskSpec(kind="work_division", work=WorkSpec(...))``. The DAG
comes from exactly one of three places:

tasks              inline :class:`WorkTask` records (id, dependencies, files, work)
source             a task file in the paper's JSON format (``{"project", "tasks": [...]}``
                   with ``id``/``title``/``description``/``dependencies``/``files``), e.g.
                   ``../shared/data/paper-2603.12229/tasks/amdahl_svgutils/p05.json``
parallel_fraction  a generated DAG of ``size`` unit tasks shaped like the paper's suites:
                   a dependency chain of C = max(1, round(size·(1−p))) tasks plus
                   size − C independent ones, so p = (size − C)/size exactly when size·(1−p)
                   is a whole number (the paper's definition of p)

assignment   pre_assigned: the system assigns every task up front, keeping dependency
             chains on one agent (the paper's "preassign"); lead_assigned: the team's lead
             assigns in its first turn and does no task work itself; self_claim: agents
             claim pending tasks themselves (the paper's "decentralized")
locks        per-file locks: a write to a file another agent holds is refused
             (``LockDenied``); without locks concurrent writes clobber each other's work

Simulated-worker profile (LLM agents ignore it; timing comes from the agents' own
``latency_s``/``latency_jitter``):
  work_jitter  each task's work in rounds is max(1, round(work · exp(work_jitter · z)))
  error_rate   P(a finished task fails its tests and must be reworked)
  eagerness    P(an agent claims a task whose dependencies are not done in its view)
  read_s       seconds an agent spends per message it reads (latency grows with inbox)

The DAG is validated on construction: no tasks, duplicate ids, dependencies on unknown
ids and cycles are each a :class:`SpecError` naming the task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

__all__ = ["ASSIGNMENTS", "WorkSpec", "WorkTask", "generate_dag", "load_task_file", "work_team"]

ASSIGNMENTS = ("lead_assigned", "pre_assigned", "self_claim")
MAX_TASKS = 100_000  # a generated DAG is built eagerly, one record per task


@dataclass(frozen=True)
class WorkTask:
    """One task of the DAG. ``work`` is its size in rounds of one agent's work."""

    id: str
    title: str = ""
    description: str = ""
    dependencies: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    work: int = 1

    _TUPLES = ("dependencies", "files")

    def __post_init__(self) -> None:
        c.text("id", self.id, allow_empty=False)
        c.text("title", self.title)
        c.text("description", self.description)
        for name in self._TUPLES:
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise SpecError(name, "must be a list of strings", value)
            for i, item in enumerate(value):
                c.text(f"{name}[{i}]", item, allow_empty=False)
            object.__setattr__(self, name, tuple(value))
        c.int_at_least("work", self.work, 1, c.MAX_ROUNDS)

    def replace(self, **changes: Any) -> "WorkTask":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "WorkTask":
        return from_dict(cls, data, path)


@dataclass(frozen=True)
class WorkSpec:
    """The DAG, the assignment mode and the simulated-worker profile (see module doc)."""

    assignment: str = "self_claim"
    tasks: tuple[WorkTask, ...] = ()
    source: str | None = None
    parallel_fraction: float | None = None
    size: int = 20
    locks: bool = True
    work_jitter: float = 0.0
    error_rate: float = 0.0
    eagerness: float = 0.0
    read_s: float = 0.0
    project: str | None = None

    _NESTED = {"tasks": WorkTask}

    def __post_init__(self) -> None:
        c.one_of("assignment", self.assignment, ASSIGNMENTS)
        c.int_at_least("size", self.size, 1, MAX_TASKS)
        c.boolean("locks", self.locks)
        for name, high in (("work_jitter", 5), ("error_rate", 0.95), ("eagerness", 1)):
            object.__setattr__(self, name, c.number_in(name, getattr(self, name), 0, high))
        object.__setattr__(self, "read_s", c.non_negative("read_s", self.read_s, c.MAX_SECONDS))
        c.optional(c.text, "project", self.project)
        if self.parallel_fraction is not None:
            p = c.number_in("parallel_fraction", self.parallel_fraction, 0, 1)
            object.__setattr__(self, "parallel_fraction", p)
        object.__setattr__(self, "_dag", self._resolve())

    def _resolve(self) -> tuple[WorkTask, ...]:
        if not isinstance(self.tasks, (list, tuple)):
            raise SpecError("tasks", "must be a list of tasks", self.tasks)
        given = [name for name, on in (("tasks", bool(self.tasks)), ("source", self.source is not None),
                                       ("parallel_fraction", self.parallel_fraction is not None)) if on]
        if len(given) != 1:
            raise SpecError("tasks", "needs exactly one DAG: inline 'tasks', a 'source' task file or a "
                            "generated 'parallel_fraction'", given, show_got=bool(given))
        if self.source is not None:
            return load_task_file(c.text("source", self.source, allow_empty=False))[0]
        if self.parallel_fraction is not None:
            return generate_dag(self.parallel_fraction, self.size)
        tasks = tuple(t if isinstance(t, WorkTask) else _bad_task(i, t) for i, t in enumerate(self.tasks))
        object.__setattr__(self, "tasks", tasks)
        check_dag(tasks, "tasks")
        return tasks

    @property
    def dag(self) -> tuple[WorkTask, ...]:
        """The resolved DAG (inline, loaded from ``source`` or generated)."""
        return self._dag  # type: ignore[attr-defined]

    def check_members(self, ids: Sequence[str], path: str = "task.work") -> None:
        """Cross-check against the team: a lead-assigned team needs a lead and members."""
        if self.assignment == "lead_assigned" and len(ids) < 2:
            raise SpecError(f"{path}.assignment", "'lead_assigned' needs at least 2 agents (a lead and a member)",
                            len(ids))

    def replace(self, **changes: Any) -> "WorkSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "WorkSpec":
        return from_dict(cls, data, path)


def _bad_task(i: int, value: Any) -> WorkTask:
    raise SpecError(f"tasks[{i}]", "must be a WorkTask", value)


def check_dag(tasks: Sequence[WorkTask], path: str) -> None:
    """Raise :class:`SpecError` naming the task for an empty DAG, duplicate ids, unknown
    dependencies or a dependency cycle."""
    if not tasks:
        raise SpecError(path, "must hold at least one task", [])
    index: dict[str, int] = {}
    for i, task in enumerate(tasks):
        if task.id in index:
            raise SpecError(f"{path}[{i}].id", f"must be unique in the DAG (task {index[task.id]} has it too)",
                            task.id)
        index[task.id] = i
    for i, task in enumerate(tasks):
        for dep in task.dependencies:
            if dep not in index:
                raise SpecError(f"{path}[{i}].dependencies", f"of task {task.id!r} must name tasks of the DAG",
                                dep)
    cycle = _find_cycle(tasks)
    if cycle:
        raise SpecError(path, "must not contain a dependency cycle: " + " -> ".join(cycle), show_got=False)


def _find_cycle(tasks: Sequence[WorkTask]) -> list[str]:
    """One dependency cycle as task ids (first id repeated at the end), or ``[]``."""
    deps = {t.id: t.dependencies for t in tasks}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in deps:
        if state.get(root):
            continue
        stack = [(root, iter(deps[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(deps[child])))
                path.append(child)
    return []


def load_task_file(path: str | Path) -> tuple[tuple[WorkTask, ...], str | None]:
    """The DAG and project name of a task file in the paper's JSON format.

    Accepts ``{"project": ..., "tasks": [...]}`` or a bare list of tasks; ``status``,
    ``owner``, ``assigned_by`` and ``priority`` are ignored (the assignment mode decides).
    """
    file = Path(path)
    where = f"source({file.name})"
    if not file.is_file():
        raise SpecError("source", "must be an existing task JSON file", str(path))
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SpecError("source", f"must be a valid JSON task file ({err})", str(path)) from None
    items = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise SpecError(f"{where}.tasks", "must be a list of tasks", type(items).__name__)
    tasks = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SpecError(f"{where}.tasks[{i}]", "must be a task object", item)
        fields = {k: item[k] for k in ("id", "title", "description", "dependencies", "files", "work") if k in item}
        fields.update({k: v or "" for k, v in fields.items() if k in ("title", "description") and v is None})
        tasks.append(from_dict(WorkTask, fields, f"{where}.tasks[{i}]"))
    check_dag(tasks, f"{where}.tasks")
    project = data.get("project") if isinstance(data, dict) and isinstance(data.get("project"), str) else None
    return tuple(tasks), project


def generate_dag(p: float, size: int = 20) -> tuple[WorkTask, ...]:
    """``size`` unit tasks: a chain t1 → … → tC (C = max(1, round(size·(1−p)))) plus
    independent tasks t{C+1} … t{size}; each task writes its own file ``t<i>.py``."""
    chain = max(1, min(size, round(size * (1.0 - p))))
    return tuple(
        WorkTask(f"t{i}", f"task {i}", "", (f"t{i - 1}",) if 1 < i <= chain else (), (f"t{i}.py",))
        for i in range(1, size + 1)
    )


def work_team(n: int = 4, *, assignment: str = "self_claim", p: float | None = None, source: str | None = None,
              tasks: Sequence[WorkTask] | None = None, size: int = 20, max_rounds: int | None = None,
              seed: int = 0, backend: str = "simulated", topology: str | None = None,
              work: dict[str, Any] | None = None, **profile: Any):
    """The quick way to a work-division spec: ``n`` agents ``a0 .. a{n-1}`` on a DAG.

    Without ``p``, ``source`` or ``tasks`` the DAG is generated with p = 0.5. ``work``
    sets further :class:`WorkSpec` fields (``locks``, ``error_rate`` ...); ``profile``
    sets :class:`AgentSpec` fields on every agent. A lead-assigned team gets ``a0`` as
    its lead and a star topology around it; ``max_rounds`` defaults to max(60, 3·tasks).
    """
    from llmteams_lab.spec._fields import construct
    from llmteams_lab.spec.task import TaskSpec
    from llmteams_lab.spec.team import team

    if p is None and source is None and not tasks:
        p = 0.5
    fields = {"assignment": assignment, "parallel_fraction": p, "source": source, "size": size,
              "tasks": tuple(tasks or ()), **(work or {})}
    spec = construct(WorkSpec, {k: v for k, v in fields.items() if v is not None}, "task.work")
    lead = assignment == "lead_assigned"
    rounds = max_rounds if max_rounds is not None else max(60, 3 * len(spec.dag))
    base = team(n, topology=topology or ("star" if lead else "complete"), max_rounds=rounds, seed=seed,
                backend=backend, **profile)
    agents = tuple(a.replace(role="leader") if lead and i == 0 else a for i, a in enumerate(base.agents))
    return base.replace(agents=agents, task=TaskSpec(kind="work_division", work=spec),
                        name=f"work-{assignment}")
