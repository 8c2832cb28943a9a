"""Raft's rules for one node, as pure functions over its state (no engine, no log).

Leader election and log replication after Ongaro and Ousterhout, "In Search of an
Understandable Consensus Algorithm" (2014), reduced to what a team deciding a few
answers needs — and nothing it needs left out:

* **terms**: any message carrying a higher term makes a node a follower of that term
  (a leader or candidate *steps down*, and its election timer starts afresh — a leader's
  was not running);
* **votes**: a node grants at most one vote per term (``voted_for`` is durable) and only
  to a candidate whose log is at least as up to date as its own (higher last term, or
  the same last term and at least as long) — the election restriction behind *leader
  completeness*; a candidate with votes from a majority of the whole team leads;
* **replication**: the leader sends its whole log and commit index (a log holds a few
  decisions, so the whole log is one short message and one multicast serves every
  follower — per-follower ``nextIndex`` bookkeeping would buy nothing). A follower keeps
  its log where it agrees with the leader's and replaces it from the first conflicting
  entry, so a delayed, shorter copy from the same leader truncates nothing; it acks how
  many entries match;
* **commit**: the leader commits index N once a majority, itself included, has acked N
  entries *and* entry N is of its own term (Raft §5.4.2: entries of earlier terms are
  committed only indirectly). A new leader whose log holds entries it cannot know to be
  committed appends a no-op of its term first, so they commit with it.

A log entry is ``(term, k, value)``: the team's decision on question k (``k = -1``: a
no-op; ``k = -2``: a work-division entry — an assignment or a completion, whose value
``workloads.election.assignment`` writes and reads). The decision on question k is
the first entry for k in the committed prefix; a leader proposes question k only when
every entry of its log is committed and none is for k. The *choices* — stand for
election, which legal candidate to vote for, what to propose — are the agent's
(``act``'s arguments); everything else is mechanical.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["CANDIDATE", "Entry", "FOLLOWER", "LEADER", "NOOP", "Node", "Outcome", "Reading", "WORK", "act",
           "commit_reach", "decisions", "read", "reconcile"]

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
NOOP = -1
WORK = -2
Entry = tuple[int, int, str]  # (term, question k or NOOP, value)


@dataclass
class Node:
    """One agent's Raft state. ``deadline``: when its election timer runs out;
    ``heartbeat_due``: (leader) when it next sends its log with nothing new."""

    term: int = 0
    voted_for: int | None = None
    role: str = FOLLOWER
    leader: int | None = None
    log: list[Entry] = field(default_factory=list)
    commit: int = 0
    votes: set[int] = field(default_factory=set)
    match: dict[int, int] = field(default_factory=dict)
    deadline: float = 0.0
    heartbeat_due: float = 0.0

    def copy(self) -> "Node":
        return copy.deepcopy(self)

    @property
    def last(self) -> tuple[int, int]:
        """(last term, length) — what "up to date" compares."""
        return (self.log[-1][0] if self.log else 0), len(self.log)


@dataclass
class Reading:
    """A node after reading its mailbox (a copy), and what its turn must answer.

    candidates  candidates it may grant its vote to this term (the rules allow it)
    refused     vote requests the rules refuse: (candidate, reason)
    acks        per leader it heard from, the ack to send back
    stepped     (new term, reason) when it stepped down from leader or candidate
    reset       its election timer must be reset (it heard its term's leader, or stepped down)
    expired     its election timer ran out (a follower or candidate)
    """

    node: Node
    candidates: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    acks: dict[int, dict[str, Any]] = field(default_factory=dict)
    stepped: list[tuple[int, str]] = field(default_factory=list)
    reset: bool = False
    expired: bool = False
    names: Sequence[str] = ()

    def name(self, i: int | None) -> str:
        return self.names[i] if i is not None and 0 <= i < len(self.names) else str(i)


@dataclass
class Outcome:
    """A node after its turn: its state, what it sends and what happened.

    records   message records, each with ``to`` (agent indices, turned into ids by the caller)
    happened  (kind, peer index or None, value, detail dict) in the order they happened
    refused   (choice, reason) of choices the rules refused
    """

    node: Node
    records: list[dict[str, Any]] = field(default_factory=list)
    happened: list[tuple[str, int | None, str, dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    reset: bool = False


def read(node: Node, me: int, messages: list[tuple[int, dict[str, Any]]], now: float,
         names: Sequence[str] = ()) -> Reading:
    """Apply the records in ``messages`` ((sender, record), arrival order) to a copy of
    ``node`` at time ``now`` (see the module docstring). ``names``: agent names for the
    reasons it gives (indices otherwise)."""
    out = Reading(node.copy(), names=names)
    for sender, record in messages:
        term = record.get("term")
        if not isinstance(term, int) or isinstance(term, bool) or sender == me:
            continue
        _see_term(out, term, f"saw term {term} from {out.name(sender)}")
        kind = record["type"]
        if kind == "request_vote":
            _vote_request(out, sender, term, record)
        elif kind == "vote":
            n = out.node
            if term == n.term and n.role == CANDIDATE and record.get("granted") is True:
                n.votes.add(sender)
        elif kind == "append":
            _append(out, sender, term, record)
        elif kind == "ack":
            n = out.node
            match = record.get("match")
            if n.role == LEADER and term == n.term and record.get("ok") is True and isinstance(match, int):
                n.match[sender] = max(n.match.get(sender, 0), min(match, len(n.log)))
    n = out.node
    out.expired = n.role != LEADER and not out.reset and now >= n.deadline
    return out


def _see_term(out: Reading, term: int, reason: str) -> None:
    n = out.node
    if term <= n.term:
        return
    if n.role != FOLLOWER:  # a leader's timer was not running: stepping down starts it afresh
        out.stepped.append((term, reason))
        out.reset = True
    n.term, n.voted_for, n.leader, n.role = term, None, None, FOLLOWER
    n.votes, n.match = set(), {}


def _vote_request(out: Reading, sender: int, term: int, record: dict[str, Any]) -> None:
    n = out.node
    theirs = (record.get("last_term", 0), record.get("last_index", 0))
    if term < n.term:
        out.refused.append((sender, f"its term {term} is behind mine ({n.term})"))
    elif n.voted_for not in (None, sender):
        out.refused.append((sender, f"already voted for {out.name(n.voted_for)} in term {term}"))
    elif not (isinstance(theirs[0], int) and isinstance(theirs[1], int)) or theirs < n.last:
        out.refused.append((sender, f"its log {list(theirs)} is behind mine {list(n.last)}"))
    elif sender not in out.candidates:
        out.candidates.append(sender)


def _append(out: Reading, sender: int, term: int, record: dict[str, Any]) -> None:
    n = out.node
    if term < n.term:
        out.acks[sender] = {"type": "ack", "term": n.term, "ok": False, "match": 0}
        return
    if n.role == LEADER:  # two leaders of one term cannot happen (election safety): ignore it
        return
    if n.role == CANDIDATE:
        out.stepped.append((term, f"{out.name(sender)} leads term {term}"))
        n.role, n.votes = FOLLOWER, set()
    theirs = _entries(record.get("log"))
    if theirs is None:
        return
    n.leader, out.reset = sender, True
    n.log = reconcile(n.log, theirs)
    commit = record.get("commit")
    if isinstance(commit, int):
        n.commit = max(n.commit, min(commit, len(theirs)))
    out.acks[sender] = {"type": "ack", "term": term, "ok": True, "match": len(theirs)}


def _entries(raw: Any) -> list[Entry] | None:
    if not isinstance(raw, list):
        return None
    out = []
    for e in raw:
        if not (isinstance(e, list) and len(e) == 3 and all(isinstance(x, int) for x in e[:2])
                and isinstance(e[2], str)):
            return None
        out.append((e[0], e[1], e[2]))
    return out


def reconcile(mine: list[Entry], theirs: list[Entry]) -> list[Entry]:
    """My log after the leader's: kept up to the first entry whose term differs, the
    leader's from there on; a longer log that agrees everywhere is kept whole."""
    for i, entry in enumerate(theirs):
        if i >= len(mine) or mine[i][0] != entry[0]:
            return list(mine[:i]) + list(theirs[i:])
    return list(mine)


def act(reading: Reading, me: int, n: int, *, vote: int | None, stand: bool, propose: str | None,
        next_question: int | None, now: float, entries: Sequence[tuple[int, str]] = ()) -> Outcome:
    """The node's turn with the agent's choices (see the module docstring).
    ``next_question``: the question a leader would propose on (``None``: none left);
    ``entries``: ``(k, value)`` a leader appends in its term after any proposal (the
    work-division entries, which need not wait for the log to be committed)."""
    node = reading.node.copy()
    out = Outcome(node, reset=reading.reset)
    for term, reason in reading.stepped:
        out.happened.append(("SteppedDown", None, str(term), {"reason": reason}))
    granted = _answer_votes(reading, out, vote)
    for leader, ack in sorted(reading.acks.items()):
        out.records.append({**ack, "to": [leader]})
    send = False
    if reading.expired and not granted:
        send = _election(reading, out, me, n, stand)
    elif stand:
        out.refused.append(("stand", "it just granted its vote (its timer restarted)" if granted
                            else "its election timer has not run out"))
    if node.role == CANDIDATE and len(node.votes) > n // 2:
        send = _lead(out, me, n)
    send = _propose(out, me, propose, next_question) or send
    send = _append_entries(out, me, entries) or send
    send = _advance_commit(out, me, n) or send
    if node.role == LEADER and (send or now >= node.heartbeat_due):
        out.records.append({"type": "append", "term": node.term, "log": [list(e) for e in node.log],
                            "commit": node.commit, "to": [j for j in range(n) if j != me]})
    return out


def _answer_votes(reading: Reading, out: Outcome, vote: int | None) -> bool:
    """Grant ``vote`` if the rules allow it, refuse every other request; whether it granted."""
    node = out.node
    if vote is not None and vote not in reading.candidates:
        out.refused.append(("vote", f"{reading.name(vote)} is not a candidate it may vote for this term"))
        vote = None
    for cand in reading.candidates:
        if cand == vote:
            node.voted_for = vote
            out.reset = True
            out.happened.append(("VoteGranted", cand, str(node.term), {}))
            out.records.append({"type": "vote", "term": node.term, "granted": True, "to": [cand]})
        else:
            why = f"voted for {reading.name(vote)}" if vote is not None else "declined"
            out.happened.append(("VoteRefused", cand, str(node.term), {"reason": why}))
            out.records.append({"type": "vote", "term": node.term, "granted": False, "to": [cand]})
    for cand, reason in reading.refused:
        out.happened.append(("VoteRefused", cand, str(node.term), {"reason": reason}))
        out.records.append({"type": "vote", "term": node.term, "granted": False, "to": [cand]})
    return vote is not None


def _election(reading: Reading, out: Outcome, me: int, n: int, stand: bool) -> bool:
    node = out.node
    if node.role == FOLLOWER:
        out.happened.append(("HeartbeatMissed", node.leader, str(node.term), {"stood": stand}))
    out.reset = True
    if not stand:
        node.role, node.votes = FOLLOWER, set()
        return False
    node.term += 1
    node.role, node.voted_for, node.votes, node.leader = CANDIDATE, me, {me}, None
    last_term, last_index = node.last
    out.happened.append(("ElectionStarted", None, str(node.term), {"last_term": last_term, "last_index": last_index}))
    out.records.append({"type": "request_vote", "term": node.term, "last_term": last_term,
                        "last_index": last_index, "to": [j for j in range(n) if j != me]})
    return False


def _lead(out: Outcome, me: int, n: int) -> bool:
    node = out.node
    node.role, node.leader = LEADER, me
    node.match = {me: len(node.log)}
    out.happened.append(("LeaderElected", None, str(node.term), {"votes": sorted(node.votes),
                                                                  "log": [list(e) for e in node.log]}))
    if node.commit < len(node.log):  # entries it cannot know committed: a no-op of its term commits them
        node.log.append((node.term, NOOP, ""))
        node.match[me] = len(node.log)
    return True


def _propose(out: Outcome, me: int, propose: str | None, k: int | None) -> bool:
    node = out.node
    if propose is None:
        return False
    if node.role != LEADER:
        out.refused.append(("propose", "only the leader proposes"))
        return False
    if k is None or node.commit < len(node.log):
        out.refused.append(("propose", "nothing to propose until its log is committed" if k is not None
                            else "every question has a decision"))
        return False
    node.log.append((node.term, k, propose))
    node.match[me] = len(node.log)
    out.happened.append(("EntryProposed", None, propose, {"index": len(node.log), "term": node.term,
                                                          "question": k}))
    return True


def _append_entries(out: Outcome, me: int, entries: Sequence[tuple[int, str]]) -> bool:
    node = out.node
    if not entries or node.role != LEADER:
        return False
    for k, value in entries:
        node.log.append((node.term, k, value))
        out.happened.append(("EntryProposed", None, value, {"index": len(node.log), "term": node.term,
                                                            "question": k}))
    node.match[me] = len(node.log)
    return True


def commit_reach(node: Node, me: int, n: int) -> int:
    """The commit index a leader reaches with the acks it holds: the highest index a
    majority (itself included) has acked whose entry is of its own term — else its
    commit index as it stands (also for a node that does not lead)."""
    if node.role != LEADER:
        return node.commit
    for index in range(len(node.log), node.commit, -1):
        held = sum(1 for j in range(n) if (len(node.log) if j == me else node.match.get(j, 0)) >= index)
        if node.log[index - 1][0] == node.term and held > n // 2:
            return index
    return node.commit


def _advance_commit(out: Outcome, me: int, n: int) -> bool:
    node = out.node
    if node.role != LEADER:
        return False
    node.match[me] = len(node.log)
    index = commit_reach(node, me, n)
    if index <= node.commit:
        return False
    for i in range(node.commit, index):
        term, k, value = node.log[i]
        out.happened.append(("EntryCommitted", None, value, {"index": i + 1, "term": term, "question": k,
                                                             "leader_term": node.term}))
    node.commit = index
    return True


def decisions(log: list[Entry], commit: int) -> dict[int, str]:
    """Question -> decided value, from the committed prefix of ``log``."""
    out: dict[int, str] = {}
    for _, k, value in log[:commit]:
        if k >= 0 and k not in out:
            out[k] = value
    return out
