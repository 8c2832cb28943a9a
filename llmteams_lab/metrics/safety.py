"""Safety and liveness properties over a run's events, with the shortest prefix showing a violation.

Each protocol declares the properties it promises (``Protocol.properties`` in
``protocols``); :func:`check_run` reads the protocol from the spec in the run's
``RunStarted``, runs exactly those checks and says which (one row per run and check).
The checks live in one registry, :data:`PROPERTIES`. A new protocol (leader election,
two-phase commit, sagas, gossip ...) names its properties on its protocol class and adds
one :class:`Property` per new name to the registry below — nothing else changes.

The coordination workloads' properties (leader election, atomic commit and sagas, gossip)
are listed in ``metrics.coordination_checks``.

The deliberation protocols' properties (what the protocol's rule guarantees whatever its
agents say, so they hold with liars and crashes too; read with the one definition of who
holds what in ``metrics.consensus``):

one_decision         the team decides at most once, and the run's outcome is that decision
plurality            (majority) the decision is an answer held by the most live agents
weighted_plurality   (weighted) the decision has the largest confidence sum among the answers held
consensus_agreement  (debate) when it reports consensus, every live agent holds the decision
stops_at_consensus   (debate, with ``stop_at_consensus``) it decides in the first round every
                     live agent holds the same answer
leader_decides       (leader) the decision is the answer the leader holds in the aggregation round
quorum_certificate   (quorum) behind a decision, at least q live agents hold the decided answer
decides_at_quorum    (quorum) it decides in the first round q live agents hold one answer
termination          (liveness) the team decides by round k — the protocol's own bound
                     (majority, weighted: 1; leader: 2) or the ``k`` you pass

The textbook properties of the consensus *problem* — ``agreement`` (every correct agent's
last answer is the decision's) and ``validity`` (some correct agent first proposed it) —
are promised by none of these protocols (a 2f + 1 quorum leaves up to n − q agents
dissenting; a debate can converge on an answer nobody first gave). Ask for them by name
(``properties=("agreement", "validity")``) to see whether a run solved consensus.
*Correct* agents are those no agent fault targeted (``metrics.faults.faulty_agents``).

A team *decides* in a round whose ``RoundEnded`` carries a protocol reason (voted,
consensus, quorum, leader_decided); its value may be null (a leader that was down).
A violation comes with ``prefix_rounds``: the shortest prefix of rounds (events with
``round <= prefix_rounds``) on which the check already fails; one round fewer passes.
``ok`` is null when the log cannot tell (aggregated logging has no per-agent rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import polars as pl

from llmteams_lab.errors import ArgumentError, SpecError
from llmteams_lab.metrics.consensus import held_answers
from llmteams_lab.metrics.coordination_checks import CHECKS as _COORDINATION
from llmteams_lab.metrics.faults import faulty_agents
from llmteams_lab.protocols import PROTOCOLS
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import DOWN_KINDS
from llmteams_lab.workloads import REGISTRY

__all__ = ["DECISION_REASONS", "PROPERTIES", "Property", "RunLog", "check_agreement", "check_run",
           "check_termination", "check_validity", "declared_properties", "prefix"]

DECISION_REASONS = ("consensus", "leader_decided", "quorum", "voted")
_SCHEMA = {"run_id": pl.String, "protocol": pl.String, "check": pl.String, "kind": pl.String, "ok": pl.Boolean,
           "prefix_rounds": pl.Int64, "detail": pl.String}
Verdict = tuple["bool | None", "int | None", str]  # (ok, prefix_rounds, detail)
_PER_AGENT = (None, None, "needs per-agent replies (logging = 'messages')")


class RunLog:
    """One run's events and what the checks read from them (computed once, on demand)."""

    def __init__(self, run_id: str, events: pl.DataFrame, k: int | None = None):
        self.run_id, self.events, self.k = run_id, events, k

    @cached_property
    def spec(self) -> TeamSpec | None:
        start = self.events.filter(pl.col("kind") == "RunStarted")["detail"]
        try:
            return TeamSpec.from_json(start[0]) if start.len() and start[0] else None
        except (SpecError, ValueError):
            return None

    @cached_property
    def decisions(self) -> list[tuple[int, str | None]]:
        """(round, value) of every round that ended with a protocol decision, in order."""
        ends = self.events.filter((pl.col("kind") == "RoundEnded") & pl.col("detail").is_in(DECISION_REASONS))
        return list(ends.sort("seq").select("round", "value").iter_rows())

    @cached_property
    def held(self) -> pl.DataFrame:
        """Per round and answer: live agents holding it (``metrics.consensus.held_answers``)."""
        return held_answers(self.events)

    @cached_property
    def per_agent(self) -> bool:
        kinds = set(self.events["kind"].unique().to_list())
        return "AgentReplied" in kinds or "AnswersTallied" not in kinds

    @property
    def last_round(self) -> int:
        return self.events.filter(pl.col("kind") == "RoundEnded")["round"].max() or 0

    def holders(self, round: int) -> tuple[dict[str | None, int], int]:
        """Live agents per answer held after ``round`` and how many live agents counted."""
        rows = self.held.filter(pl.col("round") == round).select("value", "count").rows()
        return dict(rows), sum(c for _, c in rows)


@dataclass(frozen=True)
class Property:
    """A named property: ``kind`` safety | liveness, what it says, and its check."""

    name: str
    kind: str
    says: str
    check: Callable[[RunLog], Verdict]


def _first_decision(run: RunLog) -> tuple[int, str | None] | None:
    return run.decisions[0] if run.decisions else None


def _one_decision(run: RunLog) -> Verdict:
    if not run.decisions:
        return True, None, "no decision"
    (rnd, value), later = run.decisions[0], run.decisions[1:]
    if later:
        again, other = later[0]
        return False, again, f"decided {value!r} in round {rnd} and again ({other!r}) in round {again}"
    ends = run.events.filter(pl.col("kind") == "RunEnded").select("round", "value").rows()
    if ends and ends[-1][1] != value:
        return False, ends[-1][0], f"decided {value!r} in round {rnd} but the run ended with {ends[-1][1]!r}"
    return True, None, f"decided {value!r} once, in round {rnd}"


def _plurality(run: RunLog) -> Verdict:
    decided = _first_decision(run)
    if decided is None:
        return True, None, "no decision"
    rnd, value = decided
    held, _ = run.holders(rnd)
    answers = {v: c for v, c in held.items() if v is not None}
    top = max(answers.values(), default=0)
    if (value is None and top == 0) or answers.get(value, -1) == top:
        return True, None, f"{value!r} was held by {top} live agents, the most of any answer (round {rnd})"
    return False, rnd, f"decided {value!r} in round {rnd}, held by {answers.get(value, 0)}; {top} held another"


def _weights(run: RunLog, rnd: int) -> dict[str | None, int]:
    """Σ confidence (thousandths) per answer held by the live agents after ``rnd``."""
    rows = run.events.filter(pl.col("round") <= rnd).sort("seq")
    conf: dict[str, int] = {}
    for agent, detail in rows.filter(pl.col("kind") == "AgentReplied").select("agent", "detail").iter_rows():
        conf[agent] = round(1000 * float(json.loads(detail or "{}").get("confidence") or 0))
    now = rows.filter((pl.col("round") == rnd) & (pl.col("kind").is_in(("AgentReplied", "AgentFailed")))
                      & ~pl.col("fault").fill_null("").is_in(DOWN_KINDS))
    out: dict[str | None, int] = {}
    for agent, value in now.select("agent", "value").iter_rows():
        if value is not None:
            out[value] = out.get(value, 0) + conf.get(agent, 0)
    return out


def _weighted_plurality(run: RunLog) -> Verdict:
    decided = _first_decision(run)
    if decided is None:
        return True, None, "no decision"
    if not run.per_agent:
        return _PER_AGENT
    rnd, value = decided
    weights = _weights(run, rnd)
    top = max(weights.values(), default=0)
    if (value is None and not weights) or weights.get(value, -1) == top:
        return True, None, f"{value!r} had the largest confidence sum ({top / 1000:g}) in round {rnd}"
    return False, rnd, (f"decided {value!r} in round {rnd} with confidence sum {weights.get(value, 0) / 1000:g}; "
                        f"another answer had {top / 1000:g}")


def _consensus_agreement(run: RunLog) -> Verdict:
    if not run.decisions:
        return True, None, "no consensus reported"
    for rnd, value in run.decisions:
        held, counted = run.holders(rnd)
        if held.get(value, 0) != counted or value is None:
            return False, rnd, (f"reported consensus on {value!r} in round {rnd}, but only {held.get(value, 0)} "
                                f"of {counted} live agents held it")
    return True, None, "every reported consensus was held by every live agent"


def _unanimous_rounds(run: RunLog) -> list[tuple[int, str]]:
    """(round, answer) of the rounds after which every live agent held one answer."""
    out = []
    for (rnd,), part in run.held.group_by("round", maintain_order=True):
        rows = part.select("value", "count").rows()
        if len(rows) == 1 and rows[0][0] is not None:
            out.append((rnd, rows[0][0]))
    return sorted(out)


def _stops_at(run: RunLog, due: list[tuple[int, str]], what: str) -> Verdict:
    decided = _first_decision(run)
    if due and (decided is None or decided[0] > due[0][0]):
        rnd, value = due[0]
        return False, rnd, f"{what} reached on {value!r} in round {rnd}, but the team did not decide then"
    return True, None, f"decided at the first {what}" if decided else f"no {what}, no decision"


def _stops_at_consensus(run: RunLog) -> Verdict:
    if run.spec is not None and not run.spec.protocol.stop_at_consensus:
        return True, None, "stop_at_consensus is off in the spec"
    return _stops_at(run, _unanimous_rounds(run), "consensus")


def _quorum_size(run: RunLog) -> int | None:
    return None if run.spec is None else run.spec.protocol.quorum_size(len(run.spec.agents))


def _quorum_certificate(run: RunLog) -> Verdict:
    q = _quorum_size(run)
    if q is None:
        return None, None, "needs the run's spec (RunStarted) for the quorum size"
    if not run.decisions:
        return True, None, "no decision"
    for rnd, value in run.decisions:
        have = run.holders(rnd)[0].get(value, 0) if value is not None else 0
        if have < q:
            return False, rnd, f"decided {value!r} in round {rnd} with {have} live agents holding it (q = {q})"
    return True, None, f"every decision had a quorum of at least {q}"


def _decides_at_quorum(run: RunLog) -> Verdict:
    q = _quorum_size(run)
    if q is None:
        return None, None, "needs the run's spec (RunStarted) for the quorum size"
    due = [(r, v) for (r, v, c) in run.held.select("round", "value", "count").rows() if v is not None and c >= q]
    return _stops_at(run, sorted(due), f"quorum (q = {q})")


def _leader_decides(run: RunLog) -> Verdict:
    decided = _first_decision(run)
    if decided is None:
        return True, None, "no decision"
    if not run.per_agent:
        return _PER_AGENT
    if run.spec is None:
        return None, None, "needs the run's spec (RunStarted) to know the leader"
    rnd, value = decided
    leader = run.spec.leader
    rows = run.events.filter((pl.col("round") == rnd) & (pl.col("agent") == leader)
                             & pl.col("kind").is_in(("AgentReplied", "AgentFailed")))
    holds = None if rows.is_empty() or rows["fault"][0] in DOWN_KINDS else rows["value"][0]
    if holds == value:
        return True, None, f"the leader {leader} held {value!r} when the team decided (round {rnd})"
    return False, rnd, f"decided {value!r} in round {rnd}, but the leader {leader} held {holds!r}"


def _termination(run: RunLog) -> Verdict:
    k = run.k
    if k is None and run.spec is not None and run.spec.protocol.kind in PROTOCOLS:
        k = PROTOCOLS[run.spec.protocol.kind].decides_by
    if k is None:
        return None, None, "no round bound: pass k"
    decided, last = _first_decision(run), run.last_round
    ended = run.events.filter(pl.col("kind") == "RunEnded").height > 0
    if decided is not None and decided[0] <= k:
        return True, None, f"decided in round {decided[0]} <= {k}"
    if last >= k:
        return False, k, f"no decision in the first {k} rounds"
    if ended:
        return False, last, f"the run ended after round {last} undecided"
    return True, None, f"undecided after {last} of {k} rounds (so far)"


def _correct_replies(run: RunLog, decided: int) -> pl.DataFrame:
    """Replies up to the decision by agents no fault had touched by then (a fault that
    begins later does not make an earlier decision unsafe, and keeps prefixes honest)."""
    replies = run.events.filter((pl.col("kind") == "AgentReplied") & pl.col("value").is_not_null()
                                & (pl.col("round") <= decided))
    bad = faulty_agents(run.events).filter(pl.col("round") <= decided).select("agent")
    return replies.join(bad, on="agent", how="anti").select("round", "seq", "agent", "value")


def _textbook(run: RunLog) -> tuple[tuple[int, str] | None, Verdict | None]:
    """``(decision to judge, None)``, or ``(None, verdict)`` when there is no decision with
    a value or the log cannot tell."""
    decided = next(((r, v) for r, v in run.decisions if v is not None), None)
    if decided is None:
        return None, (True, None, "no decision yet")
    return (decided, None) if run.per_agent else (None, _PER_AGENT)


def _agreement(run: RunLog) -> Verdict:
    decided, verdict = _textbook(run)
    if decided is None:
        return verdict
    rnd, value = decided
    last = _correct_replies(run, rnd).sort("seq").group_by("agent").agg(pl.col("value").last()).sort("agent")
    held = dict(last.iter_rows())
    if len(set(held.values())) <= 1:
        return True, None, f"correct agents decided {value!r} in round {rnd}"
    split = ", ".join(f"{a}={v!r}" for a, v in held.items())
    return False, rnd, f"correct agents disagree at the decision in round {rnd}: {split}"


def _validity(run: RunLog) -> Verdict:
    decided, verdict = _textbook(run)
    if decided is None:
        return verdict
    rnd, value = decided
    first = _correct_replies(run, rnd).sort("seq").group_by("agent").agg(pl.col("value").first())
    by = first.filter(pl.col("value") == value)["agent"].sort().to_list()
    if by:
        return True, None, f"{value!r} was proposed by correct agents {by}"
    return False, rnd, f"the team decided {value!r} in round {rnd}, which no correct agent proposed"


_SAFETY, _LIVENESS = "safety", "liveness"
PROPERTIES: dict[str, Property] = {p.name: p for p in (
    # every protocol
    Property("one_decision", _SAFETY, "the team decides at most once; the outcome is that decision", _one_decision),
    Property("termination", _LIVENESS, "the team decides by round k", _termination),
    # deliberation protocols (protocols.deliberation)
    Property("plurality", _SAFETY, "the decision is an answer held by the most live agents", _plurality),
    Property("weighted_plurality", _SAFETY, "the decision has the largest confidence sum", _weighted_plurality),
    Property("consensus_agreement", _SAFETY, "a reported consensus is held by every live agent",
             _consensus_agreement),
    Property("stops_at_consensus", _SAFETY, "the debate decides in its first round of consensus",
             _stops_at_consensus),
    Property("leader_decides", _SAFETY, "the decision is the answer the leader holds", _leader_decides),
    Property("quorum_certificate", _SAFETY, "at least q live agents hold a decided answer", _quorum_certificate),
    Property("decides_at_quorum", _SAFETY, "the team decides in its first round with a quorum", _decides_at_quorum),
    # the consensus problem's own properties (promised by no deliberation protocol: ask by name)
    Property("agreement", _SAFETY, "every correct agent's last answer is the decision", _agreement),
    Property("validity", _SAFETY, "some correct agent first proposed the decision", _validity),
    # coordination workloads (election, commit, gossip): see metrics.coordination_checks
    *(Property(name, kind, says, check) for name, (kind, says, check) in _COORDINATION.items()),
)}


def declared_properties(spec: TeamSpec | None) -> tuple[str, tuple[str, ...]]:
    """``(protocol, property names)`` a run of ``spec`` promises: its workload's
    (``WorkloadKind.properties``), else its deliberation protocol's (none for work division)."""
    if spec is None:
        return "unknown", ()
    kind = REGISTRY.get(spec.task.kind)
    if kind is not None and kind.properties is not None:
        return kind.properties(spec)
    if spec.task.kind == "work_division":
        return "work_division", ()
    protocol = PROTOCOLS[spec.protocol.kind]
    return protocol.kind, protocol.properties


def _names(properties: Sequence[str] | None) -> tuple[str, ...] | None:
    if properties is None:
        return None
    names = (properties,) if isinstance(properties, str) else tuple(properties)
    unknown = [n for n in names if n not in PROPERTIES]
    if unknown:
        raise ArgumentError("properties", f"must name properties of {sorted(PROPERTIES)}", unknown)
    return names


def check_run(events: pl.DataFrame, k: int | None = None, *,
              properties: Sequence[str] | None = None) -> pl.DataFrame:
    """Check every run in ``events``: by default the properties its protocol declares
    (plus ``termination`` within ``k`` rounds when ``k`` is given); ``properties`` names
    the checks to run instead. One row per run and check (``protocol``, ``check``,
    ``kind``, ``ok``, ``prefix_rounds``, ``detail``); a run whose protocol declares none
    gets one row saying so."""
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise ArgumentError("k", "must be an integer >= 1", k)
    chosen, rows = _names(properties), []
    for run_id in events.select(pl.col("run_id").unique(maintain_order=True))["run_id"].to_list():
        run = RunLog(run_id, events.filter(pl.col("run_id") == run_id), k)
        protocol, declared = declared_properties(run.spec)
        names = chosen if chosen is not None else declared + (("termination",) if k and "termination"
                                                                not in declared else ())
        if not names:
            why = "the run's RunStarted carries no spec" if run.spec is None else f"{protocol} declares none"
            rows.append((run_id, protocol, None, None, None, None, f"no properties to check: {why}; pass "
                                                                    "properties=(...) to choose checks"))
        for name in names:
            prop = PROPERTIES[name]
            rows.append((run_id, protocol, name, prop.kind, *prop.check(run)))
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row").sort("run_id", "check", nulls_last=True)


def check_agreement(events: pl.DataFrame) -> pl.DataFrame:
    """The consensus problem's agreement (every correct agent's last answer is the
    decision) for every run — promised by no deliberation protocol (module doc)."""
    return check_run(events, properties=("agreement",))


def check_validity(events: pl.DataFrame) -> pl.DataFrame:
    """The consensus problem's validity (some correct agent first proposed the
    decision) for every run (module doc)."""
    return check_run(events, properties=("validity",))


def check_termination(events: pl.DataFrame, k: int) -> pl.DataFrame:
    """Did each run decide within ``k`` rounds? (liveness; module doc)"""
    if k is None:
        raise ArgumentError("k", "must be an integer >= 1", k)
    return check_run(events, k, properties=("termination",))


def prefix(events: pl.DataFrame, run_id: str, rounds: int) -> pl.DataFrame:
    """The run's events of rounds ``0 .. rounds`` (what a violation's witness is)."""
    return events.filter((pl.col("run_id") == run_id) & (pl.col("round") <= rounds))
