"""Safety and liveness checks of the coordination workloads, read from a run's events.

Each check takes one run's :class:`~llmteams_lab.metrics.run_log.RunLog` and returns a
verdict ``(ok, prefix_rounds, detail)`` — registered by name in ``metrics.safety``'s
``PROPERTIES``, declared per workload (``WorkloadKind.properties``). The checks read only
the workloads' own events, so they judge any run, live or replayed, whatever its agents
said: the rules are what is checked, not the agents.

Leader election (Raft)
  election_safety        at most one leader per term (``LeaderElected`` per term)
  leader_completeness    a leader elected in term T holds, in its log, every entry committed
                         in an earlier term (``EntryCommitted``'s ``leader_term`` < T)
  committed_unchanged    every commit of a log index (and every decision on a question)
                         carries the same value: a committed decision never changes
  leader_within_timeouts (liveness) a leader is elected within k election timeouts
                         (``k``, default 10) of the start and of each crash of the latest
                         leader, while a majority of the team is up
  tasks_done_once        (``duty="assign"``) every task is done exactly once, by a committed
                         assignment: each committed completion names the task's latest
                         committed assignee, no task has two, every ``TaskCompleted`` is
                         one of them (once per task), a worker starts a task
                         (``TaskClaimed``) only after its assignment committed, and a run
                         ending ``all_tasks_done`` completed every task of the DAG
Atomic commit
  one_outcome            at most one ``Decided`` and one ``TransactionEnded``
  atomicity              never a part committed and another aborted; a part is committed
                         only after the coordinator decided to commit
  commit_needs_every_yes a commit follows a yes vote on every step (N-version: a majority
                         of the step's replicas, with the same part)
  saga_compensation      in an aborted saga every completed step is compensated, and the
                         steps the coordinator completed are compensated in reverse order
Gossip
  informed_once          no agent is informed twice
  told_by_informed       whoever informs an agent was informed before, of the same value;
                         only sources inform themselves
  reaches_everyone       a run that ended ``all_informed`` informed every agent that is up
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import polars as pl

from llmteams_lab.spec.faults import DOWN_KINDS

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.metrics.run_log import RunLog

__all__ = ["CHECKS"]

Verdict = tuple["bool | None", "int | None", str]


def _rows(run: "RunLog", *kinds: str) -> list[dict[str, Any]]:
    """The run's events of ``kinds`` in log order, details parsed."""
    frame = run.events.filter(pl.col("kind").is_in(kinds)).sort("seq")
    out = []
    for row in frame.iter_rows(named=True):
        try:
            row["info"] = json.loads(row["detail"]) if row["detail"] else {}
        except ValueError:
            row["info"] = {}
        out.append(row)
    return out


# --- leader election ---------------------------------------------------------------------
def _election_safety(run: "RunLog") -> Verdict:
    leaders: dict[str, str] = {}
    for e in _rows(run, "LeaderElected"):
        term, agent = e["value"], e["agent"]
        if leaders.setdefault(term, agent) != agent:
            return False, e["round"], f"two leaders in term {term}: {leaders[term]} and {agent}"
    return True, None, f"{len(leaders)} term(s), one leader each"


def _leader_completeness(run: "RunLog") -> Verdict:
    commits = [e for e in _rows(run, "EntryCommitted")]
    checked = 0
    for lead in _rows(run, "LeaderElected"):
        term, log = int(lead["value"]), lead["info"].get("log", [])
        for c in commits:
            info = c["info"]
            if info.get("leader_term", term) >= term:
                continue
            checked += 1
            i = info["index"] - 1
            value = c["value"] if info["question"] != -1 else ""  # a no-op's value is logged as "no-op"
            if i >= len(log) or log[i][0] != info["term"] or log[i][2] != value:
                return False, max(lead["round"], c["round"]), (
                    f"{lead['agent']} leads term {term} without entry {i + 1} ({c['value']!r}) committed in term "
                    f"{info.get('leader_term')}")
    return True, None, f"every leader held every earlier commit ({checked} pair(s) checked)"


def _committed_unchanged(run: "RunLog") -> Verdict:
    by_index: dict[int, str] = {}
    by_question: dict[int, str] = {}
    for c in _rows(run, "EntryCommitted"):
        info, value = c["info"], c["value"]
        for seen, key in ((by_index, info["index"]), (by_question, info["question"])):
            if key < 0 and seen is by_question:  # a no-op or a work entry: no question
                continue
            if seen.setdefault(key, value) != value:
                return False, c["round"], f"{key} was committed as {seen[key]!r} and later as {value!r}"
    work = len(by_index) - len(by_question)  # entries without a question: no-ops and work entries
    said = f"{len(by_question)} decision(s)" + (f" and {work} other log entr{'y' if work == 1 else 'ies'}" if work else "")
    return True, None, f"{said} committed, none changed"


def _leader_within_timeouts(run: "RunLog") -> Verdict:
    spec = run.spec
    if spec is None or spec.task.election is None:
        return None, None, "needs the run's spec (RunStarted) for the election timeout"
    k = run.k or 10
    limit = k * spec.task.election.election_timeout_s
    n = len(spec.agents)
    elected = [(e["t_end"], int(e["value"]), e["agent"], e["round"]) for e in _rows(run, "LeaderElected")]
    down = _down_times(run)
    losses = [(0.0, 0, None)]
    for t, term, agent, _ in elected:
        crash = next((tc for tc, who in down if who == agent and tc >= t), None)
        if crash is not None:
            losses.append((crash, term, agent))
    end = run.events["t_end"].max() or 0.0
    for t_lost, term, agent in losses:
        if sum(1 for tc, _ in down if tc <= t_lost) > n - (n // 2 + 1):
            continue  # no majority up: no leader is possible
        nxt = next((t for t, tm, _, _ in elected if tm > term and t >= t_lost), None)
        what = "the start" if agent is None else f"{agent}'s crash"
        if nxt is None and end - t_lost >= limit:
            return False, _round_at(run, t_lost + limit), f"no new leader within {k} timeouts ({limit:g} s) of {what}"
        if nxt is not None and nxt - t_lost > limit:
            return False, _round_at(run, t_lost + limit), f"a new leader came {nxt - t_lost:.3g} s after {what} " \
                                                          f"(> {k} timeouts, {limit:g} s)"
    return True, None, f"a leader within {k} timeouts after each of {len(losses)} loss(es)"


def _tasks_done_once(run: "RunLog") -> Verdict:
    log: dict[int, tuple[str, str, str]] = {}  # committed index -> (op, task, agent)
    completed: dict[str, str] = {}
    for e in _rows(run, "EntryCommitted", "TaskClaimed", "TaskCompleted"):
        info = e["info"]
        if e["kind"] == "EntryCommitted" and info.get("op") in ("assign", "done"):
            log.setdefault(info["index"], (info["op"], info["task"], info["agent"]))
            continue
        if e["kind"] == "TaskClaimed" and ("assign", e["value"], e["agent"]) not in log.values():
            return False, e["round"], f"{e['agent']} started {e['value']!r} without a committed assignment"
        if e["kind"] == "TaskCompleted":
            if e["value"] in completed:
                return False, e["round"], f"{e['value']!r} was completed twice ({completed[e['value']]}, {e['agent']})"
            completed[e["value"]] = e["agent"]
            if ("done", e["value"], e["agent"]) not in log.values():
                return False, e["round"], f"{e['agent']} completed {e['value']!r} without a committed completion"
    assignee: dict[str, str] = {}
    done: dict[str, str] = {}
    for index in sorted(log):
        op, task, agent = log[index]
        if op == "assign":
            assignee[task] = agent
        elif task in done:
            return False, run.last_round, f"{task!r} has two committed completions ({done[task]}, {agent})"
        elif assignee.get(task) != agent:
            return False, run.last_round, f"{task!r} completed by {agent}, not its assignee {assignee.get(task)}"
        else:
            done[task] = agent
    ends = run.events.filter(pl.col("kind") == "RunEnded")
    dag = run.spec.task.work.dag if run.spec is not None and run.spec.task.work is not None else ()
    if not ends.is_empty() and ends["detail"][-1] == "all_tasks_done":
        missing = [t.id for t in dag if t.id not in completed]
        if missing:
            return False, run.last_round, f"ended all_tasks_done with {missing[:5]} not completed"
    return True, None, f"{len(completed)} task(s) done once each by a committed assignment"


def _down_times(run: "RunLog") -> list[tuple[float, str]]:
    """(time, agent) of each agent going down (a crash, or a crash-recover window opening)."""
    rows = run.events.filter((pl.col("kind") == "FaultApplied") & (pl.col("value") == "start")
                             & pl.col("fault").is_in(DOWN_KINDS)).sort("seq")
    return [(t, a) for t, a in rows.select("t_end", "agent").iter_rows() if a is not None]


def _round_at(run: "RunLog", t: float) -> int:
    ends = run.events.filter((pl.col("kind") == "RoundEnded") & (pl.col("t_end") >= t))["round"]
    return int(ends.min()) if ends.len() else run.last_round


# --- atomic commit -------------------------------------------------------------------------
def _one_outcome(run: "RunLog") -> Verdict:
    for kind in ("Decided", "TransactionEnded"):
        rows = _rows(run, kind)
        if len(rows) > 1:
            return False, rows[1]["round"], f"{kind} twice: {rows[0]['value']!r}, then {rows[1]['value']!r}"
    ended = _rows(run, "TransactionEnded")
    return True, None, f"outcome {ended[0]['value']!r}" if ended else "no outcome yet"


def _atomicity(run: "RunLog") -> Verdict:
    decided = _rows(run, "Decided")
    commit_seq = next((d["seq"] for d in decided if d["value"] == "commit"), None)
    committed, aborted = _rows(run, "PartCommitted"), _rows(run, "PartAborted")
    if committed and aborted:
        late = max(committed[0], aborted[0], key=lambda e: e["seq"])
        return False, late["round"], (f"{committed[0]['agent']} committed {committed[0]['value']!r} and "
                                      f"{aborted[0]['agent']} aborted {aborted[0]['value']!r}")
    for c in committed:
        if commit_seq is None or c["seq"] < commit_seq:
            return False, c["round"], f"{c['agent']} committed {c['value']!r} before any decision to commit"
    return True, None, f"{len(committed)} part(s) committed, {len(aborted)} aborted: all or nothing"


def _commit_needs_every_yes(run: "RunLog") -> Verdict:
    decided = next((d for d in _rows(run, "Decided") if d["value"] == "commit"), None)
    if decided is None:
        return True, None, "no commit"
    spec = run.spec
    if spec is None or spec.task.commit is None:
        return None, None, "needs the run's spec (RunStarted) for the steps"
    replicas = spec.task.commit.replicas
    yes: dict[str, list[str]] = {}
    for v in _rows(run, "Voted"):
        if v["value"] == "yes" and v["seq"] < decided["seq"]:
            yes.setdefault(v["info"].get("step"), []).append(v["info"].get("part"))
    for step in spec.task.commit.steps:
        parts = yes.get(step.name, [])
        top = max((parts.count(p) for p in set(parts)), default=0)
        if top < (replicas // 2 + 1 if replicas > 1 else 1):
            return False, decided["round"], f"committed without a yes on step {step.name!r} ({len(parts)} yes)"
    return True, None, "every step had its yes votes before the commit"


def _saga_compensation(run: "RunLog") -> Verdict:
    ended = _rows(run, "TransactionEnded")
    if not ended or ended[0]["value"] != "aborted":
        return True, None, "the saga did not abort" if ended else "the saga has not ended"
    done = _rows(run, "StepCompleted")
    undone = {(c["agent"], c["value"]) for c in _rows(run, "Compensated")}
    missing = [(d["agent"], d["value"]) for d in done if (d["agent"], d["value"]) not in undone]
    if missing:
        return False, ended[0]["round"], f"aborted with completed step(s) not compensated: {missing}"
    chain = ended[0]["info"].get("compensated", [])
    first_undo: dict[str, int] = {}
    for c in _rows(run, "Compensated"):
        first_undo.setdefault(c["value"], c["seq"])
    order = sorted((s for s in chain if s in first_undo), key=first_undo.get)
    if order != [s for s in chain if s in first_undo]:
        return False, ended[0]["round"], f"compensated in the order {order}, not the reverse order {chain}"
    return True, None, f"{len(done)} completed step(s) compensated, in reverse order {chain}"


# --- gossip ----------------------------------------------------------------------------------
def _informed_once(run: "RunLog") -> Verdict:
    seen: set[str] = set()
    for e in _rows(run, "Informed"):
        if e["agent"] in seen:
            return False, e["round"], f"{e['agent']} was informed twice"
        seen.add(e["agent"])
    return True, None, f"{len(seen)} agent(s) informed once each"


def _told_by_informed(run: "RunLog") -> Verdict:
    held: dict[str, str] = {}
    sources = run.spec.task.gossip.sources if run.spec is not None and run.spec.task.gossip else None
    ids = run.spec.ids if run.spec is not None else ()
    for e in _rows(run, "Informed"):
        peer = e["peer"]
        if peer is None:
            if sources is not None and e["agent"] not in ids[:sources]:
                return False, e["round"], f"{e['agent']} informed itself but is not a source"
        elif held.get(peer) != e["value"]:
            return False, e["round"], f"{peer} told {e['agent']} {e['value']!r} holding {held.get(peer)!r}"
        held[e["agent"]] = e["value"]
    return True, None, "every agent was told by an agent holding the value"


def _reaches_everyone(run: "RunLog") -> Verdict:
    ends = run.events.filter(pl.col("kind") == "RunEnded")
    if ends.is_empty() or ends["detail"][-1] != "all_informed":
        return True, None, "the run did not end all_informed"
    informed = {e["agent"] for e in _rows(run, "Informed")}
    down = {a for _, a in _down_times(run)}
    ids = run.spec.ids if run.spec is not None else ()
    missing = [a for a in ids if a not in informed and a not in down]
    if missing:
        return False, run.last_round, f"ended all_informed with {missing[:5]} uninformed"
    return True, None, f"{len(informed)} agent(s) informed"


CHECKS: dict[str, tuple[str, str, Any]] = {
    "election_safety": ("safety", "at most one leader per term", _election_safety),
    "leader_completeness": ("safety", "every leader holds every entry committed in an earlier term",
                            _leader_completeness),
    "committed_unchanged": ("safety", "a committed decision never changes", _committed_unchanged),
    "leader_within_timeouts": ("liveness", "a leader within k election timeouts of losing one (majority up)",
                               _leader_within_timeouts),
    "tasks_done_once": ("safety", "every task is done exactly once, by a committed assignment", _tasks_done_once),
    "one_outcome": ("safety", "a transaction is decided and ends once", _one_outcome),
    "atomicity": ("safety", "never some parts committed and others aborted", _atomicity),
    "commit_needs_every_yes": ("safety", "a commit follows a yes on every step", _commit_needs_every_yes),
    "saga_compensation": ("safety", "an aborted saga's completed steps are compensated, in reverse order",
                          _saga_compensation),
    "informed_once": ("safety", "no agent is informed twice", _informed_once),
    "told_by_informed": ("safety", "only an informed agent informs, and only sources inform themselves",
                         _told_by_informed),
    "reaches_everyone": ("liveness", "a run ending all_informed informed every agent that is up",
                         _reaches_everyone),
}
"""name -> (kind, what it says, check): registered in ``metrics.safety.PROPERTIES``."""
