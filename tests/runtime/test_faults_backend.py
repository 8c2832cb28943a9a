"""Backend faults go through the engine's real error path and the declared failure policy."""

from __future__ import annotations

import asyncio
import json

import pytest

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import RateLimitedError, RunFailedError
from llmteams_lab.spec import FailurePolicySpec, FaultSpec, TeamSpec
from tests.support import no_stop, of, run_all

RATE_LIMIT_A1_R2 = FaultSpec(kind="rate_limit", agent="a1", at_round=2)


def mock_team(rounds: int = 3, **policy) -> TeamSpec:
    spec = no_stop(team(4, backend="mock", max_rounds=rounds))
    return spec.replace(failure_policy=FailurePolicySpec(**policy)) if policy else spec


@pytest.mark.parametrize("kind, recorded", [("timeout", "timeout"), ("rate_limit", "rate_limited"),
                                            ("server_error", "server_error"), ("malformed", "malformed"),
                                            ("empty", "empty")])
def test_each_backend_fault_is_recorded_as_an_agent_failure(kind: str, recorded: str) -> None:
    spec = mock_team().replace(faults=[FaultSpec(kind=kind, agent="a1", at_round=2)])
    backend = MockBackend(latency_s=1.0)
    run, events = run_all(spec, backend)
    failed = of(events, "AgentFailed")
    assert [(e.agent, e.round, e.fault) for e in failed] == [("a1", 2, recorded)]
    assert "injected" in failed[0].detail
    assert not of(events, "AgentReplied", agent="a1", round=2) and not of(events, "MessageSent", agent="a1", round=2)
    assert not [c for c in backend.calls if c.agent == "a1" and c.round == 2]  # failed at the boundary
    took = 10.0 if kind == "timeout" else 0.2
    assert failed[0].t_end - failed[0].t_start == pytest.approx(took)
    round2 = of(events, "RoundEnded", round=2)[0]
    assert round2.t_end - round2.t_start == pytest.approx(max(took, 1.0))


def test_skip_keeps_the_last_answer_and_abstain_withdraws_it() -> None:
    skip_run, _ = run_all(mock_team(rounds=2).replace(faults=[RATE_LIMIT_A1_R2]), MockBackend())
    assert skip_run.state()["a1"]["answer"] == skip_run.question.answer
    spec = mock_team(rounds=2, on_error="abstain").replace(faults=[RATE_LIMIT_A1_R2])
    run, events = run_all(spec, MockBackend())
    assert run.state()["a1"]["answer"] is None
    assert [e.fault for e in of(events, "AgentFailed")] == ["rate_limited"]


def test_stop_fails_the_run_and_keeps_every_event() -> None:
    spec = mock_team(rounds=4, on_error="stop").replace(faults=[FaultSpec(kind="timeout", agent="a2", at_round=3)])

    async def main():
        run = Run(spec, backends=MockBackend())
        await run.step()
        await run.step()
        with pytest.raises(RunFailedError, match=r"round 3: a2 \(timeout\) failed and the failure policy is 'stop'"):
            await run.step()
        with pytest.raises(RunFailedError):
            await run.step()
        await run.aclose()
        return run

    run = asyncio.run(main())
    events = run.events
    assert run.status == "closed" and run.end_reason == "failure_policy_stop"
    assert [e.kind for e in events[-2:]] == ["AgentReplied", "RunEnded"]
    assert events[-1].detail == "failure_policy_stop" and events[-1].round == 3
    assert of(events, "AgentFailed", agent="a2", round=3, fault="timeout")
    assert len(of(events, "RoundEnded")) == 2


def test_retry_with_backoff_succeeds_after_transient_failures() -> None:
    seen: dict[tuple[int, str], int] = {}

    def flaky(request):
        key = (request.round, request.agent)
        seen[key] = seen.get(key, 0) + 1
        if request.agent == "a1" and request.round == 2 and seen[key] <= 2:
            return RateLimitedError("429 from the scripted server", latency_s=0.5)
        return None

    spec = mock_team(rounds=2, on_error="retry", retries=3, backoff_s=1.0)
    run, events = run_all(spec, MockBackend(flaky, latency_s=0.25))
    retried = of(events, "AgentRetried")
    t0 = of(events, "RoundStarted", round=2)[0].t_start
    assert [(e.agent, e.round, e.fault, json.loads(e.detail)["attempt"], json.loads(e.detail)["backoff_s"])
            for e in retried] == [("a1", 2, "rate_limited", 1, 1.0), ("a1", 2, "rate_limited", 2, 2.0)]
    assert [(e.t_start - t0, e.t_end - t0) for e in retried] == [(0.0, 0.5), (1.5, 2.0)]
    reply = of(events, "AgentReplied", agent="a1", round=2)[0]
    assert reply.t_start == t0 and reply.t_end - reply.t_start == pytest.approx(0.5 + 1.0 + 0.5 + 2.0 + 0.25)
    assert not of(events, "AgentFailed")
    assert seen[(2, "a1")] == 3


def test_retries_exhausted_fall_back_to_the_declared_outcome() -> None:
    spec = mock_team(rounds=3, on_error="retry", retries=2, backoff_s=0.5, after_retries="abstain").replace(
        faults=[FaultSpec(kind="server_error", agent="a3", at_round=2)])
    run, events = run_all(spec, MockBackend())
    assert [json.loads(e.detail)["attempt"] for e in of(events, "AgentRetried", agent="a3")] == [1, 2]
    failed = of(events, "AgentFailed", agent="a3")
    assert [(e.round, e.fault) for e in failed] == [(2, "server_error")]
    assert failed[0].t_end - failed[0].t_start == pytest.approx(0.2 + 0.5 + 0.2 + 1.0 + 0.2)
    assert of(events, "AgentReplied", agent="a3", round=3)  # back the next round


def test_probabilistic_backend_faults_are_seeded_per_attempt() -> None:
    spec = mock_team(rounds=6, on_error="retry", retries=2, backoff_s=0.1).replace(
        faults=[FaultSpec(kind="timeout", probability=0.5, extra_s=1.0)], seed=7)
    _, first = run_all(spec, MockBackend())
    _, again = run_all(spec, MockBackend())
    assert first == again
    assert of(first, "AgentRetried") and of(first, "AgentReplied")


def test_backend_faults_work_on_batched_simulated_agents() -> None:
    spec = no_stop(team(4, max_rounds=3, seed=1)).replace(
        faults=[FaultSpec(kind="timeout", agent="a0", at_round=2)],
        failure_policy=FailurePolicySpec(on_error="retry", retries=1, backoff_s=2.0))
    run, events = run_all(spec)
    assert run.groups[0].batched
    assert [(e.round, e.fault) for e in of(events, "AgentRetried", agent="a0")] == [(2, "timeout")]
    failed = of(events, "AgentFailed", agent="a0")
    assert [(e.round, pytest.approx(e.t_end - e.t_start)) for e in failed] == [(2, 10.0 + 2.0 + 10.0)]
    round2 = of(events, "RoundEnded", round=2)[0]
    assert round2.t_end - round2.t_start == pytest.approx(22.0)
    assert not of(events, "AgentReplied", agent="a0", round=2)
    assert len(of(events, "MessageSent", agent="a0", round=2)) == 0


def test_real_backend_errors_follow_the_same_policy() -> None:
    def script(request):
        return RateLimitedError("429", latency_s=0.1) if request.agent == "a2" else None

    spec = mock_team(rounds=2, on_error="retry", retries=1, backoff_s=0.0)
    _, events = run_all(spec, MockBackend(script))
    assert [(e.agent, e.round) for e in of(events, "AgentRetried")] == [("a2", 1), ("a2", 2)]
    assert [(e.agent, e.fault) for e in of(events, "AgentFailed")] == [("a2", "rate_limited")] * 2


@pytest.mark.parametrize("extra", [{"faults": [FaultSpec(kind="server_error", agent="a1", at_round=2)]},
                                   {"failure_policy": FailurePolicySpec(on_error="retry", retries=2)}])
def test_an_asynchronous_run_of_simulated_agents_stays_on_the_virtual_clock(extra) -> None:
    """The fault wrapper answers for its backend's clock too: a backend fault or a retry
    policy must not turn a simulated run's virtual seconds into real (near-zero) ones."""
    spec = no_stop(team(4, max_rounds=3)).replace(execution="asynchronous", **extra)
    plain = no_stop(team(4, max_rounds=3)).replace(execution="asynchronous")
    _, events = run_all(spec)
    _, reference = run_all(plain)
    first = [e.t_end for e in of(events, "AgentReplied", round=1)]
    assert first == [e.t_end for e in of(reference, "AgentReplied", round=1)]
    assert min(first) > 0.1  # simulated latencies are around latency_s = 1 s
