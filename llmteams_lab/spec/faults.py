"""Faults as data: what goes wrong, to whom, and when — plus the team's failure policy.

Why one flat record with a ``kind`` (rather than a class per fault): a fault is
written by hand in TOML, built by a UI from a click on a node or an edge, and recorded
in an event's ``detail`` as JSON; one flat shape with a few optional fields serves all
three and round-trips through the generic converters in ``_fields``.

Kinds
  agent    crash (crash-stop), crash_recover (down for rounds start..end), straggler
           (latency × factor and/or + extra_s), byzantine (always answers ``lie``),
           equivocator (tells each peer something different), sycophant (adopts the last
           message it read), stubborn (never changes its answer), prompt_injection (its
           messages carry ``payload``, urging the answer ``lie``)
  network  drop (the message is lost), delay (``rounds`` late, or ``extra_s`` seconds in
           flight), duplicate (delivered once more), reorder (held back one round, so the
           sender's next message overtakes it), corrupt (arrives unreadable), partition
           (``groups``; heals at ``heal_round``)
  backend  timeout (no reply within ``extra_s``, default 10 s), rate_limit (HTTP 429),
           server_error (HTTP 503), malformed (a reply that cannot be parsed), empty (a
           reply with no content); raised at the backend boundary, so the engine's own
           error handling runs

Target: ``agent``, ``group`` (several agents), ``link`` (the edge between two agents,
both directions; network kinds only), or — with none of them — every agent / message.
For network kinds an agent or group target means messages from or to its members.

Schedule: ``at_round`` is one round (for crash and partition: the round they begin —
a crash lasts, a partition lasts until ``heal_round``); ``start_round``..``end_round``
is a window (either end optional); none means the whole run. ``probability`` makes
the fault random within its schedule: per message (network), per backend call
(backend), per round (agent kinds; a crash then strikes in the first round drawn and
lasts). Draws come from a stream derived from the run's seed, never ``hash()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

__all__ = ["AGENT_KINDS", "ANSWER_KINDS", "BACKEND_KINDS", "DOWN_KINDS", "FAULT_KINDS", "FailurePolicySpec",
           "FaultSpec", "INCORRECT_KINDS", "MESSAGE_KINDS", "NETWORK_KINDS", "check_lie", "check_team_faults", "coerce_faults",
           "task_options"]

AGENT_KINDS = ("byzantine", "crash", "crash_recover", "equivocator", "prompt_injection", "straggler",
               "stubborn", "sycophant")
NETWORK_KINDS = ("corrupt", "delay", "drop", "duplicate", "partition", "reorder")
BACKEND_KINDS = ("empty", "malformed", "rate_limit", "server_error", "timeout")
FAULT_KINDS = tuple(sorted(AGENT_KINDS + NETWORK_KINDS + BACKEND_KINDS))
# kinds that act on individual messages, so a run with them logs (and routes) each message
MESSAGE_KINDS = NETWORK_KINDS + ("equivocator", "prompt_injection")
# kinds that change what an agent answers, so they need a task with answers (deliberation)
ANSWER_KINDS = ("byzantine", "equivocator", "prompt_injection", "stubborn", "sycophant")
# kinds that take an agent down (it does not act): crash-stop, then crash-recover
DOWN_KINDS = ("crash", "crash_recover")
# agent kinds that make an agent incorrect (down or answering wrongly); a straggler is only slow
INCORRECT_KINDS = tuple(k for k in AGENT_KINDS if k != "straggler")

_TARGETS = ("agent", "group", "link")
MAX_FACTOR = 10**6  # a straggler at most a million times slower
_WINDOW = ("at_round", "start_round", "end_round", "probability")
# optional fields each kind accepts besides ``kind`` and the targets
_FIELDS: dict[str, tuple[str, ...]] = {
    "crash": ("at_round", "probability"),
    "crash_recover": ("start_round", "end_round"),
    "straggler": _WINDOW + ("factor", "extra_s"),
    "byzantine": _WINDOW + ("lie",),
    "equivocator": _WINDOW,
    "sycophant": _WINDOW,
    "stubborn": _WINDOW,
    "prompt_injection": _WINDOW + ("lie", "payload"),
    "drop": _WINDOW,
    "delay": _WINDOW + ("rounds", "extra_s"),
    "duplicate": _WINDOW,
    "reorder": _WINDOW,
    "corrupt": _WINDOW,
    "partition": ("at_round", "heal_round", "groups"),
    **{kind: _WINDOW + ("extra_s",) for kind in BACKEND_KINDS},
}
_OPTIONAL = ("agent", "link", "group", "groups", "at_round", "start_round", "end_round", "heal_round",
             "probability", "factor", "extra_s", "rounds", "lie", "payload")


@dataclass(frozen=True)
class FaultSpec:
    """One fault (see the module docstring for kinds, targets and schedules).

    factor    straggler: latency multiplier (>= 1)
    extra_s   straggler: added seconds; delay: seconds in flight (a synchronous round
              waits for its last message, so the round stretches); backend kinds: how
              long the failed call takes (default: timeout 10 s, others 0.2 s)
    rounds    delay: how many rounds late the message is read
    lie       byzantine / prompt_injection: the wrong answer pushed (default: the first
              option that is not the truth)
    payload   prompt_injection: the instruction text carried by its messages
    groups    partition: disjoint groups of agents; agents in no group form one more
    """

    kind: str
    agent: str | None = None
    link: tuple[str, str] | None = None
    group: tuple[str, ...] | None = None
    groups: tuple[tuple[str, ...], ...] | None = None
    at_round: int | None = None
    start_round: int | None = None
    end_round: int | None = None
    heal_round: int | None = None
    probability: float | None = None
    factor: float | None = None
    extra_s: float | None = None
    rounds: int | None = None
    lie: str | None = None
    payload: str | None = None

    _TUPLES = ("link", "group", "groups")

    def __post_init__(self) -> None:
        c.one_of("kind", self.kind, FAULT_KINDS)
        allowed = _FIELDS[self.kind] + (() if self.kind == "partition" else _TARGETS)
        for name in _OPTIONAL:
            if getattr(self, name) is not None and name not in allowed:
                raise SpecError(name, f"does not apply to a {self.kind!r} fault; it takes {sorted(allowed)}",
                                getattr(self, name))
        self._check_targets()
        self._check_schedule()
        self._check_parameters()

    # --- validation ---------------------------------------------------------------
    def _check_targets(self) -> None:
        given = [name for name in _TARGETS if getattr(self, name) is not None]
        if len(given) > 1:
            raise SpecError(given[1], f"cannot be combined with {given[0]!r}; a fault has one target",
                            getattr(self, given[1]))
        c.optional(c.text, "agent", self.agent)
        if self.link is not None:
            link = _names("link", self.link)
            if len(link) != 2 or link[0] == link[1]:
                raise SpecError("link", "must be a pair of two different agent ids", list(link))
            object.__setattr__(self, "link", link)
        if self.group is not None:
            group = _names("group", self.group)
            if not group:
                raise SpecError("group", "must name at least one agent", [])
            object.__setattr__(self, "group", group)
        if self.kind == "partition":
            if self.groups is None:
                raise SpecError("groups", "is required for a partition", show_got=False)
            if not isinstance(self.groups, (list, tuple)) or not self.groups:
                raise SpecError("groups", "must be a non-empty list of groups of agent ids", self.groups)
            groups = tuple(_names(f"groups[{i}]", g) for i, g in enumerate(self.groups))
            object.__setattr__(self, "groups", groups)
            _check_disjoint(groups)

    def _check_schedule(self) -> None:
        for name in ("at_round", "start_round", "end_round", "heal_round"):
            c.optional(c.int_at_least, name, getattr(self, name), 1, c.MAX_ROUNDS)
        if self.at_round is not None and (self.start_round is not None or self.end_round is not None):
            name = "start_round" if self.start_round is not None else "end_round"
            raise SpecError(name, "cannot be combined with 'at_round' (a single round)", getattr(self, name))
        if self.kind == "crash_recover":
            for name in ("start_round", "end_round"):
                if getattr(self, name) is None:
                    raise SpecError(name, "is required for a crash_recover fault", show_got=False)
        if self.end_round is not None and self.end_round < (self.start_round or 1):
            raise SpecError("end_round", f"must be >= start_round {self.start_round or 1}", self.end_round)
        if self.heal_round is not None and self.heal_round <= self.first_round:
            raise SpecError("heal_round", f"must be > the partition's first round {self.first_round}",
                            self.heal_round)
        if self.probability is not None:
            object.__setattr__(self, "probability", c.number_in("probability", self.probability, 0, 1))

    def _check_parameters(self) -> None:
        if self.factor is not None:
            if not c.is_number(self.factor) or self.factor < 1:
                raise SpecError("factor", "must be a number >= 1", self.factor)
            if self.factor > MAX_FACTOR:
                raise SpecError("factor", f"must be in [1, {MAX_FACTOR}]", self.factor)
            object.__setattr__(self, "factor", float(self.factor))
        if self.extra_s is not None:
            object.__setattr__(self, "extra_s", c.non_negative("extra_s", self.extra_s, c.MAX_SECONDS))
        c.optional(c.int_at_least, "rounds", self.rounds, 1, c.MAX_ROUNDS)
        if self.kind == "straggler" and self.factor is None and self.extra_s is None:
            raise SpecError("factor", "or 'extra_s' is required for a straggler", show_got=False)
        if self.kind == "delay" and (self.rounds is None) == (self.extra_s is None):
            raise SpecError("rounds", "or 'extra_s' (exactly one) is required for a delay", self.rounds)
        c.optional(c.text, "lie", self.lie)
        if self.payload is not None:
            c.text("payload", self.payload, allow_empty=False)

    # --- derived values -------------------------------------------------------------
    @property
    def first_round(self) -> int:
        """The first round the fault can act in."""
        return self.at_round or self.start_round or 1

    @property
    def last_round(self) -> int | None:
        """The last round it can act in (``None``: until the run ends)."""
        if self.kind == "partition":
            return None if self.heal_round is None else self.heal_round - 1
        if self.at_round is not None:
            return None if self.kind == "crash" else self.at_round
        return self.end_round

    def targets(self) -> tuple[str, ...] | None:
        """The agents it targets (``None``: everyone / every message)."""
        if self.agent is not None:
            return (self.agent,)
        if self.group is not None:
            return self.group
        return self.link

    def scheduled_from(self, round: int) -> "FaultSpec":
        """This fault as a scheduled one starting in ``round`` if it names no start (live
        injection). A schedule that starts earlier raises :class:`SpecError`."""
        if self.at_round is None and self.start_round is None:
            if self.kind in ("crash", "partition"):
                return self.replace(at_round=round)
            return self.replace(start_round=round)
        name = "at_round" if self.at_round is not None else "start_round"
        if self.first_round < round:
            raise SpecError(name, f"must be >= the next round {round} for a live injection", self.first_round)
        return self

    def __repr__(self) -> str:  # only the fields set: FaultSpec(kind='crash', agent='a2', at_round=3)
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"FaultSpec({fields})"

    def replace(self, **changes: Any) -> "FaultSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "FaultSpec":
        return from_dict(cls, data, path)


ON_ERROR = ("abstain", "retry", "skip", "stop")


@dataclass(frozen=True)
class FailurePolicySpec:
    """What the team does when an agent's backend call fails — declared, never silent.

    on_error       skip     the agent sits the round out; its last answer stands
                   abstain  the agent sits out and its vote is withdrawn this round
                   stop     the run fails (``RunFailedError``); events are kept
                   retry    call again (``AgentRetried`` events), waiting
                            backoff_s · 2^(attempt-1) seconds (or the server's
                            Retry-After if longer); then ``after_retries``
    retries        extra attempts after the first (retry only)
    after_retries  skip | abstain | stop once the retries are spent

    The policy acts on what a backend finally raises: a backend that retries on its
    own (the openai backend, per its endpoint settings) does so first, and a call it
    gives up on then meets this policy. A refused key (HTTP 401/403) is never retried.
    """

    on_error: str = "skip"
    retries: int = 2
    backoff_s: float = 1.0
    after_retries: str = "skip"

    def __post_init__(self) -> None:
        c.one_of("on_error", self.on_error, ON_ERROR)
        c.int_at_least("retries", self.retries, 0, c.MAX_RETRIES)
        if self.on_error == "retry" and self.retries < 1:
            raise SpecError("retries", "must be an integer >= 1 when on_error is 'retry'", self.retries)
        object.__setattr__(self, "backoff_s", c.non_negative("backoff_s", self.backoff_s, c.MAX_SECONDS))
        c.one_of("after_retries", self.after_retries, ("abstain", "skip", "stop"))

    @property
    def attempts(self) -> int:
        """How many calls an agent gets per round."""
        return 1 + self.retries if self.on_error == "retry" else 1

    @property
    def final(self) -> str:
        """What happens to a call that still fails after every attempt."""
        return self.after_retries if self.on_error == "retry" else self.on_error

    def replace(self, **changes: Any) -> "FailurePolicySpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "FailurePolicySpec":
        return from_dict(cls, data, path)


# --- helpers used by TeamSpec -------------------------------------------------------
def coerce_faults(value: Any) -> tuple[FaultSpec, ...]:
    """``faults`` as a tuple of :class:`FaultSpec` (dicts are converted, paths kept)."""
    if not isinstance(value, (list, tuple)):
        raise SpecError("faults", "must be a list of faults", value)
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            item = FaultSpec.from_dict(item, f"faults[{i}]")
        elif not isinstance(item, FaultSpec):
            raise SpecError(f"faults[{i}]", "must be a FaultSpec or a table", item)
        out.append(item)
    return tuple(out)


def check_team_faults(faults: Sequence[FaultSpec], ids: Sequence[str], arcs: Callable[[], Any],
                      max_rounds: int, task: Any) -> None:
    """Cross-check every fault against the team: its agents, links, rounds and answers.

    ``arcs`` is called only if a fault names a link (building a large graph costs);
    ``lie`` is checked against the task's answers when the spec alone fixes them.
    """
    known = _Team(ids)
    edges = {(ids[a], ids[b]) for a, b in arcs()} if any(f.link for f in faults) else set()
    options = task_options(task)
    for i, fault in enumerate(faults):
        path = f"faults[{i}]"
        _check_agent(f"{path}.agent", fault.agent, known)
        for j, name in enumerate(fault.group or ()):
            _check_agent(f"{path}.group[{j}]", name, known)
        for g, members in enumerate(fault.groups or ()):
            for j, name in enumerate(members):
                _check_agent(f"{path}.groups[{g}][{j}]", name, known)
        if fault.link is not None:
            for name in fault.link:
                if name not in known.members:
                    raise SpecError(f"{path}.link", f"must name agents of the team {c.team_text(known.ids)}",
                                    list(fault.link))
            a, b = fault.link
            if (a, b) not in edges and (b, a) not in edges:
                raise SpecError(f"{path}.link", "must be a link of the topology", list(fault.link))
        for name in ("at_round", "start_round", "end_round", "heal_round"):
            value = getattr(fault, name)
            if value is not None and value > max_rounds:
                raise SpecError(f"{path}.{name}", f"must be <= budgets.max_rounds {max_rounds}", value)
        if fault.kind in ANSWER_KINDS and getattr(task, "kind", None) == "work_division":
            raise SpecError(f"{path}.kind", "needs a deliberation task (agents answering a question)", fault.kind)
        check_lie(fault, options, path)


def task_options(task: Any) -> tuple[str, ...] | None:
    """The answers a task's question offers, if the spec alone fixes them.

    Multiple-choice options are the letters A, B, ...; custom tasks list their choices;
    generated arithmetic options exist only once the question is drawn (``None``).
    """
    if getattr(task, "kind", None) == "multiple_choice":
        return tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:task.options])
    if getattr(task, "kind", None) == "custom":
        return tuple(task.choices)
    return None


def check_lie(fault: FaultSpec, options: Sequence[str] | None, path: str) -> None:
    """``lie`` must be one of the question's answers (when they are known)."""
    if fault.lie is not None and options is not None and fault.lie not in options:
        raise SpecError(f"{path}.lie", f"must be one of the answers {list(options)}", fault.lie)


class _Team:
    """The team's ids for membership checks (a set, built once) and messages (short)."""

    def __init__(self, ids: Sequence[str]):
        self.ids, self.members = ids, frozenset(ids)


def _check_agent(path: str, name: str | None, known: _Team) -> None:
    if name is not None and name not in known.members:
        raise SpecError(path, f"must be an agent of the team {c.team_text(known.ids)}", name)


def _names(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise SpecError(path, "must be a list of agent ids", value)
    for j, name in enumerate(value):
        c.text(f"{path}[{j}]", name, allow_empty=False)
    return tuple(value)


def _check_disjoint(groups: tuple[tuple[str, ...], ...]) -> None:
    where: dict[str, int] = {}
    for g, members in enumerate(groups):
        for name in members:
            if name in where and where[name] != g:
                raise SpecError("groups", f"must not overlap: {name!r} is in groups {where[name]} and {g}",
                                [list(m) for m in groups])
            where[name] = g
