"""Messages in bulk (``runtime.bulk``): an asynchronous run without anything acting on
single messages gives, event for event, the log of the per-message path (per-message
logging), or the same replies and message totals (aggregated logging); faults injected
by hand keep that true; runs that need single messages never go in bulk."""

from __future__ import annotations

from collections import Counter

import pytest

from llmteams_lab import FaultSpec, Run, team
from llmteams_lab.events import events_to_jsonl
from tests.support import aio, no_stop


def async_team(n: int, *, topology: str = "complete", delay: float = 0.05, jitter: float = 0.3, seed: int = 3,
               rounds: int = 8, logging: str = "messages", execution: str = "asynchronous", **network):
    spec = team(n, topology=topology, protocol="debate", logging=logging, max_rounds=rounds, competence=0.4,
                conformity=0.3, seed=seed)
    net = {"delay_s": delay, "jitter": jitter, "tick_s": 1.0, **network} if delay or network else None
    return spec.replace(execution=execution, network=net)


async def run_log(spec, *, bulk: bool, inject: list[tuple[int, FaultSpec]] = ()) -> tuple[Run, list]:
    """The run of ``spec`` in bulk or one message at a time; ``inject``: (after slice, fault)."""
    run = Run(spec)
    assert run.execution.bulk is not None, run.execution.why_per_message
    if not bulk:
        run.execution.bulk = None  # the per-message path, the reference
    faults = dict(inject)
    while not run.done:
        await run.step()
        if run.round in faults and not run.done:
            run.inject(faults[run.round])
    events = list(run.events)
    await run.aclose()
    return run, events


@pytest.mark.parametrize("spec", [
    async_team(10),
    async_team(20, delay=0.0, jitter=0.0),  # instant messages: copies arrive when they are sent
    async_team(30, topology="ring", delay=0.3),
    async_team(12, topology="star", delay=0.8, jitter=0.5, seed=11),
    async_team(16, delay=0.05, gst_s=3.0, delta_s=0.4, execution="partially_synchronous"),  # partial synchrony
    async_team(9, delay=0.02, jitter=0.0, rounds=40),  # runs to consensus: a decision mid-slice
    no_stop(async_team(64, seed=1, rounds=3)),  # the benchmark's team: long queues, rows reused
    no_stop(async_team(24, delay=1.5, jitter=0.8, rounds=6, seed=5)),  # copies landing long after their send
], ids=["complete", "instant", "ring", "star", "partial-sync", "to-consensus", "n64", "slow-links"])
@aio
async def test_per_message_logs_are_identical_in_bulk(spec):
    one, a = await run_log(spec, bulk=False)
    bulk, b = await run_log(spec, bulk=True)
    assert (bulk.end_reason, bulk.round) == (one.end_reason, one.round)
    assert events_to_jsonl(b) == events_to_jsonl(a)
    assert sum(e.kind == "MessageDelivered" for e in b) > 50


@pytest.mark.parametrize("fault", [
    FaultSpec(kind="crash", agent="a2"),
    FaultSpec(kind="crash_recover", agent="a1", start_round=3, end_round=4),
    FaultSpec(kind="drop", probability=0.3),  # on messages: later broadcasts leave one at a time
    FaultSpec(kind="byzantine", agent="a0"),
    FaultSpec(kind="server_error", agent="a3", probability=0.5),
], ids=lambda f: f.kind)
@aio
async def test_faults_injected_mid_run_give_the_same_log_in_bulk(fault):
    spec = async_team(10, rounds=7)
    one, a = await run_log(spec, bulk=False, inject=[(2, fault)])
    bulk, b = await run_log(spec, bulk=True, inject=[(2, fault)])
    assert events_to_jsonl(b) == events_to_jsonl(a)
    assert any(e.round > 2 and (e.fault or "") for e in b) or fault.kind in ("byzantine",)


def _replies(events) -> Counter:
    got: Counter = Counter()
    for e in events:
        if e.kind in ("AgentReplied", "AnswersTallied"):
            got[(e.t_end, e.value)] += e.count
    return got


def _totals(events) -> Counter:
    got: Counter = Counter()
    for e in events:
        if e.kind.startswith("Message"):
            got[(e.kind, e.fault)] += e.count
    return got


@pytest.mark.parametrize("n, topology, delay", [(40, "complete", 0.05), (25, "ring", 0.4), (15, "complete", 0.0)])
@aio
async def test_aggregated_bulk_runs_reply_as_the_per_message_path(n, topology, delay):
    each, a = await run_log(async_team(n, topology=topology, delay=delay, jitter=0.3 if delay else 0.0), bulk=False)
    bulk, b = await run_log(async_team(n, topology=topology, delay=delay, jitter=0.3 if delay else 0.0,
                                       logging="rounds"), bulk=True)
    assert (bulk.end_reason, bulk.round, bulk.result().decision) == (each.end_reason, each.round,
                                                                      each.result().decision)
    assert _replies(b) == _replies(a)  # every reply: when, and what it said
    assert _totals(b) == _totals(a)  # messages sent, delivered (by the run's end)
    assert len(b) < len(a)  # counted: one MessageSent per broadcast, one MessageDelivered per slice
    sent = [e for e in b if e.kind == "MessageSent"]
    assert all(e.count == len(bulk.network.out[bulk.spec.ids.index(e.agent)]) for e in sent)


@aio
async def test_aggregated_bulk_loses_copies_to_a_crashed_receiver():
    spec = async_team(12, logging="rounds", rounds=6)
    run, events = await run_log(spec, bulk=True, inject=[(2, FaultSpec(kind="crash", agent="a4"))])
    totals = _totals(events)
    dropped = totals[("MessageDropped", "crash")]
    assert dropped > 0
    assert totals[("MessageSent", None)] >= totals[("MessageDelivered", None)] + dropped
    assert not any(e.kind == "AnswersTallied" and e.round > 3 and e.agent == "a4" for e in events)


@pytest.mark.parametrize("changes, why", [
    (dict(faults=[FaultSpec(kind="drop", probability=0.1)]), "faults"),
    (dict(detector={"timeout_s": 2.0}), "detector"),
    (dict(network={"delay_s": 0.1, "mailbox": 4}), "mailboxes"),
    (dict(network={"delay_s": 0.1, "reliable": True}), "retransmissions"),
    (dict(protocol={"kind": "quorum", "wait": "quorum"}), "wait for particular senders"),
])
def test_runs_that_act_on_single_messages_never_go_in_bulk(changes, why):
    spec = team(6, seed=1).replace(execution="asynchronous", **changes)
    run = Run(spec)
    assert run.execution.bulk is None and why in run.execution.why_per_message


def test_a_plain_asynchronous_team_goes_in_bulk():
    run = Run(team(6, seed=1).replace(execution="asynchronous"))
    assert run.execution.bulk is not None and run.execution.why_per_message is None


@aio
async def test_a_run_stepped_one_happening_at_a_time_logs_every_copy_that_arrived_by_then():
    """A landing's copies are logged with the next happening's (``BulkTransit.logs_before``);
    a step still leaves the log with every copy that arrived by its last happening."""
    spec = no_stop(async_team(12, rounds=3))
    _, whole = await run_log(spec, bulk=False)
    run = Run(spec)
    bulk = run.execution.bulk
    steps = 0
    while not run.done:
        await run.advance(1)
        assert not bulk.when.size or bulk.when[0] > run.execution.budget.last_time
        steps += 1
    assert steps > 50 and events_to_jsonl(list(run.events)) == events_to_jsonl(whole)
    await run.aclose()
