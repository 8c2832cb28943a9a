"""Fault metrics on runs whose numbers are known exactly."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import team
from llmteams_lab.backends import MockBackend
from llmteams_lab.metrics import (
    byzantine_influence,
    events_frame,
    faulty_agents,
    message_loss,
    time_to_recover,
)
from llmteams_lab.spec import FaultSpec, TeamSpec
from tests.support import no_stop, run_all


def frame(spec: TeamSpec, backend=None) -> pl.DataFrame:
    return events_frame(run_all(spec, backend)[1])


def mock_team(rounds: int, **kw) -> TeamSpec:
    return no_stop(team(5, backend="mock", max_rounds=rounds, **kw))


def test_message_loss_counts_every_fate() -> None:
    spec = mock_team(3).replace(faults=[
        FaultSpec(kind="partition", groups=(("a0", "a1"), ("a2", "a3", "a4")), heal_round=3),
        FaultSpec(kind="duplicate", link=("a2", "a3"), at_round=3),
        FaultSpec(kind="corrupt", link=("a3", "a4"), at_round=3),
        FaultSpec(kind="delay", link=("a0", "a1"), rounds=1, at_round=1)])
    events = frame(spec, MockBackend())
    total = message_loss(events).row(0, named=True)
    assert {k: v for k, v in total.items() if k != "run_id"} == {
        "sent": 60, "delivered": 36, "dropped": 24, "delayed": 2, "duplicated": 2, "corrupted": 2,
        "receiver_down": 0, "loss_rate": 0.4}
    per_round = message_loss(events, per_round=True).select("round", "sent", "dropped", "delayed", "delivered")
    assert per_round.rows() == [(1, 20, 12, 2, 6), (2, 20, 12, 0, 8), (3, 20, 0, 0, 22)]


@pytest.mark.parametrize("logging", ["messages", "rounds"])
def test_messages_to_a_down_agent_are_dropped_not_delivered(logging: str) -> None:
    """5 agents all-to-all, 4 rounds; a1 crash-recovers (down in rounds 2–3) and a2
    crashes for good in round 3. Each round every live agent sends to the 4 others:
    round 1: 5·4 = 20 sent, all delivered; round 2: 4 senders → 16, the 4 to a1 dropped;
    round 3: 3 senders → 12, 3 to a1 and 3 to a2 dropped; round 4: a1 is back (4 senders
    → 16), the 4 to a2 dropped."""
    spec = mock_team(4, logging=logging).replace(faults=[
        FaultSpec(kind="crash_recover", agent="a1", start_round=2, end_round=3),
        FaultSpec(kind="crash", agent="a2", at_round=3)])
    events = frame(spec, MockBackend())
    per_round = message_loss(events, per_round=True).select("round", "sent", "delivered", "dropped",
                                                            "receiver_down")
    assert per_round.rows() == [(1, 20, 20, 0, 0), (2, 16, 12, 4, 4), (3, 12, 6, 6, 6), (4, 16, 12, 4, 4)]
    dropped = events.filter(pl.col("kind") == "MessageDropped").group_by("fault").agg(pl.col("count").sum())
    assert dict(dropped.rows()) == {"crash_recover": 7, "crash": 7}
    if logging == "messages":  # nothing sent to a down agent is recorded as reaching it
        to_down = events.filter((pl.col("kind") == "MessageDelivered")
                                & (((pl.col("peer") == "a1") & pl.col("round").is_in([2, 3]))
                                   | ((pl.col("peer") == "a2") & (pl.col("round") >= 3))))
        assert to_down.is_empty()


def test_a_recovered_agent_reads_nothing_sent_while_it_was_down() -> None:
    spec = mock_team(4).replace(faults=[FaultSpec(kind="crash_recover", agent="a1", start_round=2, end_round=3)])
    backend = MockBackend()
    frame(spec, backend)
    inbox = {(c.round, c.agent): len(c.inbox) for c in backend.calls}
    assert inbox[(2, "a0")] == 4 and (2, "a1") not in inbox  # a0 heard everyone in round 1; a1 is down
    assert inbox[(4, "a1")] == 0 and inbox[(4, "a0")] == 3  # round 3's messages to a1 were dropped


def test_message_loss_is_null_without_messages() -> None:
    events = frame(team(1, backend="mock", protocol="majority"), MockBackend())
    assert message_loss(events)["loss_rate"].to_list() == [None]


def test_byzantine_influence_with_and_without_the_liars() -> None:
    base = no_stop(team(5, competence=1.0, conformity=1.0, max_rounds=3, seed=2))
    liars = base.replace(faults=[FaultSpec(kind="byzantine", group=("a0", "a1", "a2"), lie="C")])
    faulty, clean = frame(liars), frame(base)
    assert faulty_agents(faulty).select("agent", "fault", "round").rows() == [
        ("a0", "byzantine", 1), ("a1", "byzantine", 1), ("a2", "byzantine", 1)]
    out = byzantine_influence(faulty, clean).select(
        "round", "accuracy_all", "accuracy_correct", "agreement_all", "baseline_accuracy_correct", "influence",
        "team_correct", "baseline_team_correct")
    assert out.rows() == [
        (1, pytest.approx(0.4), 1.0, pytest.approx(0.6), 1.0, 0.0, False, True),
        (2, 0.0, 0.0, 1.0, 1.0, 1.0, False, True),
        (3, 0.0, 0.0, 1.0, 1.0, 1.0, False, True),
    ]
    alone = byzantine_influence(faulty)
    assert "influence" not in alone.columns and alone["accuracy_correct"].to_list() == [1.0, 0.0, 0.0]


def _scripted(wrong: dict[int, set[str]]):
    """Agents answer the truth, except those listed as wrong in a round."""
    def script(request):
        q = request.question
        return next(o for o in q.options if o != q.answer) if request.agent in wrong.get(request.round, ()) else None
    return script


def test_time_to_recover_after_a_healed_partition_and_a_crash() -> None:
    wrong = {2: {"a0", "a1"}, 3: {"a0", "a1"}, 4: {"a0", "a1"}, 5: set()}
    spec = mock_team(6).replace(faults=[
        FaultSpec(kind="partition", groups=(("a0", "a1"),), at_round=2, heal_round=4),
        FaultSpec(kind="crash", agent="a4", at_round=2),
        FaultSpec(kind="crash_recover", agent="a3", start_round=5, end_round=6)])
    out = time_to_recover(frame(spec, MockBackend(_scripted(wrong), latency_s=1.0)))
    rows = out.select("fault", "agent", "fault_round", "from_round", "target_agreement", "recovered_round",
                      "rounds_to_recover", "seconds_to_recover").rows()
    assert rows == [
        ("crash", "a4", 2, 2, 1.0, 5, 3, 4.0),
        ("partition", None, 2, 4, 1.0, 5, 1, 2.0),
        ("crash_recover", "a3", 5, None, 0.5, None, None, None),  # still down when the run ended
    ]


def test_time_to_recover_is_null_when_agreement_never_returns() -> None:
    spec = mock_team(4).replace(faults=[FaultSpec(kind="crash", agent="a0", at_round=2)])
    out = time_to_recover(frame(spec, MockBackend(_scripted({r: {"a1"} for r in (2, 3, 4)}))))
    assert out.select("recovered_round", "rounds_to_recover").rows() == [(None, None)]


def test_a_late_message_whose_receiver_crashed_meanwhile_is_dropped_when_due() -> None:
    """a0 → a1 is delayed one round in round 1 (due in round 3); a1 crashes in round 3:
    the late message is dropped on arrival (fault crash), not delivered."""
    spec = mock_team(3).replace(faults=[FaultSpec(kind="delay", link=("a0", "a1"), rounds=1, at_round=1),
                                        FaultSpec(kind="crash", agent="a1", at_round=3)])
    events = frame(spec, MockBackend())
    first_sent = events.filter((pl.col("round") == 3) & (pl.col("kind") == "MessageSent"))["seq"].min()
    to_a1 = events.filter((pl.col("agent") == "a0") & (pl.col("peer") == "a1") & (pl.col("round") == 3))
    late = to_a1.filter(pl.col("seq") < first_sent)  # what arrived as round 3 began
    assert late.select("kind", "fault").rows() == [("MessageDropped", "crash")]
    assert to_a1.filter(pl.col("kind") == "MessageDelivered").is_empty()
