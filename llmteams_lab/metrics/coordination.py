"""Metrics of the coordination workloads: elections, transactions, gossip — from events alone.

election_summary  per run: terms, elections started, leaders elected, split votes (terms
                  whose election elected nobody), seconds to the first leader, decisions
                  committed, messages and tokens
failovers         per run and leader lost (a crash of the latest leader): seconds until a
                  leader of a later term, and in election timeouts (``timeouts``)
commit_outcomes   per run: protocol, outcome, whether the output is right, seconds to the
                  decision and to the end, no votes, blocked participants and their longest
                  wait, compensations, backups that took over, late completions, tokens,
                  messages and dollars; the parts in the output (``parts_out`` of
                  ``steps``), the participants' work left in effect by a transaction that
                  did not succeed (``left_in_effect``), and ``half_done``: some of the
                  output stands but not all of it (a partial publication, or work an abort
                  left undone) — what atomic commit and sagas exist to prevent
gossip_spread     per run and round: agents newly informed, informed so far, messages sent
gossip_summary    per run: agents, rounds (synchronous) or seconds (asynchronous) until
                  every agent was informed, messages sent before the last agent read the
                  value (``messages_to_all``) and in all

Rounds to reach everyone (synchronous gossip): an agent informed in round r read a message
sent in round r − 1, and the sources hold the value in round 1, so the gossip rounds it
took are the round of the last ``Informed`` minus 1 — the quantity of the classic result
(push on a complete graph: log2 n + ln n + O(1), Pittel 1987).
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from llmteams_lab.metrics.frame import count_of as _count
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["commit_outcomes", "election_summary", "failovers", "gossip_spread", "gossip_summary"]


def _spec(events: pl.DataFrame) -> TeamSpec | None:
    start = events.filter(pl.col("kind") == "RunStarted")["detail"]
    try:
        return TeamSpec.from_json(start[0]) if start.len() and start[0] else None
    except ValueError:
        return None


def _per_run(events: pl.DataFrame):
    for run_id in events.select(pl.col("run_id").unique(maintain_order=True))["run_id"].to_list():
        yield run_id, events.filter(pl.col("run_id") == run_id)


def _tokens() -> pl.Expr:
    return (pl.col("tokens_in") + pl.col("tokens_out")).filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed")))


def election_summary(events: pl.DataFrame) -> pl.DataFrame:
    """One row per run of an election team (see the module docstring)."""
    rows = []
    for run_id, ev in _per_run(events):
        started = set(ev.filter(pl.col("kind") == "ElectionStarted")["value"].to_list())
        elected = ev.filter(pl.col("kind") == "LeaderElected").sort("seq")
        won = set(elected["value"].to_list())
        committed = ev.filter(pl.col("kind") == "EntryCommitted")
        rows.append({
            "run_id": run_id, "terms": max((int(t) for t in started | won), default=0),
            "elections": ev.filter(pl.col("kind") == "ElectionStarted").height, "leaders": elected.height,
            "split_votes": len(started - won),
            "first_leader_s": float(elected["t_end"][0]) if elected.height else None,
            "decisions": committed.filter(pl.col("value") != "no-op")["value"].len(),
            "messages": int(ev.filter(pl.col("kind") == "MessageSent")["count"].sum()),
            "tokens": int(ev.select(_tokens().sum()).item() or 0),
        })
    return pl.DataFrame(rows, schema={"run_id": pl.String, "terms": pl.Int64, "elections": pl.Int64,
                                      "leaders": pl.Int64, "split_votes": pl.Int64, "first_leader_s": pl.Float64,
                                      "decisions": pl.Int64, "messages": pl.Int64, "tokens": pl.Int64})


def failovers(events: pl.DataFrame) -> pl.DataFrame:
    """One row per run and crash of a leader: who was lost, when, who led next, how long
    it took in seconds and in election timeouts (null when no later leader came)."""
    rows = []
    for run_id, ev in _per_run(events):
        spec = _spec(ev)
        timeout = spec.task.election.election_timeout_s if spec is not None and spec.task.election else None
        elected = ev.filter(pl.col("kind") == "LeaderElected").sort("seq").select("t_end", "value", "agent").rows()
        downs = ev.filter((pl.col("kind") == "FaultApplied") & (pl.col("value") == "start")
                          & pl.col("fault").is_in(DOWN_KINDS)).sort("seq").select("t_end", "agent").rows()
        for t, term, leader in elected:
            crash = next((tc for tc, who in downs if who == leader and tc >= t), None)
            if crash is None:
                continue
            nxt = next(((tn, a) for tn, tm, a in elected if int(tm) > int(term) and tn >= crash), None)
            took = nxt[0] - crash if nxt else None
            rows.append({"run_id": run_id, "lost": leader, "term": int(term), "lost_s": crash,
                         "next": nxt[1] if nxt else None, "seconds": took,
                         "timeouts": took / timeout if took is not None and timeout else None})
    return pl.DataFrame(rows, schema={"run_id": pl.String, "lost": pl.String, "term": pl.Int64, "lost_s": pl.Float64,
                                      "next": pl.String, "seconds": pl.Float64, "timeouts": pl.Float64})


_DONE = ("StepCompleted", "PartCommitted")  # a participant's work is in effect
_UNDONE = ("Compensated", "PartAborted", "PartReleased", "StepFailed")  # ... or not (any more)


def _output_state(ev: pl.DataFrame, steps: int | None, outcome: str | None) -> dict[str, Any]:
    """``parts_out``, ``left_in_effect`` and ``half_done`` of one run (module docstring)."""
    ended = ev.filter(pl.col("kind") == "TransactionEnded")
    parts = json.loads(ended["detail"][0] or "{}").get("parts", []) if ended.height else []
    out = sum(p is not None for p in parts) if outcome in ("committed", "published", "partial") else 0
    last = ev.filter(pl.col("kind").is_in(_DONE + _UNDONE)).sort("seq").group_by("agent").agg(
        pl.col("kind").last())
    standing = last.filter(pl.col("kind").is_in(_DONE)).height
    left = standing if outcome not in ("committed", "published", "partial") else 0
    return {"steps": steps, "parts_out": out, "left_in_effect": left,
            "half_done": (outcome == "partial" and out > 0) or left > 0}


def commit_outcomes(events: pl.DataFrame) -> pl.DataFrame:
    """One row per run of a commit team (see the module docstring)."""
    rows = []
    for run_id, ev in _per_run(events):
        spec = _spec(ev)
        ended = ev.filter(pl.col("kind") == "TransactionEnded")
        outcome = ended["value"][0] if ended.height else None
        steps = len(spec.task.commit.steps) if spec is not None and spec.task.commit else None
        decided = ev.filter(pl.col("kind") == "Decided")
        blocked = ev.filter(pl.col("kind").is_in(("PartCommitted", "PartAborted")))
        infos = [json.loads(d or "{}") for d in blocked["detail"].to_list()]
        waits = [i["waited_s"] for i in infos if i.get("blocked") and i.get("waited_s") is not None]
        rows.append({
            "run_id": run_id, "protocol": spec.task.commit.protocol if spec is not None and spec.task.commit else None,
            "outcome": outcome,
            "correct": ended["correct"][0] if ended.height else None,
            "decided_s": float(decided["t_end"][0]) if decided.height else None,
            "end_s": float(ev["t_end"].max() or 0.0),
            "no_votes": ev.filter((pl.col("kind") == "Voted") & (pl.col("value") == "no")).height
            + ev.filter(pl.col("kind") == "StepFailed").height,
            "blocked": ev.filter(pl.col("kind") == "Blocked")["agent"].n_unique(),
            "longest_block_s": max(waits, default=None),
            "compensations": ev.filter(pl.col("kind") == "Compensated").height,
            "backups": ev.filter(pl.col("kind") == "BackupTookOver").height,
            "late": ev.filter(pl.col("kind") == "LateCompletion").height,
            "tokens": int(ev.select(_tokens().sum()).item() or 0),
            "messages": int(ev.filter(pl.col("kind") == "MessageSent")["count"].sum()),
            "cost_usd": ev.filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed")))["cost_usd"].sum(),
            **_output_state(ev, steps, outcome),
        })
    return pl.DataFrame(rows, schema={
        "run_id": pl.String, "protocol": pl.String, "outcome": pl.String, "correct": pl.Boolean,
        "decided_s": pl.Float64, "end_s": pl.Float64, "no_votes": pl.Int64, "blocked": pl.Int64,
        "longest_block_s": pl.Float64, "compensations": pl.Int64, "backups": pl.Int64, "late": pl.Int64,
        "tokens": pl.Int64, "messages": pl.Int64, "cost_usd": pl.Float64, "steps": pl.Int64, "parts_out": pl.Int64,
        "left_in_effect": pl.Int64, "half_done": pl.Boolean})


def gossip_spread(events: pl.DataFrame) -> pl.DataFrame:
    """Per run and round: newly informed agents, informed so far, messages sent."""
    rounds = events.filter(pl.col("kind") == "RoundEnded").select("run_id", "round")
    per = events.filter(pl.col("round") > 0).group_by("run_id", "round").agg(
        informed_new=_count("Informed"), messages=_count("MessageSent"))
    out = rounds.join(per, on=["run_id", "round"], how="left").fill_null(0).sort("run_id", "round")
    return out.with_columns(informed=pl.col("informed_new").cum_sum().over("run_id"))


def gossip_summary(events: pl.DataFrame) -> pl.DataFrame:
    """One row per gossip run (see the module docstring); ``rounds_to_all`` and
    ``seconds_to_all`` are null when some agent was never informed."""
    rows = []
    for run_id, ev in _per_run(events):
        spec = _spec(ev)
        n = len(spec.agents) if spec is not None else None
        informed = ev.filter(pl.col("kind") == "Informed").sort("seq")
        everyone = n is not None and informed.height >= n
        last_round = int(informed["round"].max()) if everyone else None
        last_read = float(informed["t_start"].max()) if everyone else None  # the last agent's turn began
        sent = ev.filter(pl.col("kind") == "MessageSent")
        rows.append({
            "run_id": run_id, "agents": n, "mode": spec.task.gossip.mode if spec and spec.task.gossip else None,
            "fanout": spec.task.gossip.fanout if spec and spec.task.gossip else None,
            "informed": informed.height, "rounds_to_all": last_round - 1 if last_round is not None else None,
            "seconds_to_all": float(informed["t_end"].max()) if everyone else None,
            "messages_to_all": int(sent.filter(pl.col("t_start") < last_read)["count"].sum())
            if last_read is not None else None,
            "messages": int(sent["count"].sum()),
        })
    return pl.DataFrame(rows, schema={"run_id": pl.String, "agents": pl.Int64, "mode": pl.String, "fanout": pl.Int64,
                                      "informed": pl.Int64, "rounds_to_all": pl.Int64, "seconds_to_all": pl.Float64,
                                      "messages_to_all": pl.Int64, "messages": pl.Int64})
