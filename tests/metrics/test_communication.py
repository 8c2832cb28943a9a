"""Communication metrics on a hand-built frame (formulas in metrics.communication)."""

from __future__ import annotations

from llmteams_lab.events import (
    AgentFailed,
    AgentReplied,
    AnswersTallied,
    MessageDelayed,
    MessageDelivered,
    MessageDropped,
    MessageSent,
    RoundEnded,
)
from llmteams_lab.metrics import (
    events_frame,
    overhead,
    per_agent,
    per_edge,
    round_summary,
)


def frame():
    rows = []

    def add(cls, round, agent=None, peer=None, **kw):
        rows.append(cls("r", round, len(rows), agent, peer, **kw))

    # round 1: a, b reply; a→b, b→a, a→c delivered; b→c dropped; c failed
    add(AgentReplied, 1, "a", value="X", tokens_in=100, tokens_out=10, cost_usd=0.5)
    add(AgentReplied, 1, "b", value="X", tokens_in=120, tokens_out=12, cost_usd=0.25)
    add(AgentFailed, 1, "c", fault="timeout")
    for s, r in (("a", "b"), ("b", "a"), ("a", "c"), ("b", "c")):
        add(MessageSent, 1, s, r, tokens_out=10 if s == "a" else 12)
    for s, r in (("a", "b"), ("b", "a"), ("a", "c")):
        add(MessageDelivered, 1, s, r, tokens_out=10 if s == "a" else 12)
    add(MessageDropped, 1, "b", "c", fault="drop")
    add(RoundEnded, 1)
    # round 2: c replies; c→a delayed; plus an aggregated row standing for 5 messages
    add(AgentReplied, 2, "c", value="Y", tokens_in=300, tokens_out=30)
    add(MessageSent, 2, "c", "a", tokens_out=30)
    add(MessageDelayed, 2, "c", "a", fault="delay")
    add(MessageSent, 2, tokens_out=50, count=5)
    add(AnswersTallied, 2, value="Y", count=2, tokens_in=7, tokens_out=3)
    add(RoundEnded, 2)
    add(RoundEnded, 3)  # a quiet round still gets a row of zeros
    return events_frame(rows)


def test_overhead_per_round_and_cumulative() -> None:
    out = overhead(frame())
    assert out.select("round", "messages", "delivered", "dropped", "delayed", "tokens_in", "tokens_out").rows() == [
        (1, 4, 3, 1, 0, 220, 22), (2, 6, 0, 0, 1, 307, 33), (3, 0, 0, 0, 0, 0, 0)]
    assert out["cost_usd"].to_list() == [0.75, 0.0, 0.0]
    assert out.select("cum_messages", "cum_tokens_in", "cum_tokens_out").rows() == [
        (4, 220, 22), (10, 527, 55), (10, 527, 55)]


def test_per_agent_counts_replies_failures_tokens_and_messages() -> None:
    out = per_agent(frame()).select("agent", "replies", "failures", "tokens_in", "tokens_out", "sent", "received")
    assert out.rows() == [
        ("a", 1, 0, 100, 10, 2, 1),
        ("b", 1, 0, 120, 12, 2, 1),
        ("c", 1, 1, 300, 30, 1, 1),
    ]


def test_per_edge_counts_messages_and_tokens_along_each_arc() -> None:
    out = per_edge(frame()).select("agent", "peer", "messages", "delivered", "tokens")
    assert out.rows() == [
        ("a", "b", 1, 1, 10), ("a", "c", 1, 1, 10), ("b", "a", 1, 1, 12), ("b", "c", 1, 0, 12),
        ("c", "a", 1, 0, 30),
    ]


def test_round_summary_joins_convergence_and_overhead() -> None:
    out = round_summary(frame())
    assert out["round"].to_list() == [1, 2, 3]
    assert out["messages"].to_list() == [4, 6, 0] and out["cum_messages"].to_list() == [4, 10, 10]
    # round 1: c's call failed and it holds no answer yet, so 2 of 3 live agents agree
    assert out["agreement"].to_list()[:2] == [2 / 3, 1.0] and out["replies"].to_list()[:2] == [2, 3]
    assert out["agents"].to_list()[:2] == [3, 3]
