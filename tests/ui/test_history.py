"""Round history: messages with their fate, link faults, snapshots; the tables built on it."""

from __future__ import annotations

import json

from llmteams_lab.events import (
    AgentFailed,
    FaultApplied,
    MessageDelayed,
    MessageDelivered,
    MessageDropped,
    MessageSent,
    RoundEnded,
)
from llmteams_lab.ui import RoundState
from llmteams_lab.ui.history import collect_messages, next_state
from llmteams_lab.ui.tables import fault_lines, message_table_html

IDS = ("a0", "a1", "a2", "a3")


def test_messages_carry_their_fate_latency_and_content():
    events = [MessageSent("r", 2, 0, "a0", "a1", t_start=1.0, t_end=1.0, value="B", tokens_out=60),
              MessageDelivered("r", 2, 1, "a0", "a1", t_start=1.0, t_end=1.5, value="B"),
              MessageSent("r", 2, 2, "a1", "a0", t_start=1.2, t_end=1.2, value="A", detail="I say <b>A</b>"),
              MessageDelayed("r", 2, 3, "a1", "a0", fault="delay", detail="deliver in round 4"),
              MessageDelivered("r", 2, 4, "a2", "a3", t_start=2.0, t_end=2.0, value="C", fault="delay")]
    rows, aggregated = collect_messages(events)
    assert aggregated == 0
    assert rows[0][:7] == ("a0", "a1", "answer: B", 60, 0.5, None, "delivered")
    assert (rows[1].content, rows[1].status, rows[1].fault, rows[1].latency) == ("I say <b>A</b>", "delayed", "delay", None)
    assert rows[2].status == "delivered" and "held back" in rows[2].content
    html = message_table_html(RoundState(2, (None,) * 4, (0.0,) * 4, ("alive",) * 4, ((),) * 4, rows))
    assert "I say &lt;b&gt;A&lt;/b&gt;" in html and "<b>A</b>" not in html, "message text is escaped"


def test_link_faults_start_and_end_with_their_fault_applied_events():
    drop = json.dumps({"kind": "drop", "link": ["a2", "a1"]})
    part = json.dumps({"kind": "partition", "groups": [["a0", "a1"]], "heal_round": 3})
    s1 = next_state(RoundState.initial(IDS), IDS, 1, [
        FaultApplied("r", 1, 0, "a2", "a1", value="start", fault="drop", detail=drop),
        FaultApplied("r", 1, 1, value="start", fault="partition", detail=part)], None, None)
    assert ("a1", "a2", "drop") in s1.links
    cut = {(a, b) for a, b, kind in s1.links if kind == "partition"}
    assert cut == {("a0", "a2"), ("a0", "a3"), ("a1", "a2"), ("a1", "a3")}, "the rest form one more group"
    s3 = next_state(s1, IDS, 3, [FaultApplied("r", 3, 2, value="end", fault="partition", detail=part)], None, None)
    assert s3.links == (("a1", "a2", "drop"),)


def test_the_runs_snapshot_wins_over_events_and_failures_last_one_round():
    events = [AgentFailed("r", 1, 0, "a1", fault="timeout", detail="slow"),
              FaultApplied("r", 1, 1, "a3", value="start", fault="crash"),
              RoundEnded("r", 1, 2, value="B", correct=True)]
    snapshot = {"a0": {"answer": "B", "confidence": 0.75, "alive": True, "faults": ["straggler"]},
                "a3": {"answer": "A", "confidence": 0.5, "alive": False, "faults": ["crash"]}}
    s1 = next_state(RoundState.initial(IDS), IDS, 1, events, snapshot, [True, True, True, False])
    assert s1.answers == ("B", None, None, "A") and s1.confidence[0] == 0.75
    assert s1.states == ("alive", "failed", "alive", "crashed") and s1.faults[0] == ("straggler",)
    assert (s1.decision, s1.correct) == ("B", True)
    s2 = next_state(s1, IDS, 2, [], None, [True, True, True, False])
    assert s2.states == ("alive", "alive", "alive", "crashed")


def test_the_fault_log_is_newest_first_and_counts_lost_messages():
    events = [FaultApplied("r", 1, 0, "a2", value="start", fault="crash"),
              AgentFailed("r", 1, 1, "a2", fault="crash", detail="down"),
              AgentFailed("r", 2, 2, "a1", fault="server_error", detail="HTTP 502"),
              MessageDropped("r", 2, 3, "a0", "a1", fault="drop"), MessageDropped("r", 2, 4, "a1", "a0", fault="drop")]
    notes = next_state(RoundState.initial(IDS), IDS, 2, events, None, None).notes
    assert fault_lines(notes) == ["round 2: a1 failed (server_error): HTTP 502",
                                  "round 2: 2 messages dropped (drop)",
                                  "round 1: crash applied on a2"]
