"""Message counts per round along the topology (MessageSent events)."""

from __future__ import annotations

from collections import Counter

import pytest

from llmteams_lab import team
from tests.support import no_stop, run_events


def sent_per_round(events, sender: str | None = None) -> Counter:
    return Counter(e.round for e in events if e.kind == "MessageSent" and (sender is None or e.agent == sender))


@pytest.mark.parametrize("n", [2, 5, 9])
def test_star_leader_broadcasts_to_n_minus_1_each_round(n: int) -> None:
    events = run_events(no_stop(team(n, topology="star", protocol="debate", seed=1, max_rounds=3)))
    assert sent_per_round(events, "a0") == {1: n - 1, 2: n - 1, 3: n - 1}
    assert sent_per_round(events) == {1: 2 * (n - 1), 2: 2 * (n - 1), 3: 2 * (n - 1)}
    hub_arcs = {(e.agent, e.peer) for e in events if e.kind == "MessageSent"}
    assert hub_arcs == {("a0", f"a{i}") for i in range(1, n)} | {(f"a{i}", "a0") for i in range(1, n)}


def test_leader_protocol_star_messages() -> None:
    n = 6
    events = run_events(team(n, topology="star", protocol="leader", seed=2))
    assert sent_per_round(events, "a0") == {1: n - 1, 2: n - 1}


@pytest.mark.parametrize("n", [2, 4, 8])
def test_complete_sends_n_times_n_minus_1_each_round(n: int) -> None:
    events = run_events(no_stop(team(n, topology="complete", protocol="debate", seed=3, max_rounds=3)))
    assert sent_per_round(events) == {1: n * (n - 1), 2: n * (n - 1), 3: n * (n - 1)}
    delivered = Counter(e.round for e in events if e.kind == "MessageDelivered")
    assert delivered == sent_per_round(events)


@pytest.mark.parametrize("topology", ["complete", "ring", "star"])
def test_aggregated_logging_counts_the_same_messages(topology: str) -> None:
    n = 7
    spec = no_stop(team(n, topology=topology, protocol="debate", seed=4, max_rounds=3))
    per_message = sent_per_round(run_events(spec))
    aggregated = run_events(spec.replace(logging="rounds"))
    counted = Counter()
    for e in aggregated:
        if e.kind == "MessageSent":
            counted[e.round] += e.count
    assert counted == per_message
    assert sum(1 for e in aggregated if e.kind == "MessageSent") == 3  # one counted row per round


def test_messages_carry_the_senders_answer_into_the_next_rounds_inbox() -> None:
    from llmteams_lab.backends import MockBackend

    backend = MockBackend(lambda req: req.question.options[int(req.agent[1:]) % len(req.question.options)])
    run_events(no_stop(team(3, topology="ring", backend="mock", max_rounds=2)), backend)
    round2 = {c.agent: c for c in backend.calls if c.round == 2}
    opts = backend.calls[0].question.options
    assert [(m.sender, m.answer, m.round) for m in round2["a0"].inbox] == [("a1", opts[1], 1), ("a2", opts[2], 1)]
    assert round2["a1"].previous_answer == opts[1] and round2["a1"].previous_confidence == 1.0
    assert all(not c.inbox and c.previous_answer is None for c in backend.calls if c.round == 1)
