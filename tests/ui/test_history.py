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
    assert rows[1].sent_at is None, "no RoundStarted in these events: no time into the round"
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


def test_the_fault_log_has_one_line_per_fault_and_groups_failures():
    from llmteams_lab.spec.faults import FaultSpec
    from llmteams_lab.ui.tables import fault_groups

    events = [FaultApplied("r", 1, 0, "a2", value="start", fault="crash"),
              AgentFailed("r", 1, 1, "a2", fault="crash", detail="down"),
              AgentFailed("r", 2, 2, "a1", fault="server_error", detail="HTTP 502"),
              AgentFailed("r", 3, 2, "a1", fault="server_error", detail="HTTP 502")]
    for r in (2, 3, 4):
        events += [MessageDropped("r", r, 3, "a0", "a1", fault="drop"), MessageDropped("r", r, 4, "a1", "a0", fault="drop")]
    notes = next_state(RoundState.initial(IDS), IDS, 4, events, None, None).notes
    crash, drop = FaultSpec(kind="crash", agent="a2", at_round=1), FaultSpec(kind="drop", link=("a0", "a1"), start_round=2)
    later = FaultSpec(kind="byzantine", agent="a3", start_round=6)
    assert fault_lines(notes, in_force=[crash, drop, later], round=4) == [
        "byzantine on a3 · from round 6 · pending",
        "drop on a0 — a1 · from round 2 · in force · 6 messages dropped so far",
        "crash on a2 · from round 1 · in force",
        "a1 failed (server_error) 2× since round 2"]
    actions = {g.fault.kind: g.action for g in fault_groups(notes, [crash, drop, later], 4) if g.fault}
    assert actions == {"byzantine": "undo", "drop": "end", "crash": "recover"}


def test_messages_to_a_crashed_agent_are_not_shown_as_delivered():
    events = [FaultApplied("r", 1, 0, "a2", value="start", fault="crash"),
              MessageSent("r", 1, 1, "a0", "a2", value="A"), MessageDelivered("r", 1, 2, "a0", "a2", value="A")]
    state = next_state(RoundState.initial(IDS), IDS, 1, events, None, None)
    assert state.messages[0].status == "receiver down"


def test_roles_and_badges_come_from_the_snapshot_and_persist_where_it_is_silent():
    from llmteams_lab.ui.history import agent_roles

    ids = ("a0", "a1", "a2")
    start = RoundState.initial(ids)
    assert agent_roles(ids, {"a0": {"answer": "B"}}, start) == ((), ())  # no badges: not a coordination team
    snap = {a: {"role": "follower", "badge": "t1"} for a in ids} | {"a1": {"role": "leader", "badge": "♛ t1"}}
    roles, badges = agent_roles(ids, snap, start)
    assert roles == ("follower", "leader", "follower") and badges == ("t1", "♛ t1", "t1")
    later = RoundState(1, (None,) * 3, (0.0,) * 3, ("alive",) * 3, ((),) * 3, roles=roles, badges=badges)
    roles2, badges2 = agent_roles(ids, {"a2": {"role": "candidate", "badge": "? t2"}}, later)
    assert roles2 == ("follower", "leader", "candidate") and badges2 == ("t1", "♛ t1", "? t2")
