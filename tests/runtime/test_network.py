"""The network's inbox tallies and messages, checked against a brute-force count.

The router-free path keeps a round's broadcast as columns and computes tallies in
closed form; these tests pin it to the obvious per-message definition and to the
general (routed) path, on random topologies, answers and repliers.
"""

from __future__ import annotations

import numpy as np
import pytest

from llmteams_lab import team
from llmteams_lab.messages import Question
from llmteams_lab.rounds import Outgoing
from llmteams_lab.runtime.log import EventLog, LogMode
from llmteams_lab.runtime.network import Network

Q = Question("q", "?", ("A", "B", "C", "D"), "A")
TOPOLOGIES = ["complete", "ring", "star", "small_world", "erdos_renyi", "tree"]


def random_round(rng, n: int):
    senders = np.flatnonzero(rng.random(n) < 0.8)
    answers = rng.integers(-1, 4, n)  # -1: an answer that is not an option
    confidence = rng.integers(0, 1001, n)
    values = [Q.options[a] if a >= 0 else None for a in answers.tolist()]
    texts = [f"text {i}" for i in range(n)]
    return senders, answers, confidence, values, texts, rng.integers(0, 50, n), np.round(rng.random(n), 6)


def one_round(spec, rng, *, explicit=True, router=None):
    """Send one random round and read the next round's inbox."""
    ids, arcs = spec.ids, spec.arcs()
    net = Network(ids, arcs, 4, LogMode(explicit, "test"))
    net.router = router
    log = EventLog("r", ids=ids)
    sent = random_round(rng, len(ids))
    senders, answers, confidence, values, texts, tokens, t_sent = sent
    net.send(log, 1, Outgoing(senders, answers, confidence, values, texts, tokens), t_sent, 2.0)
    net.deliver_due(log, 2, 2.0)
    return net, log, net.take_inbox(), sent


def brute_force(spec, sent):
    """Per receiver: the (sender, answer, confidence, text) it should read, by sender."""
    senders, answers, confidence, _, texts, _, _ = sent
    inbox = {i: [] for i in range(len(spec.ids))}
    for s, r in spec.arcs():
        if s in set(senders.tolist()):
            inbox[r].append((s, int(answers[s]), int(confidence[s]), texts[s]))
    return {r: sorted(box) for r, box in inbox.items()}


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("seed", range(4))
def test_tallies_and_messages_match_a_brute_force_count(topology: str, seed: int) -> None:
    spec = team(9, topology=topology, seed=seed)
    rng = np.random.default_rng(seed)
    _, _, inbox, sent = one_round(spec, rng)
    expected = brute_force(spec, sent)
    for r, box in expected.items():
        votes, weight = np.zeros(4, np.int64), np.zeros(4, np.int64)
        for _, a, c, _ in box:
            if a >= 0:
                votes[a] += 1
                weight[a] += c
        assert inbox.votes[r].tolist() == votes.tolist()
        assert inbox.weight[r].tolist() == weight.tolist()
        assert inbox.size[r] == len(box)
        messages = inbox.messages(r, spec.ids, Q.options)
        assert [(m.sender, m.answer, m.confidence, m.text, m.round, m.receiver) for m in messages] == [
            (spec.ids[s], Q.options[a] if a >= 0 else None, c / 1000, t, 1, spec.ids[r]) for s, a, c, t in box]


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_aggregated_mode_gives_the_same_tallies(topology: str) -> None:
    spec = team(10, topology=topology, seed=3)
    _, _, explicit, _ = one_round(spec, np.random.default_rng(1))
    _, log, aggregated, _ = one_round(spec, np.random.default_rng(1), explicit=False)
    for name in ("votes", "weight", "size"):
        assert getattr(explicit, name).tolist() == getattr(aggregated, name).tolist()
    assert aggregated.messages(0, spec.ids, Q.options) == () and aggregated.entries is None
    sent = [e for e in log.events if e.kind == "MessageSent"]
    assert len(sent) <= 1 and all(e.count == int(explicit.size.sum()) for e in sent)


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_direct_path_equals_the_routed_path_with_a_silent_router(topology: str) -> None:
    """A router with no opinion on any message must change nothing: same events, same inbox."""
    spec = team(8, topology=topology, seed=5)
    _, direct_log, direct, _ = one_round(spec, np.random.default_rng(2))
    _, routed_log, routed, _ = one_round(spec, np.random.default_rng(2), router=lambda rnd, s, r: None)
    assert direct_log.events == routed_log.events
    assert [type(e) for e in direct_log.events] == [type(e) for e in routed_log.events]
    for name in ("votes", "weight", "size"):
        assert getattr(direct, name).tolist() == getattr(routed, name).tolist()
    for i in range(len(spec.ids)):
        assert direct.messages(i, spec.ids, Q.options) == routed.messages(i, spec.ids, Q.options)
    assert direct.entries == routed.entries


def test_dropped_messages_never_reach_the_inbox() -> None:
    spec = team(5, topology="complete", seed=1)
    _, log, inbox, _ = one_round(spec, np.random.default_rng(4), router=lambda rnd, s, r: [] if r == 0 else None)
    assert inbox.size[0] == 0 and inbox.messages(0, spec.ids, Q.options) == ()
    dropped = [e for e in log.events if e.kind == "MessageDropped"]
    assert dropped and {e.peer for e in dropped} == {"a0"}


def test_inbox_is_handed_over_once() -> None:
    spec = team(4, topology="ring", seed=1)
    net, _, first, _ = one_round(spec, np.random.default_rng(0))
    assert first.size.sum() > 0
    again = net.take_inbox()
    assert again.size.sum() == 0 and again.messages(1, spec.ids, Q.options) == ()


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_messages_to_a_down_receiver_are_dropped_alike_on_both_paths(topology: str) -> None:
    """The vectorised path turns deliveries to a down agent into drops exactly as the
    routed path does, and neither hands the down agent anything."""
    spec = team(8, topology=topology, seed=5)

    def down_round(router):
        ids, arcs = spec.ids, spec.arcs()
        net = Network(ids, arcs, 4, LogMode(True, "test"))
        net.router, net.down = router, {2: "crash", 5: "crash_recover"}
        log = EventLog("r", ids=ids)
        senders, answers, confidence, values, texts, tokens, t_sent = random_round(np.random.default_rng(7), 8)
        net.send(log, 1, Outgoing(senders, answers, confidence, values, texts, tokens), t_sent, 2.0)
        return log, net.take_inbox()

    (direct_log, direct), (routed_log, routed) = down_round(None), down_round(lambda rnd, s, r: None)
    assert direct_log.events == routed_log.events
    dropped = [e for e in direct_log.events if e.kind == "MessageDropped"]
    assert {(e.peer, e.fault) for e in dropped} <= {("a2", "crash"), ("a5", "crash_recover")}
    assert not [e for e in direct_log.events if e.kind == "MessageDelivered" and e.peer in ("a2", "a5")]
    for i in (2, 5):
        assert direct.size[i] == routed.size[i] == 0 and direct.messages(i, spec.ids, Q.options) == ()
    for name in ("votes", "weight", "size"):
        assert getattr(direct, name).tolist() == getattr(routed, name).tolist()
