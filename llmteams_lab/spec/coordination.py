"""Coordination patterns from distributed systems, as tasks (level 1, stdlib only).

A team runs one with ``TaskSpec(kind=..., <kind>=<its spec>)``; the spec is optional
(``None`` means its defaults). Each pattern is a workload (``llmteams_lab.workloads``):

election  Raft-style leader election and a replicated log of decisions
          (:class:`ElectionSpec`): randomised election timeouts, terms, vote requests
          and grants, heartbeats; the elected leader proposes each decision (its answer
          to one question) and commits it once a majority holds it — or, with
          ``duty="assign"``, assigns the tasks of a work DAG (``TaskSpec.work``) to its
          followers as replicated log entries
commit    a multi-part output produced by participants under a coordinator
          (:class:`CommitSpec`): two-phase commit, an orchestrated saga with
          compensations, or best effort; each step's role may be replicated (N-version,
          outputs voted) or have a backup that takes over from a silent primary
gossip    epidemic dissemination of a value (:class:`GossipSpec`): push, pull or
          push–pull with fanout k, on any topology

The questions behind decisions, parts and rumours are generated like deliberation's
(``question``: ``multiple_choice`` or ``arithmetic``; ``TaskSpec.options`` and
``index`` apply), so every part or decision has a checkable right answer.

Times are virtual seconds on the run clock (real seconds for real backends), like
agents' ``latency_s``: with the default 1 s agent latency, an election timeout of 10 s
is about ten replies long. Team-level rules (team size, topology, logging) are checked
by :func:`check_coordination` when the :class:`~llmteams_lab.spec.TeamSpec` is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

__all__ = ["COMMIT_PROTOCOLS", "COORDINATION_TASKS", "CommitSpec", "CommitStep", "ELECTION_DUTIES", "ElectionSpec",
           "GOSSIP_MODES", "GossipSpec", "QUESTIONS", "check_assigned_work", "check_coordination", "commit_team",
           "election_team", "gossip_team"]

QUESTIONS = ("arithmetic", "multiple_choice")
COMMIT_PROTOCOLS = ("best_effort", "saga", "two_phase")
GOSSIP_MODES = ("pull", "push", "push_pull")
ELECTION_DUTIES = ("assign", "decide")
_MAX_SECONDS = 1e9


def _seconds(path: str, value: Any) -> float:
    if not c.is_number(value) or not 0 < value <= _MAX_SECONDS:
        raise SpecError(path, f"must be a number of seconds > 0 and <= {_MAX_SECONDS:g}", value)
    return float(value)


class _Spec:
    """Shared plumbing of the coordination specs (editing and dict conversion)."""

    def replace(self, **changes: Any) -> Any:
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Any:
        return from_dict(cls, data, path)


@dataclass(frozen=True)
class ElectionSpec(_Spec):
    """Raft-style election and replicated decisions.

    election_timeout_s  T: a follower that hears no leader for a timeout drawn uniformly
                        in [T, T·(1 + timeout_spread)] stands for election (randomised,
                        so that candidates rarely split the vote; spread 0 makes split
                        votes common — a lesson in why Raft randomises)
    heartbeat_s         how often a leader with nothing new to say sends its log anyway;
                        must be < T, or followers would time out between heartbeats
    decisions           (duty ``decide``) log entries to commit: entry k is the team's
                        answer to question ``index + k``, proposed by the leader; 0: elect
                        leaders only
    question            (duty ``decide``) the kind of the generated questions
    duty                what the elected leader replicates: ``decide`` (the default, kept as
                        ``None`` so that spelling it out changes neither a spec's JSON nor its
                        run id) — the team's answers (deliberation); ``assign`` — who does
                        which task of the work DAG in
                        ``TaskSpec.work`` (work division): the leader assigns ready tasks to
                        idle followers, an assignment is committed once a majority holds
                        it, followers work on committed assignments and report back, and a
                        completion is committed like any entry (``workloads.election.assignment``)
    """

    election_timeout_s: float = 10.0
    timeout_spread: float = 1.0
    heartbeat_s: float = 3.0
    decisions: int = 3
    question: str = "multiple_choice"
    duty: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "election_timeout_s", _seconds("election_timeout_s", self.election_timeout_s))
        object.__setattr__(self, "timeout_spread", c.number_in("timeout_spread", self.timeout_spread, 0, 10))
        object.__setattr__(self, "heartbeat_s", _seconds("heartbeat_s", self.heartbeat_s))
        if self.election_timeout_s <= self.heartbeat_s:
            raise SpecError("election_timeout_s", f"must be > heartbeat_s ({self.heartbeat_s:g}): followers would "
                                                  "time out between a live leader's heartbeats",
                            self.election_timeout_s)
        c.int_at_least("decisions", self.decisions, 0)
        c.one_of("question", self.question, QUESTIONS)
        c.optional(c.one_of, "duty", self.duty, ELECTION_DUTIES)
        if self.duty == "decide":
            object.__setattr__(self, "duty", None)


def check_assigned_work(task: Any) -> None:
    """The work DAG of an election whose leader assigns tasks (``task``: a TaskSpec being
    built): required with ``duty="assign"``, refused otherwise; the work-division fields
    that promise behaviour its followers do not have (speculative backups, faulty work)
    are refused rather than silently ignored."""
    assign = task.kind == "election" and task.election is not None and task.election.duty == "assign"
    if assign and task.work is None:
        raise SpecError("work", "must be a WorkSpec (tasks, source or parallel_fraction: the DAG the leader "
                                "assigns) for an election with duty 'assign'", show_got=False)
    if not assign:
        return
    work = task.work
    if work.backup_after is not None:
        raise SpecError("work.backup_after", "must be left out for an election with duty 'assign' (its followers "
                                             "run no backup copies)", work.backup_after)
    if work.error_rate:
        raise SpecError("work.error_rate", "must be 0 for an election with duty 'assign' (its followers' work "
                                           "is not tested and redone)", work.error_rate)


@dataclass(frozen=True)
class CommitStep(_Spec):
    """One part of the joint output.

    name          the step's name (e.g. ``"introduction"``), unique in the transaction
    action        what its participant is asked to do (shown to LLM agents); empty: answer
                  the step's generated question (so the part can be graded)
    compensation  how to undo it once done — required in a saga, where completed steps
                  are compensated in reverse order when a later step fails
    fails         the step always fails (its participant votes no / reports failure):
                  the scripted failure of the lessons
    """

    name: str
    action: str = ""
    compensation: str | None = None
    fails: bool = False

    def __post_init__(self) -> None:
        c.text("name", self.name, allow_empty=False)
        c.text("action", self.action)
        c.optional(c.text, "compensation", self.compensation)
        if self.compensation is not None and not self.compensation.strip():
            raise SpecError("compensation", "must be a non-empty string (or left out)", self.compensation)
        c.boolean("fails", self.fails)


@dataclass(frozen=True)
class CommitSpec(_Spec):
    """A coordinator and participants producing a multi-part output.

    protocol      two_phase: prepare → vote → commit/abort, all parts or none; a
                  participant that voted yes and hears no decision is *blocked* (it may not
                  decide alone) and keeps asking the coordinator. saga: steps run one after
                  another; when one fails, the completed ones are compensated in reverse
                  order. best_effort: every part is asked for at once and whatever arrives
                  is published (the baseline: partial outputs are possible)
    steps         the parts, in order (at least one)
    replicas      N-version: each step is done by this many agents and the coordinator
                  takes the plurality of their parts (a step fails without a majority)
    backup        primary–backup: each step has a primary and a backup; the coordinator
                  suspects a primary silent for ``timeout_s`` and hands its step over
    timeout_s     how long the coordinator waits for a vote or a step (then: abort, fail
                  the step, or hand it to the backup) and how long a prepared participant
                  waits for the decision before it records itself blocked (and asks again)
    failure_rate  simulated participants: P(a step fails) — LLM agents decide themselves
    question      the kind of the steps' generated questions

    Agents: the coordinator is the team's leader (``TeamSpec.leader``); the other agents,
    in order, do step 1 (``replicas`` of them, or primary then backup), then step 2 ...
    """

    protocol: str = "two_phase"
    steps: tuple[CommitStep, ...] = ()
    replicas: int = 1
    backup: bool = False
    timeout_s: float = 30.0
    failure_rate: float = 0.0
    question: str = "multiple_choice"

    _NESTED = {"steps": CommitStep}

    def __post_init__(self) -> None:
        c.one_of("protocol", self.protocol, COMMIT_PROTOCOLS)
        if not isinstance(self.steps, (list, tuple)) or not self.steps:
            raise SpecError("steps", "must list at least one step", self.steps)
        object.__setattr__(self, "steps", tuple(self.steps))
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if not isinstance(step, CommitStep):
                raise SpecError(f"steps[{i}]", "must be a CommitStep", step)
            if step.name in seen:
                raise SpecError(f"steps[{i}].name", "must be unique in the transaction", step.name)
            seen.add(step.name)
            if self.protocol == "saga" and step.compensation is None:
                raise SpecError(f"steps[{i}].compensation", f"is required for a saga step (how to undo "
                                f"{step.name!r} if a later step fails)", show_got=False)
        c.int_at_least("replicas", self.replicas, 1)
        c.boolean("backup", self.backup)
        if self.backup and self.replicas > 1:
            raise SpecError("backup", "cannot be combined with replicas > 1 (a step has either N versions or a "
                                      "primary and a backup)", self.backup)
        object.__setattr__(self, "timeout_s", _seconds("timeout_s", self.timeout_s))
        object.__setattr__(self, "failure_rate", c.number_in("failure_rate", self.failure_rate, 0, 1))
        c.one_of("question", self.question, QUESTIONS)

    @property
    def per_step(self) -> int:
        """Agents per step: the replicas, or a primary and a backup."""
        return 2 if self.backup else self.replicas

    @property
    def team_size(self) -> int:
        """The coordinator plus every step's agents."""
        return 1 + len(self.steps) * self.per_step


@dataclass(frozen=True)
class GossipSpec(_Spec):
    """Epidemic dissemination of one value.

    mode      push: every informed agent sends the value to ``fanout`` peers drawn at
              random each round; pull: every uninformed agent asks ``fanout`` random peers,
              and informed ones answer; push_pull: both
    fanout    peers contacted per round (1 ..  n − 1, and at most an agent's out-degree)
    sources   how many agents hold the value at the start (the first ``sources``; each
              answers the question itself, so sources can disagree)
    ttl       rumour mongering: an informed agent pushes this many rounds, then stops
              (``None``: until everyone is informed)
    period_s  asynchronous runs: how often an agent gossips (a round of gossip)
    question  the kind of the generated question whose answer is spread
    """

    mode: str = "push"
    fanout: int = 1
    sources: int = 1
    ttl: int | None = None
    period_s: float = 1.0
    question: str = "multiple_choice"

    def __post_init__(self) -> None:
        c.one_of("mode", self.mode, GOSSIP_MODES)
        c.int_at_least("fanout", self.fanout, 1)
        c.int_at_least("sources", self.sources, 1)
        c.optional(c.int_at_least, "ttl", self.ttl, 1)
        object.__setattr__(self, "period_s", _seconds("period_s", self.period_s))
        c.one_of("question", self.question, QUESTIONS)


COORDINATION_TASKS: dict[str, type] = {"commit": CommitSpec, "election": ElectionSpec, "gossip": GossipSpec}


def check_coordination(team: Any) -> None:
    """Team-level rules of a coordination task (``team``: a TeamSpec being built)."""
    kind = team.task.kind
    if kind not in COORDINATION_TASKS:
        return
    if team.logging != "messages":
        raise SpecError("logging", f"must be 'messages' for a {kind!r} task (its agents address each message)",
                        team.logging)
    if team.protocol.kind != "debate" or team.protocol.wait not in (None, "any"):
        field, value = ("protocol.kind", team.protocol.kind) if team.protocol.kind != "debate" else \
            ("protocol.wait", team.protocol.wait)
        raise SpecError(field, f"must be left at its default for a {kind!r} task: it runs its own protocol "
                               f"(task.{kind}) and its agents act on every message", value)
    n, outs = len(team.agents), _out_sets(team)
    if kind == "election" and any(len(o) != n - 1 for o in outs):
        raise SpecError("topology.kind", "must connect every agent to every other for an 'election' task (votes "
                                         "and log entries go point to point)", team.topology.kind)
    if kind == "election" and team.task.election.duty == "assign" and n < 2:
        raise SpecError("agents", "must number at least 2 for an election with duty 'assign' (the leader assigns, "
                                  "its followers work)", n)
    if kind == "commit":
        _check_commit(team, n, outs)
    if kind == "gossip":
        _check_gossip(team, n, outs)


def _out_sets(team: Any) -> list[Any]:
    """Each agent's out-neighbours (a complete graph's are not built: n² arcs at n = 1,024)."""
    n = len(team.agents)
    if team.topology.kind == "complete":
        return [_AllBut(i, n) for i in range(n)]
    outs: list[set[int]] = [set() for _ in team.agents]
    for a, b in team.arcs():
        outs[a].add(b)
    return outs


class _AllBut:
    """Every agent but ``me`` (a complete graph's out-neighbours), as a set would answer."""

    def __init__(self, me: int, n: int):
        self.me, self.n = me, n

    def __len__(self) -> int:
        return self.n - 1

    def __contains__(self, j: object) -> bool:
        return isinstance(j, int) and j != self.me and 0 <= j < self.n


def _check_commit(team: Any, n: int, outs: list[set[int]]) -> None:
    spec = team.task.commit
    if n != spec.team_size:
        per = "a primary and a backup" if spec.backup else f"{spec.replicas} agent(s)"
        raise SpecError("agents", f"must number {spec.team_size} for this transaction: a coordinator plus {per} "
                                  f"for each of its {len(spec.steps)} steps", n)
    coordinator = team.ids.index(team.leader)
    cut = [team.ids[i] for i in range(n) if i != coordinator and (i not in outs[coordinator]
                                                                   or coordinator not in outs[i])]
    if cut:
        raise SpecError("topology", f"must link the coordinator {team.leader!r} with every participant both ways "
                                    f"(a star around it, or complete)", cut[0])


def _check_gossip(team: Any, n: int, outs: list[set[int]]) -> None:
    spec = team.task.gossip
    if n > 1 and spec.fanout > n - 1:
        raise SpecError("task.gossip.fanout", f"must be <= n - 1 = {n - 1} (the other agents)", spec.fanout)
    for i, o in enumerate(outs):
        if n > 1 and spec.fanout > len(o):
            raise SpecError("task.gossip.fanout", f"must be <= the {len(o)} out-neighbours of "
                                                  f"{team.ids[i]!r} in the topology", spec.fanout)
    if spec.sources > n:
        raise SpecError("task.gossip.sources", f"must be <= the team size {n}", spec.sources)


def _team(n: int, task: dict[str, Any], seed: int, max_rounds: int, execution: str, topology: str,
          profile: dict[str, Any], roles: dict[int, str] | None = None) -> Any:
    from llmteams_lab.spec.team import TeamSpec  # the team module imports this one

    agents = [{"id": f"a{i}", **profile, **({"role": roles[i]} if roles and i in roles else {})} for i in range(n)]
    return TeamSpec.from_dict({"agents": agents, "topology": {"kind": topology}, "task": task, "seed": seed,
                               "budgets": {"max_rounds": max_rounds}, "execution": execution})


def election_team(n: int = 5, *, seed: int = 0, max_rounds: int = 200, execution: str = "asynchronous",
                  options: int = 4, **election: Any) -> Any:
    """``n`` agents electing leaders and replicating decisions (``election``: any
    :class:`ElectionSpec` field; AgentSpec fields go in ``profile=...``). With
    ``duty="assign"``, ``work=`` gives the task DAG (a WorkSpec or its dict; default: a
    generated DAG of 12 tasks with parallel fraction 0.75)."""
    profile = election.pop("profile", {})
    task: dict[str, Any] = {"kind": "election", "options": options, "election": election}
    work = election.pop("work", None)
    if election.get("duty") == "assign" or work is not None:
        task["work"] = work if work is not None else {"parallel_fraction": 0.75, "size": 12}
    return _team(n, task, seed, max_rounds, execution, "complete", profile)


def commit_team(steps: int | list[Any] = 3, *, protocol: str = "two_phase", seed: int = 0, max_rounds: int = 200,
                execution: str = "asynchronous", options: int = 4, **commit: Any) -> Any:
    """A coordinator (``a0``, the star's hub) and the participants of ``steps`` steps
    (a number: steps ``part1 ..`` answering generated questions, each with a compensation)."""
    profile = commit.pop("profile", {})
    if isinstance(steps, int):
        steps = [{"name": f"part{k + 1}", "compensation": f"withdraw part{k + 1}"} for k in range(steps)]
    spec = CommitSpec.from_dict({"protocol": protocol, "steps": steps, **commit})
    return _team(spec.team_size, {"kind": "commit", "options": options, "commit": spec.to_dict()}, seed,
                 max_rounds, execution, "star", profile, {0: "leader"})


def gossip_team(n: int = 64, *, seed: int = 0, max_rounds: int = 200, execution: str = "synchronous",
                topology: str = "complete", options: int = 4, **gossip: Any) -> Any:
    """``n`` agents spreading one value by gossip (``gossip``: any :class:`GossipSpec` field)."""
    profile = gossip.pop("profile", {})
    return _team(n, {"kind": "gossip", "options": options, "gossip": gossip}, seed, max_rounds, execution,
                 topology, profile)
