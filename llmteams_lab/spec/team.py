"""The whole experiment as one frozen value: agents, topology, protocol, task, budgets.

A :class:`TeamSpec` is validated on construction (cross-field rules included), edited
with :meth:`TeamSpec.replace`, and round-trips exactly through dict, JSON and TOML,
so a run can always be re-created from the spec recorded in its ``RunStarted`` event.
"""

from __future__ import annotations

import copy as _copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import MAX_DEPTH, check_depth, construct, from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace
from llmteams_lab.spec._toml import dumps as toml_dumps
from llmteams_lab.spec._toml import loads as toml_loads
from llmteams_lab.spec.agent import AgentSpec
from llmteams_lab.spec.budgets import Budgets
from llmteams_lab.spec.coordination import check_coordination
from llmteams_lab.spec.endpoint import EndpointSpec
from llmteams_lab.spec.faults import (
    FailurePolicySpec,
    FaultSpec,
    check_team_faults,
    coerce_faults,
)
from llmteams_lab.spec.footprint import check_fits
from llmteams_lab.spec.network import (
    EXECUTIONS,
    DetectorSpec,
    NetworkSpec,
    check_communication,
)
from llmteams_lab.spec.profiles import (
    PROFILES,
    ProfileSpec,
    apply_profile,
    check_custom,
    check_mix,
    mix_profiles,
    resolve,
)
from llmteams_lab.spec.protocol import ProtocolSpec
from llmteams_lab.spec.roster import Roster, values
from llmteams_lab.spec.task import TaskSpec
from llmteams_lab.spec.topology import TopologySpec


LOGGING = ("messages", "rounds")
# Why a cap: a typo such as size = 10**12 must be refused up front, whatever it asks for.
# Below it, what a team may cost is the pre-flight estimate's to judge (``spec.footprint``:
# a complete graph of 100,000 agents is refused, a small world of 1,000,000 runs); a
# generated team is a ``Roster`` (template + size), so a large one is cheap to describe.
MAX_AGENTS = 10_000_000


@dataclass(frozen=True)
class TeamSpec:
    """A team and what it runs.

    logging      "messages": one event per message and per reply (the default);
                 "rounds": aggregated per round (answer tallies, message counts) —
                 for large sweeps where per-message rows would dominate the cost
    concurrency  how many backend calls may be in flight at once within a round
    faults       scheduled faults (``spec.faults``); failure_policy: what the team does
                 when a backend call fails. Both are left out of the dict/JSON/TOML form
                 while empty/default, so fault-free specs keep their run ids.
    endpoint     the OpenAI-compatible endpoint of ``backend = "openai"`` agents
                 (``None``: ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` defaults; omitted from dicts)
    execution    "synchronous" (rounds with a barrier, the default), "asynchronous" or
                 "partially_synchronous" (see ``spec.network``); omitted from dicts when
                 synchronous
    network      link delays, mailboxes, reliability (``None``: instant and lossless)
    detector     a timeout-based failure detector (asynchronous teams; ``None``: none)
    profiles     the team's own agent profiles (``spec.profiles``), beside the presets;
                 omitted from dicts while empty
    mix          the team's composition by profile, ``{"strong-slow": 1, "cheap-fast": 4}``
                 (counts summing to the team size): agent i gets the i-th profile slot —
                 one value a sweep can vary; ``None``: each agent's own ``profile``
    """

    agents: tuple[AgentSpec, ...]
    topology: TopologySpec = TopologySpec()
    protocol: ProtocolSpec = ProtocolSpec()
    task: TaskSpec = TaskSpec()
    budgets: Budgets = Budgets()
    seed: int = 0
    name: str = "team"
    concurrency: int = 16
    logging: str = "messages"
    faults: tuple[FaultSpec, ...] = ()
    failure_policy: FailurePolicySpec = FailurePolicySpec()
    endpoint: EndpointSpec | None = None
    execution: str = "synchronous"
    network: NetworkSpec | None = None
    detector: DetectorSpec | None = None
    profiles: tuple[ProfileSpec, ...] = ()
    mix: tuple[tuple[str, int], ...] | None = None

    _NESTED = {"agents": AgentSpec, "topology": TopologySpec, "protocol": ProtocolSpec,
               "task": TaskSpec, "budgets": Budgets, "faults": FaultSpec, "failure_policy": FailurePolicySpec,
               "endpoint": EndpointSpec, "network": NetworkSpec, "detector": DetectorSpec, "profiles": ProfileSpec}
    _OPTIONAL = ("endpoint", "network", "detector")

    def __post_init__(self) -> None:
        if not isinstance(self.agents, (list, tuple, Roster)):
            raise SpecError("agents", "must be a list of agents", self.agents)
        if not isinstance(self.agents, Roster):  # a roster's template was checked when it was made
            object.__setattr__(self, "agents", tuple(self.agents))
            for i, agent in enumerate(self.agents):
                if not isinstance(agent, AgentSpec):
                    raise SpecError(f"agents[{i}]", "must be an AgentSpec", agent)
        if not self.agents:
            raise SpecError("agents", "must hold at least one agent", [])
        if len(self.agents) > MAX_AGENTS:
            raise SpecError("agents", f"must hold at most {MAX_AGENTS:,} agents", len(self.agents))
        object.__setattr__(self, "faults", coerce_faults(self.faults))
        object.__setattr__(self, "profiles", check_custom(self.profiles))
        object.__setattr__(self, "agents", self._profiled())
        for name, cls in self._NESTED.items():
            if name in self._OPTIONAL and getattr(self, name) is None:
                continue
            if name not in ("agents", "faults", "profiles") and not isinstance(getattr(self, name), cls):
                raise SpecError(name, f"must be a {cls.__name__}", getattr(self, name))
        c.int_at_least("seed", self.seed, 0)
        c.text("name", self.name, allow_empty=False)
        c.int_at_least("concurrency", self.concurrency, 1, MAX_AGENTS)
        c.one_of("logging", self.logging, LOGGING)
        c.one_of("execution", self.execution, EXECUTIONS)
        self._check_team()
        check_communication(self)
        check_coordination(self)

    def _profiled(self) -> Sequence[AgentSpec]:
        """The agents with the mix's profiles and the team's own profiles applied."""
        agents = self.agents
        if self.mix is None and isinstance(agents, Roster) and (agents.template.profile is None
                                                                or agents.template.profile in PROFILES):
            return agents  # a preset was applied to the template
        if self.mix is not None:
            mix = check_mix(self.mix, len(agents), self.profiles)
            object.__setattr__(self, "mix", mix)
            agents = tuple(a if a.profile == name and name in PROFILES else apply_profile(a, name, self.profiles)
                           for a, name in zip(agents, mix_profiles(mix)))
        if not self.profiles and all(a.profile is None or a.profile in PROFILES for a in agents):
            return agents  # the common case: presets were applied by each agent
        out = []
        for i, a in enumerate(agents):
            if a.profile is None or a.profile in PROFILES:
                out.append(a)
                continue
            found = resolve(a.profile, self.profiles, f"agents[{i}].profile")
            same = all(getattr(a, k) == v for k, v in found.fields().items())
            out.append(a if same else construct(AgentSpec, {**a.to_dict(), **found.fields()}, f"agents[{i}]"))
        return tuple(out)

    def _check_team(self) -> None:
        topo, roster = self.topology, isinstance(self.agents, Roster)
        named = bool(self.faults or topo.leader or topo.edges or self.task.work is not None)
        # a roster's ids are a0, a1 ... (unique): they are made only if something names an agent
        ids: Sequence[str] = self.ids if named or not roster else range(len(self.agents))  # type: ignore[assignment]
        seen: set[str] = set()
        for i, name in enumerate(() if roster else ids):
            if name in seen:
                raise SpecError(f"agents[{i}].id", "must be unique in the team", name)
            seen.add(name)
        self.topology.check_members(ids)
        if self.task.work is not None:
            self.task.work.check_members(ids)
            self.task.work.check_execution(self.execution)
        if self.faults:
            check_team_faults(self.faults, ids, self.arcs, self.budgets.max_rounds, self.task)
        n = len(ids)
        if self.protocol.kind == "leader":
            if self.topology.kind != "star":
                raise SpecError("topology.kind", "must be 'star' for the leader protocol", self.topology.kind)
            leaders = [a.id for a in self.agents if a.role == "leader"] if "leader" in values(
                self.agents, "role") else []
            if len(leaders) > 1:
                raise SpecError("agents", "must hold at most one agent with role 'leader'", leaders)
            if leaders and self.topology.leader not in (None, leaders[0]):
                raise SpecError("topology.leader", f"must be the leader agent {leaders[0]!r}",
                                self.topology.leader)
        if self.protocol.quorum is not None and self.protocol.quorum > n:
            raise SpecError("protocol.quorum", f"must be <= the team size {n}", self.protocol.quorum)
        if self.protocol.kind == "quorum" and self.protocol.quorum_size(n) > n:
            raise SpecError("protocol.faulty", f"must satisfy 2f + 1 <= the team size {n}",
                            self.protocol.faulty)
        check_fits(self)  # last: a spec that validates can also be run (memory, setup work)

    # --- derived values -------------------------------------------------------------
    @property
    def ids(self) -> tuple[str, ...]:
        """The agents' ids, in order (made once: a frozen spec's ids never change)."""
        ids = self.__dict__.get("_ids")
        if ids is None:
            agents = self.agents
            ids = agents.ids() if isinstance(agents, Roster) else tuple(a.id for a in agents)
            object.__setattr__(self, "_ids", ids)
        return ids

    @property
    def leader(self) -> str:
        """The leader: the agent with role 'leader', else the topology's, else the first."""
        for agent in self.agents if "leader" in values(self.agents, "role") else ():
            if agent.role == "leader":
                return agent.id
        return self.topology.leader or self.agents[0].id

    def arcs(self) -> tuple[tuple[int, int], ...]:
        """Directed communication arcs between agent indices (see :class:`TopologySpec`)."""
        topo = self.topology
        if topo.kind in ("star", "tree") and topo.leader is None:
            topo = topo.replace(leader=self.leader)
        return topo.arcs(self.ids, self.seed)

    def fingerprint(self) -> str:
        """A stable 12-hex id of the spec (sha256 of its canonical JSON)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    # --- editing and conversion ------------------------------------------------------
    def replace(self, **changes: Any) -> "TeamSpec":
        """A copy with ``changes`` applied and validated (nested dicts are accepted)."""
        built = {k: from_dict(self._NESTED[k], v, k) if isinstance(v, dict) and k in self._NESTED else v
                 for k, v in changes.items()}
        return _replace(self, **built)

    def reseeded(self, seeds: Iterable[int]) -> Iterator["TeamSpec"]:
        """``replace(seed=s)`` for each of ``seeds``, sharing one serialisation.

        Why: a sweep runs each design on thousands of seeds, and each run needs its
        spec's canonical JSON (the run id's fingerprint, ``RunStarted``) — ~0.1 ms of
        walking a 10-agent spec. Copies that differ only in the top-level seed have the
        same JSON but for the seed's digits, so each copy's JSON is made by substitution
        (the same text ``to_json`` gives; ``tests/spec/test_reseeded.py``). No rule of a
        valid spec depends on its seed, so a copy checks only the new seed."""
        marker = "\x00seed\x00"
        data = self.to_dict()
        data["seed"] = marker
        parts = json.dumps(data, sort_keys=False, ensure_ascii=False).split(json.dumps(marker))
        for seed in seeds:
            c.int_at_least("seed", seed, 0)
            copy = _copy.copy(self)
            object.__setattr__(copy, "seed", seed)
            if len(parts) == 2:
                object.__setattr__(copy, "_json", f"{parts[0]}{seed}{parts[1]}")
            else:  # the marker's text occurs elsewhere in the spec: to_json walks the copy
                copy.__dict__.pop("_json", None)
            yield copy

    def to_dict(self, *, listed: bool = False) -> dict[str, Any]:
        """The plain dict form. A generated team of more than 100,000 agents is written
        ``size`` + ``agent`` (``spec.roster``); ``listed=True`` lists its agents anyway
        (to edit one agent's fields)."""
        data = to_dict(self)
        if isinstance(self.agents, Roster):  # a generated team: listed, or compact above the old cap
            roster = data.pop("agents")
            head = {"size": roster.n, "agent": roster.template_dict()} if roster.compact() and not listed else {
                "agents": roster.listed()}
            data = {**head, **data}
        if self.execution == "synchronous":  # the default: left out, so existing specs keep their run ids
            del data["execution"]
        if not self.faults:
            del data["faults"]
        if self.failure_policy == FailurePolicySpec():
            del data["failure_policy"]
        if not self.profiles:
            del data["profiles"]
        if self.mix is not None:
            data["mix"] = dict(self.mix)
        return data

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "TeamSpec":
        """Build from a mapping. Besides ``agents = [...]``, accepts ``size = n`` plus an
        optional ``agent`` table applied to every generated agent ``a0 .. a{n-1}`` (with a
        ``mix`` table and no ``size``, the size is the mix's total)."""
        if not path and isinstance(data, dict):
            check_depth(data, cls.__name__)  # before expanding ``size`` copies of the template
        if isinstance(data, dict) and ("size" in data or "agent" in data or ("mix" in data and "agents" not in data)):
            data = _expand_size(data)
        return from_dict(cls, data, path, checked=True)

    def to_json(self, indent: int | None = None) -> str:
        if indent is None:  # the compact form (run ids, RunStarted) is asked for often: kept once made
            cached = self.__dict__.get("_json")
            if cached is None:
                cached = json.dumps(self.to_dict(), sort_keys=False, ensure_ascii=False)
                object.__setattr__(self, "_json", cached)  # a frozen value: its JSON never changes
            return cached
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "TeamSpec":
        """Build from JSON text. Syntax errors, integers of more than 4,300 digits and
        nesting deeper than a spec's are :class:`SpecError` (never another exception)."""
        c.text("<json>", text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError("<json>", f"must be valid JSON: {err.msg} at line {err.lineno}",
                            show_got=False) from None
        except RecursionError:
            raise SpecError("<json>", f"must not nest lists/objects more than {MAX_DEPTH} deep",
                            show_got=False) from None
        except ValueError as err:  # an integer of more than 4,300 digits
            raise SpecError("<json>", f"must be valid JSON: {str(err)[:120]}", show_got=False) from None
        return cls.from_dict(data)

    def to_toml(self) -> str:
        return toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "TeamSpec":
        """Build from TOML text (errors as :meth:`from_json`)."""
        c.text("<toml>", text)
        return cls.from_dict(toml_loads(text, MAX_DEPTH))


def check_team_size(path: str, n: Any) -> int:
    """A team size for generated teams: an integer in [1, MAX_AGENTS] (one message everywhere)."""
    if not c.is_int(n) or not 1 <= n <= MAX_AGENTS:
        raise SpecError(path, f"must be an integer in [1, {MAX_AGENTS}]", n)
    return n


def _expand_size(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    size = data.pop("size", None)
    mix = data.get("mix")
    if size is None and isinstance(mix, dict) and all(c.is_int(v) for v in mix.values()):
        size = sum(mix.values())
    template = data.pop("agent", {})
    if "agents" in data:
        raise SpecError("size", "cannot be combined with an explicit 'agents' list", size)
    check_team_size("size", size)
    if not isinstance(template, dict):
        raise SpecError("agent", "must be a table/mapping", template)
    if "id" in template or template.get("role", "member") != "member":  # not one template: listed
        data["agents"] = [{"id": f"a{i}", **template} for i in range(size)]
        return data
    data["agents"] = Roster(from_dict(AgentSpec, {"id": "a0", **template}, "agents[0]"), size)
    return data


def team(
    n: int = 5,
    *,
    topology: str = "complete",
    protocol: str = "debate",
    task: str = "multiple_choice",
    options: int = 4,
    max_rounds: int = 10,
    seed: int = 0,
    backend: str = "simulated",
    logging: str = "messages",
    endpoint: Any = None,
    mix: Any = None,
    execution: str = "synchronous",
    **profile: Any,
) -> TeamSpec:
    """The quick way to a spec: ``n`` identical agents ``a0 .. a{n-1}``.

    ``profile`` sets any :class:`AgentSpec` field on every agent (``competence=0.7``,
    ``profile="cheap-fast"``); ``mix`` gives a heterogeneous team by profile instead
    (``{"strong-slow": 1, "cheap-fast": 4}``, counts summing to ``n``).
    For the leader protocol the first agent gets role ``leader`` and the topology is a star.
    ``endpoint`` (an :class:`EndpointSpec` or a dict) is where ``backend="openai"`` agents are answered.
    """
    check_team_size("n", n)
    first = construct(AgentSpec, {"id": "a0", "role": "member", "backend": backend, **profile}, "agents[0]")
    agents: Sequence[AgentSpec] = Roster(first, n)
    if protocol == "leader":  # the first agent leads: not one template
        agents = (first.replace(role="leader"), *agents[1:])
    return TeamSpec(
        agents=agents,
        topology=construct(TopologySpec, {"kind": topology}, "topology"),
        protocol=construct(ProtocolSpec, {"kind": protocol}, "protocol"),
        task=construct(TaskSpec, {"kind": task, "options": options}, "task"),
        budgets=construct(Budgets, {"max_rounds": max_rounds}, "budgets"),
        seed=seed,
        logging=logging,
        endpoint=None if endpoint is None else from_dict(EndpointSpec, endpoint, "endpoint"),
        mix=mix,
        execution=execution,
    )
