"""What the team works on: a question with a known answer.

multiple_choice  a generated question with ``options`` labelled A, B, C ...
arithmetic       a generated sum; ``options`` candidate numbers, one of them right
custom           your own ``prompt``, ``choices`` and ``answer``
work_division    a task DAG the team divides (``work``: a :class:`WorkSpec`, see ``spec.tasks``;
                 an ``election`` with ``duty="assign"`` takes its DAG from ``work`` too)
election, commit, gossip
                 coordination patterns (``election``, ``commit``, ``gossip``: their specs,
                 see ``spec.coordination``; ``commit`` must be given, the others default)
The generated question depends only on the team's seed and ``index``, so a sweep over
``index`` asks different questions reproducibly. ``seed`` (optional) pins the question —
and a work DAG's task sizes — to a seed of its own, so the team's seed can vary the agents'
draws on the same question (a fork with another seed keeps its question this way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace
from llmteams_lab.spec.coordination import (
    COORDINATION_TASKS,
    CommitSpec,
    ElectionSpec,
    GossipSpec,
    check_assigned_work,
)
from llmteams_lab.spec.tasks import WorkSpec

TASKS = ("arithmetic", "commit", "custom", "election", "gossip", "multiple_choice", "work_division")


@dataclass(frozen=True)
class TaskSpec:
    """The question (see the module docstring)."""

    kind: str = "multiple_choice"
    options: int = 4
    index: int = 0
    prompt: str | None = None
    choices: tuple[str, ...] = ()
    answer: str | None = None
    work: WorkSpec | None = None
    seed: int | None = None  # the seed of the question (work sizes); None: the team's seed
    election: ElectionSpec | None = None
    commit: CommitSpec | None = None
    gossip: GossipSpec | None = None

    _TUPLES = ("choices",)
    _NESTED = {"work": WorkSpec, **COORDINATION_TASKS}

    def __post_init__(self) -> None:
        c.one_of("kind", self.kind, TASKS)
        c.int_at_least("options", self.options, 2)
        if self.options > 26:
            raise SpecError("options", "must be at most 26", self.options)
        c.int_at_least("index", self.index, 0)
        c.optional(c.int_at_least, "seed", self.seed, 0)
        if not isinstance(self.choices, (list, tuple)):
            raise SpecError("choices", "must be a list of answers", self.choices)
        object.__setattr__(self, "choices", tuple(self.choices))
        for i, choice in enumerate(self.choices):
            c.text(f"choices[{i}]", choice, allow_empty=False)
        c.optional(c.text, "prompt", self.prompt)  # checked whatever the kind: a spec must serialise
        c.optional(c.text, "answer", self.answer)
        if self.kind == "custom":
            c.text("prompt", self.prompt, allow_empty=False)
            if len(self.choices) < 2 or len(set(self.choices)) != len(self.choices):
                raise SpecError("choices", "must hold at least 2 distinct answers", list(self.choices))
            if self.answer not in self.choices:
                raise SpecError("answer", f"must be one of the choices {list(self.choices)}", self.answer)
        if self.kind == "work_division" and not isinstance(self.work, WorkSpec):
            raise SpecError("work", "must be a WorkSpec (tasks, source or parallel_fraction) for kind "
                            "'work_division'", self.work)
        self._check_coordination()
        if self.kind not in ("work_division", "election") and self.work is not None:
            raise SpecError("work", "is only allowed with kind 'work_division' (or 'election' with duty 'assign')",
                            show_got=False)
        if self.kind == "election" and self.work is not None and not isinstance(self.work, WorkSpec):
            raise SpecError("work", "must be a WorkSpec (tasks, source or parallel_fraction)", self.work)
        if self.kind == "election" and self.work is not None and self.election.duty != "assign":
            raise SpecError("work", "is only allowed with kind 'election' when election.duty is 'assign' (the "
                                    "leader assigns its tasks)", show_got=False)
        check_assigned_work(self)

    def _check_coordination(self) -> None:
        """Each coordination kind's spec: only with its kind; defaults when left out."""
        for name, cls in COORDINATION_TASKS.items():
            value = getattr(self, name)
            if value is not None and self.kind != name:
                raise SpecError(name, f"is only allowed with kind {name!r}", show_got=False)
            if self.kind == name and value is None:
                if name == "commit":
                    raise SpecError("commit", "must be a CommitSpec (protocol and steps) for kind 'commit'",
                                    show_got=False)
                object.__setattr__(self, name, cls())
            elif value is not None and not isinstance(value, cls):
                raise SpecError(name, f"must be a {cls.__name__}", value)

    def replace(self, **changes: Any) -> "TaskSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "TaskSpec":
        return from_dict(cls, data, path)
