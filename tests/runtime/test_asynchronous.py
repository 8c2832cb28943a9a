"""The asynchronous execution model: causality, determinism, timeouts and failure
detectors, mailboxes, addressing, reliable links, partial synchrony, and bad input."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import FaultSpec, Run, SpecError, run_sync, team
from llmteams_lab.events import events_to_jsonl, on_time_grid
from llmteams_lab.metrics import (
    check_causality,
    happened_before,
    suspicions,
    time_summary,
    vector_clocks,
)
from llmteams_lab.spec import work_team
from tests.support import ROOT, aio


def async_team(n: int = 6, *, seed: int = 3, delay: float = 0.1, jitter: float = 0.3, **changes):
    spec = team(n, seed=seed, max_rounds=15, competence=0.5, conformity=0.5)
    return spec.replace(execution="asynchronous", network={"delay_s": delay, "jitter": jitter}, **changes)


def of(result, kind: str) -> list:
    return [e for e in result.records if e.kind == kind]


# --- causality -------------------------------------------------------------------------------
FAULTS = st.lists(st.sampled_from([
    {"kind": "drop", "probability": 0.2}, {"kind": "delay", "rounds": 1, "probability": 0.3},
    {"kind": "delay", "extra_s": 0.4, "probability": 0.3}, {"kind": "duplicate", "probability": 0.2},
    {"kind": "reorder", "probability": 0.2}, {"kind": "crash", "agent": "a1", "at_round": 2},
    {"kind": "straggler", "agent": "a2", "factor": 3.0}, {"kind": "corrupt", "probability": 0.2},
]), max_size=3, unique_by=lambda f: str(sorted(f.items())))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["complete", "ring", "star", "small_world", "tree"]), st.integers(5, 8),
       st.floats(0.0, 0.5), st.floats(0.0, 1.0), FAULTS, st.integers(0, 50), st.booleans(), st.booleans())
def test_every_log_is_causally_consistent(topology, n, delay, jitter, faults, seed, reliable, detector) -> None:
    """No delivery before its send (plus its link delay), no turn before what woke it,
    vector clocks consistent — whatever the topology, delays and faults."""
    spec = team(n, topology=topology, seed=seed, max_rounds=6).replace(
        execution="asynchronous", faults=[FaultSpec.from_dict(f) for f in faults],
        network={"delay_s": delay, "jitter": jitter, "reliable": reliable},
        detector={"timeout_s": 1.5} if detector else None)
    result = run_sync(spec)
    events = result.events
    assert check_causality(events).is_empty()
    sent = {e.seq: e for e in result.records if e.kind == "MessageSent"}
    for e in of(result, "MessageDelivered"):
        least = on_time_grid(delay) if jitter == 0 and e.fault is None else 0.0  # delays are drawn on the grid
        assert e.t_end >= sent[e.cause].t_start + least
    clocks = vector_clocks(events)
    for e in result.records:  # a cause's clock is strictly below its effect's
        if e.cause is not None and e.seq in clocks and e.cause in clocks:
            assert happened_before(events, e.cause, e.seq) or clocks[e.cause] == clocks[e.seq]


def test_without_jitter_every_message_takes_exactly_its_links_delay() -> None:
    spec = async_team(5, delay=0.25, jitter=0.0).replace(network={"delay_s": 0.25, "links": [
        {"link": ["a0", "a1"], "delay_s": 0.75}]})
    result = run_sync(spec)
    sent = {e.seq: e for e in of(result, "MessageSent")}
    for e in of(result, "MessageDelivered"):
        expected = 0.75 if {e.agent, e.peer} == {"a0", "a1"} else 0.25
        assert e.t_end - sent[e.cause].t_start == pytest.approx(expected, abs=1e-9)


def test_a_turn_reads_exactly_what_arrived_before_it_started() -> None:
    result = run_sync(async_team(6))
    delivered = of(result, "MessageDelivered")
    turns = {}
    for e in of(result, "AgentReplied"):
        turns.setdefault(e.agent, []).append(e)
    for agent, mine in turns.items():
        for prev, nxt in zip(mine, mine[1:]):  # a turn starts when (or after) the previous one ended
            assert nxt.t_start >= prev.t_end
            read = [d for d in delivered if d.peer == agent and prev.t_start < d.t_end <= nxt.t_start]
            assert nxt.cause is None or nxt.cause in {d.seq for d in read}


# --- determinism ------------------------------------------------------------------------------
def test_same_seed_same_bytes_across_processes() -> None:
    spec = async_team(7, seed=11).replace(faults=[FaultSpec(kind="drop", probability=0.2)],
                                          detector={"timeout_s": 2.0})
    code = ("import hashlib; from llmteams_lab import TeamSpec, run_sync; from llmteams_lab.events import "
            f"events_to_jsonl; r = run_sync(TeamSpec.from_json({spec.to_json()!r})); "
            "print(hashlib.sha256(events_to_jsonl(list(r.records)).encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "99"}, timeout=120).stdout.strip()
    here = hashlib.sha256(events_to_jsonl(list(run_sync(spec).records)).encode()).hexdigest()
    assert out == here


@aio
async def test_stepping_happening_by_happening_gives_the_same_log_as_whole_slices() -> None:
    spec = async_team(5, seed=4)
    whole = run_sync(spec)
    async with Run(spec) as run:
        while not run.done:
            await run.advance(1)
        fine = list(run.events)
    assert events_to_jsonl(fine) == events_to_jsonl(list(whole.records))


# --- timeouts and the failure detector -----------------------------------------------------------
def test_a_slow_agent_is_suspected_and_unsuspected_a_crashed_one_stays_suspected() -> None:
    """The lesson of asynchrony: a reply-timeout detector cannot tell slow from crashed —
    it suspects both, and only the slow one clears itself by speaking again."""
    spec = async_team(5, seed=2).replace(
        protocol={"kind": "debate", "stop_at_consensus": False}, budgets={"max_rounds": 14},
        detector={"timeout_s": 2.0},
        faults=[FaultSpec(kind="crash", agent="a1", at_round=2),
                FaultSpec(kind="straggler", agent="a2", factor=5.0)])
    sus = suspicions(run_sync(spec).events)
    crashed = sus.filter(pl.col("suspect") == "a1")
    assert crashed.height == 4 and crashed["true"].all() and crashed["withdrawn_at"].is_null().all()
    slow = sus.filter(pl.col("suspect") == "a2")
    assert slow.height and not slow["true"].any()  # every suspicion of the live straggler is false ...
    assert slow["withdrawn_at"].is_not_null().any()  # ... and its next message withdraws it


def test_heartbeats_keep_a_busy_agent_from_being_suspected() -> None:
    faults = [FaultSpec(kind="straggler", agent="a2", factor=5.0)]
    base = async_team(5, seed=2).replace(protocol={"kind": "debate", "stop_at_consensus": False},
                                         budgets={"max_rounds": 10}, faults=faults)
    silent = suspicions(run_sync(base.replace(detector={"timeout_s": 2.0})).events)
    beating = suspicions(run_sync(base.replace(detector={"timeout_s": 2.0, "heartbeat_s": 0.5})).events)
    assert silent.filter(pl.col("suspect") == "a2").height > 0
    assert beating.filter(pl.col("suspect") == "a2").height == 0


def test_the_detector_lets_a_wait_for_all_team_finish_despite_a_crash() -> None:
    crash = [FaultSpec(kind="crash", agent="a3", at_round=1)]
    blocked = run_sync(async_team(5, seed=1, faults=crash, protocol={"kind": "debate", "wait": "all"})
                       .replace(budgets={"max_rounds": 8}))
    detected = run_sync(async_team(5, seed=1, faults=crash, protocol={"kind": "debate", "wait": "all"},
                                   detector={"timeout_s": 1.0}).replace(budgets={"max_rounds": 8}))
    assert detected.reason == "consensus"
    assert blocked.reason != "consensus" or time_summary(blocked.events)["time_to_decision"][0] > \
        time_summary(detected.events)["time_to_decision"][0]


# --- mailboxes, addressing, reliable links, partial synchrony ---------------------------------------
def test_a_full_mailbox_drops_the_newest_message_as_an_event() -> None:
    result = run_sync(async_team(6, delay=0.01).replace(network={"delay_s": 0.01, "mailbox": 2}))
    overflow = [e for e in of(result, "MessageDropped") if e.fault == "overflow"]
    assert overflow
    sent = Counter(e.kind for e in result.records)
    dropped_other = sum(1 for e in of(result, "MessageDropped") if e.fault != "overflow")
    in_flight = sent["MessageSent"] - sent["MessageDelivered"] - sent["MessageDropped"]
    assert in_flight >= 0 and dropped_other == 0


def test_recipients_and_fanout_address_messages() -> None:
    spec = async_team(6)
    agents = [a.replace(recipients=("a0",)) if a.id != "a0" else a.replace(fanout=2) for a in spec.agents]
    result = run_sync(spec.replace(agents=agents))
    for e in of(result, "MessageSent"):
        if e.agent != "a0":
            assert e.peer == "a0"
    from_a0 = Counter(e.cause for e in of(result, "MessageSent") if e.agent == "a0")
    assert from_a0 and set(from_a0.values()) == {2}


def test_synchronous_rounds_address_messages_too() -> None:
    spec = team(5, seed=1, max_rounds=3)
    agents = [a.replace(recipients=("a0",)) if a.id != "a0" else a for a in spec.agents]
    result = run_sync(spec.replace(agents=agents))
    assert {e.peer for e in of(result, "MessageSent") if e.agent != "a0"} == {"a0"}


def test_a_reliable_network_retransmits_lost_messages_until_they_arrive() -> None:
    faults = [FaultSpec(kind="drop", probability=0.4)]
    lossy = run_sync(async_team(5, seed=6, faults=faults))
    reliable = run_sync(async_team(5, seed=6, faults=faults).replace(network={"delay_s": 0.1, "reliable": True}))
    retransmits = [e for e in of(reliable, "MessageSent") if e.fault == "retransmit"]
    assert retransmits and all(e.cause is not None for e in retransmits)
    assert not [e for e in of(lossy, "MessageSent") if e.fault == "retransmit"]


def test_partial_synchrony_bounds_delays_after_gst() -> None:
    spec = async_team(6, seed=8).replace(execution="partially_synchronous",
                                         network={"delay_s": 0.05, "jitter": 0.5, "gst_s": 3.0, "delta_s": 0.3},
                                         protocol={"kind": "debate", "stop_at_consensus": False},
                                         budgets={"max_rounds": 8})
    result = run_sync(spec)
    sent = {e.seq: e for e in of(result, "MessageSent")}
    after = [e.t_end - sent[e.cause].t_start for e in of(result, "MessageDelivered") if sent[e.cause].t_start >= 3.0]
    before = [e for e in of(result, "MessageDelivered") if sent[e.cause].t_start < 3.0]
    assert after and max(after) <= 0.3 + 1e-9
    assert all(e.t_end <= 3.3 + 1e-9 for e in before)  # sent before GST: delivered by GST + delta


# --- both workloads --------------------------------------------------------------------------------
def test_work_division_runs_asynchronously_and_the_straggler_costs_less() -> None:
    straggler = [FaultSpec(kind="straggler", agent="a1", factor=4.0)]
    spec = work_team(4, p=0.5, seed=2, assignment="self_claim").replace(faults=straggler)
    sync = run_sync(spec)
    asyn = run_sync(spec.replace(execution="asynchronous"))
    assert sync.reason == asyn.reason == "all_tasks_done"
    ends = lambda r: [e for e in r.records if e.kind == "RunEnded"][0].t_end  # noqa: E731
    assert ends(asyn) < ends(sync)  # nobody waits for the straggler at a barrier
    assert time_summary(asyn.events)["stale_reads"][0] >= 0


# --- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"execution": "asynch"}, "'execution' must be one of"),
    ({"execution": "asynchronous", "network": {"delay_s": -1}}, "'network.delay_s' must be a finite number"),
    ({"execution": "asynchronous", "network": {"delay_s": float("inf")}}, "'network.delay_s' must be a finite"),
    ({"execution": "asynchronous", "network": {"mailbox": 0}}, "'network.mailbox' must be an integer >= 1"),
    ({"execution": "asynchronous", "network": {"jitter": 9}}, "'network.jitter' must be in [0, 5]"),
    ({"detector": {"timeout_s": 1}}, "'detector' applies to asynchronous teams only"),
    ({"execution": "asynchronous", "detector": {"timeout_s": 1, "heartbeat_s": 2}}, "'detector.heartbeat_s' must be <"),
    ({"execution": "partially_synchronous"}, "'network.gst_s' is required"),
    ({"execution": "asynchronous", "network": {"gst_s": 1, "delta_s": 1}}, "'network.gst_s' needs execution"),
    ({"execution": "asynchronous", "network": {"links": [{"link": ["a0", "a9"], "delay_s": 1}]}},
     "'network.links[0].link' must name agents of the team"),
    ({"execution": "asynchronous", "network": {"links": [{"link": ["a0", "a2"], "delay_s": 1}]}},
     "'network.links[0].link' must be a link of the topology"),
])
def test_bad_asynchronous_specs_name_the_field(changes, message) -> None:
    with pytest.raises(SpecError) as err:
        team(5, topology="ring").replace(**changes)
    assert message in str(err.value)


@pytest.mark.parametrize("profile, message", [
    ({"recipients": ("a2",)}, "'agents[0].recipients' must name out-neighbours of 'a0'"),
    ({"recipients": ("zz",)}, "'agents[0].recipients' must name agents of the team"),
    ({"fanout": 3}, "'agents[0].fanout' must be <= the 2 out-neighbours of 'a0'"),
    ({"fanout": 0}, "'agents[0].fanout' must be an integer >= 1"),
])
def test_bad_addressing_names_the_field(profile, message) -> None:
    with pytest.raises(SpecError) as err:
        team(5, topology="ring", **profile)
    assert message in str(err.value)
