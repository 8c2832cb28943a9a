"""Property tests of the injector: nothing vanishes, no faults means no change, seeds
reproduce, and live injection equals the scheduled fault."""

from __future__ import annotations

import asyncio
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import Run, spec_from_events, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.spec import FaultSpec, TeamSpec
from llmteams_lab.spec.faults import DOWN_KINDS
from tests.support import no_stop

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FATES = ("MessageDelivered", "MessageDropped", "MessageDelayed")


@st.composite
def fault_lists(draw, n: int, rounds: int, max_size: int = 4) -> list[FaultSpec]:
    ids = [f"a{i}" for i in range(n)]
    agent = st.sampled_from(ids)
    first = st.integers(1, rounds)
    prob = st.sampled_from([None, 0.3, 0.7, 1.0])
    target = st.one_of(st.just({}), agent.map(lambda a: {"agent": a}),
                       st.lists(agent, min_size=2, max_size=2, unique=True).map(lambda p: {"link": p}))
    agent_target = st.one_of(agent.map(lambda a: {"agent": a}),
                             st.lists(agent, min_size=1, max_size=2, unique=True).map(lambda g: {"group": g}))
    network = st.builds(lambda kind, t, p, r: {"kind": kind, **t, "probability": p, "start_round": r},
                        st.sampled_from(["drop", "duplicate", "reorder", "corrupt"]), target, prob, first)
    delay = st.builds(lambda t, d, p: {"kind": "delay", **t, "probability": p, **d}, target,
                      st.one_of(st.integers(1, 2).map(lambda r: {"rounds": r}),
                                st.sampled_from([0.5, 3.0]).map(lambda s: {"extra_s": s})), prob)
    partition = st.builds(lambda split, heal: {"kind": "partition", "groups": [ids[:split]],
                                               **({"heal_round": heal} if heal > 1 else {})},
                          st.integers(1, n - 1), st.integers(1, rounds))
    behaviour = st.builds(lambda kind, t, p, r: {"kind": kind, **t, "probability": p, "start_round": r},
                          st.sampled_from(["byzantine", "equivocator", "sycophant", "stubborn",
                                           "prompt_injection", "timeout", "rate_limit"]), agent_target, prob, first)
    down = st.one_of(st.builds(lambda a, r: {"kind": "crash", "agent": a, "at_round": r}, agent, first),
                     st.builds(lambda a, r: {"kind": "crash_recover", "agent": a, "start_round": r,
                                             "end_round": r}, agent, first),
                     st.builds(lambda a, f: {"kind": "straggler", "agent": a, "factor": f}, agent,
                               st.sampled_from([2.0, 5.0])))
    raw = draw(st.lists(st.one_of(network, delay, partition, behaviour, down), max_size=max_size))
    return [FaultSpec.from_dict({k: v for k, v in f.items() if v is not None}) for f in raw]


@st.composite
def faulty_specs(draw) -> TeamSpec:
    n, rounds = draw(st.integers(3, 5)), draw(st.integers(2, 5))
    spec = no_stop(team(n, backend=draw(st.sampled_from(["mock", "simulated"])), max_rounds=rounds,
                        seed=draw(st.integers(0, 50)), competence=0.5))
    policy = draw(st.sampled_from([{}, {"on_error": "retry", "retries": 1, "backoff_s": 0.5},
                                   {"on_error": "abstain"}]))
    return spec.replace(faults=draw(fault_lists(n, rounds)), failure_policy=policy)


def run_events(spec: TeamSpec, run_id: str | None = None) -> tuple[list, list]:
    """The events and the backend's requests (mock agents) of a run to the end."""
    backend = MockBackend() if spec.agents[0].backend == "mock" else None

    async def main():
        async with Run(spec, backends=backend, run_id=run_id) as run:
            await run.run()
            return list(run.events)

    return asyncio.run(main()), backend.calls if backend else []


def fate_groups(events: list) -> list[tuple]:
    """(MessageSent, [the fate events right after it]) for every message sent."""
    out, i = [], 0
    while i < len(events):
        e = events[i]
        i += 1
        if e.kind != "MessageSent":
            continue
        fates = []
        while i < len(events) and events[i].kind in FATES and events[i].round == e.round \
                and (events[i].agent, events[i].peer) == (e.agent, e.peer) and len(fates) < 16:
            fates.append(events[i])
            i += 1
            if fates[-1].kind == "MessageDropped":
                break
        out.append((e, fates))
    return out


@SETTINGS
@given(faulty_specs())
def test_every_sent_message_is_delivered_dropped_delayed_or_duplicated(spec: TeamSpec) -> None:
    events, calls = run_events(spec)
    pending: Counter = Counter()
    for sent, fates in fate_groups(events):
        assert fates, f"message {sent.agent}->{sent.peer} in round {sent.round} vanished"
        head, copies = fates[0], fates[1:]
        assert head.fault != "duplicate"
        assert all(f.fault == "duplicate" and f.kind != "MessageDropped" for f in copies)
        if head.kind == "MessageDropped":
            assert not copies and head.fault
        for f in fates:
            if f.kind == "MessageDelayed":
                due = int(f.detail.rsplit(" ", 1)[1])
                assert due >= sent.round + 2
                pending[(f.agent, f.peer, due)] += 1
    last = max(e.round for e in events if e.kind == "RoundEnded")
    # a late message is delivered when due — or dropped then, if its receiver is down (crash)
    due_delivered = Counter((e.agent, e.peer, e.round) for e in events
                            if (e.kind == "MessageDelivered" or e.kind == "MessageDropped" and e.fault in DOWN_KINDS)
                            and e.t_start == e.t_end and _arrived_at_round_start(events, e))
    assert due_delivered == Counter({k: v for k, v in pending.items() if k[2] <= last})
    down = {(e.agent, e.round) for e in events if e.kind == "AgentFailed" and e.fault in DOWN_KINDS}
    assert not [e for e in events if e.kind == "MessageDelivered" and (e.peer, e.round) in down]  # lost on arrival
    for call in calls:  # what each agent read is exactly what was recorded as delivered to it
        assert len(call.inbox) == _recorded_inbox(events, call.agent, call.round)


def _arrived_at_round_start(events: list, e) -> bool:
    first_sent = next((x.seq for x in events if x.round == e.round and x.kind == "MessageSent"), None)
    return first_sent is None or e.seq < first_sent


def _recorded_inbox(events: list, agent: str, round: int) -> int:
    return sum(1 for e in events if e.kind == "MessageDelivered" and e.peer == agent and (
        (e.round == round - 1 and not _arrived_at_round_start(events, e))
        or (e.round == round and _arrived_at_round_start(events, e))))


@SETTINGS
@given(st.integers(0, 40), st.sampled_from(["complete", "ring", "star"]), st.sampled_from(["debate", "quorum"]),
       st.sampled_from(["messages", "rounds"]))
def test_faults_that_never_act_leave_the_fault_free_log(seed, topology, protocol, logging) -> None:
    spec = team(5, topology=topology, protocol=protocol, seed=seed, max_rounds=4, competence=0.5, logging=logging)
    plain, _ = run_events(spec)
    idle = [FaultSpec(kind="drop", probability=0.0), FaultSpec(kind="straggler", agent="a1", factor=1.0),
            FaultSpec(kind="byzantine", agent="a2", probability=0.0)]
    if logging == "rounds":
        idle = idle[1:]
    faulted, _ = run_events(spec.replace(faults=idle, failure_policy={"on_error": "retry", "retries": 2}),
                            run_id=plain[0].run_id)
    kept = [e for e in faulted if e.kind != "FaultApplied"]
    assert _jsonl_without_seq(kept[1:]) == _jsonl_without_seq(plain[1:])


def _jsonl_without_seq(events: list) -> str:
    """The log with positions instead of seq numbers (causes point to positions too)."""
    where = {e.seq: i for i, e in enumerate(events)}
    return events_to_jsonl([e._replace(seq=0, cause=None if e.cause is None else where.get(e.cause, -1),
                                       fault=None if e.fault == "straggler" else e.fault) for e in events])


@SETTINGS
@given(faulty_specs())
def test_same_seed_and_same_faults_give_identical_events(spec: TeamSpec) -> None:
    first, _ = run_events(spec)
    again, _ = run_events(TeamSpec.from_json(spec.to_json()))
    assert events_to_jsonl(first) == events_to_jsonl(again)


@SETTINGS
@given(st.data())
def test_live_injection_equals_the_equivalent_scheduled_fault(data) -> None:
    spec = data.draw(faulty_specs())
    n, rounds = len(spec.agents), spec.budgets.max_rounds
    live = [(data.draw(st.integers(0, rounds - 1)), f)
            for f in data.draw(fault_lists(n, rounds, max_size=3))]
    backend = (lambda: MockBackend()) if spec.agents[0].backend == "mock" else (lambda: None)

    async def main():
        run = Run(spec, backends=backend())
        while not run.done:
            for after, fault in live:
                if after == run.round and fault.first_round > run.round:
                    run.inject(fault.replace(at_round=None, start_round=None)
                               if fault.kind not in ("crash_recover", "partition") else fault)
            await run.step()
        await run.aclose()
        logged = list(run.events)
        again = Run(spec_from_events(logged), backends=backend(), run_id=run.run_id)
        await again.run()
        await again.aclose()
        return logged, list(again.events)

    logged, rerun = asyncio.run(main())
    assert events_to_jsonl(logged[1:]) == events_to_jsonl(rerun[1:])
