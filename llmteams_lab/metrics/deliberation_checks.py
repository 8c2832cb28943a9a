"""The deliberation protocols' properties, and the consensus problem's, read from a run's events.

Each check takes one run's :class:`~llmteams_lab.metrics.run_log.RunLog` and returns a
verdict ``(ok, prefix_rounds, detail)``; :data:`CHECKS` names them for the registry in
``metrics.safety`` (``PROPERTIES``), beside those of ``metrics.coordination_checks``. Why
apart from the registry: these checks are the rules of one family of protocols (debate,
majority, weighted, leader, quorum) and of the problem they approach; the registry and
``check_run`` serve every workload.

The properties (what the protocol's rule guarantees whatever its
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

A team *decides* in a round whose ``RoundEnded`` carries a protocol reason
(``run_log.DECISION_REASONS``); its value may be null (a leader that was down).
"""

from __future__ import annotations

import json
from typing import Callable

import polars as pl

from llmteams_lab.metrics.faults import faulty_agents
from llmteams_lab.metrics.run_log import PER_AGENT, RunLog, Verdict
from llmteams_lab.protocols import PROTOCOLS
from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["CHECKS"]


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
        return PER_AGENT
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
        return PER_AGENT
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
    return (decided, None) if run.per_agent else (None, PER_AGENT)


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
# name -> (kind, what it says, check), in the order the registry lists them
CHECKS: dict[str, tuple[str, str, Callable[[RunLog], Verdict]]] = {
    # every protocol
    "one_decision": (_SAFETY, "the team decides at most once; the outcome is that decision", _one_decision),
    "termination": (_LIVENESS, "the team decides by round k", _termination),
    # deliberation protocols (protocols.deliberation)
    "plurality": (_SAFETY, "the decision is an answer held by the most live agents", _plurality),
    "weighted_plurality": (_SAFETY, "the decision has the largest confidence sum", _weighted_plurality),
    "consensus_agreement": (_SAFETY, "a reported consensus is held by every live agent", _consensus_agreement),
    "stops_at_consensus": (_SAFETY, "the debate decides in its first round of consensus", _stops_at_consensus),
    "leader_decides": (_SAFETY, "the decision is the answer the leader holds", _leader_decides),
    "quorum_certificate": (_SAFETY, "at least q live agents hold a decided answer", _quorum_certificate),
    "decides_at_quorum": (_SAFETY, "the team decides in its first round with a quorum", _decides_at_quorum),
    # the consensus problem's own properties (promised by no deliberation protocol: ask by name)
    "agreement": (_SAFETY, "every correct agent's last answer is the decision", _agreement),
    "validity": (_SAFETY, "some correct agent first proposed the decision", _validity),
}
