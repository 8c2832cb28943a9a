"""The limiter never exceeds its limits, waits no more than it must, and the real-time and
virtual-time limiters admit the same calls at the same times (an injectable clock: no
real sleeps)."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import SpecError
from llmteams_lab.backends.limits import Limiter, TokenBucket, VirtualLimiter
from llmteams_lab.spec import RateLimitSpec

EPS = 1e-6


class FakeTime:
    """A clock and a sleep on virtual time, driven by :meth:`drive`: whenever every task
    is blocked, time jumps to the earliest timer."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list = []
        self._count = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(seconds, 0.0), next(self._count), future))
        await future

    async def drive(self, tasks: list[asyncio.Task]) -> None:
        while not all(t.done() for t in tasks):
            for _ in range(30):  # let every runnable task run until it blocks
                await asyncio.sleep(0)
            if self._timers:
                self.now, _, future = heapq.heappop(self._timers)
                future.set_result(None)
            elif not all(t.done() for t in tasks):
                raise AssertionError("the limiter deadlocked: tasks blocked with no timer pending")
        for t in tasks:
            t.result()


Call = tuple[float, int, float]  # (arrival, tokens, duration)


def run_real_time(spec: RateLimitSpec, calls: list[Call]) -> list[tuple[float, float, str | None]]:
    """(admitted, ended, binding) of each call through the asyncio limiter on fake time."""
    async def main() -> list:
        time = FakeTime()
        limiter = Limiter(spec, clock=time.clock, sleep=time.sleep)
        out: list = [None] * len(calls)

        async def call(i: int, arrival: float, tokens: int, duration: float) -> None:
            await time.sleep(arrival - time.now)
            _, binding = await limiter.admit(tokens)
            admitted = time.now
            await time.sleep(duration)
            limiter.release()
            out[i] = (admitted, time.now, binding)

        tasks = [asyncio.ensure_future(call(i, *c)) for i, c in enumerate(calls)]
        await time.drive(tasks)
        return out

    return asyncio.run(main())


def run_virtual(spec: RateLimitSpec, calls: list[Call], grid: bool = False) -> list[tuple[float, float, str | None]]:
    limiter = VirtualLimiter(spec, grid=grid)
    out = []
    for arrival, tokens, duration in calls:
        start, binding = limiter.admit(arrival, tokens, duration)
        out.append((start, start + duration, binding))
    return out


def check_limits(spec: RateLimitSpec, calls: list[Call], admitted: list[tuple[float, float, str | None]]) -> None:
    starts = [a for a, _, _ in admitted]
    # first come, first served, and never before it was asked for
    assert all(s >= c[0] - EPS for s, c in zip(starts, calls))
    assert all(b >= a - EPS for a, b in zip(starts, starts[1:]))
    if spec.concurrent is not None:  # never more in flight than allowed
        for s, _, _ in admitted:
            inside = sum(1 for a, e, _ in admitted if a <= s + EPS and e > s + EPS)
            assert inside <= spec.concurrent
    for per_minute, charge in ((spec.rpm, lambda c: 1), (spec.tpm, lambda c: c[1])):
        if per_minute is None:
            continue
        rate = per_minute / 60
        capacity = max(1.0, rate * spec.burst_s, max(charge(c) for c in calls))
        for i, j in itertools.combinations_with_replacement(range(len(calls)), 2):
            window = starts[j] - starts[i]
            used = sum(charge(calls[k]) for k in range(i, j + 1))
            assert used <= capacity + rate * window + 1e-6, (i, j, used, capacity, rate, window)


limits = st.builds(RateLimitSpec, concurrent=st.none() | st.integers(1, 4),
                   rpm=st.none() | st.sampled_from([6.0, 30.0, 60.0, 600.0]),
                   tpm=st.none() | st.sampled_from([600.0, 6_000.0, 60_000.0]),
                   burst_s=st.sampled_from([0.5, 1.0, 10.0, 60.0]))
patterns = st.lists(st.tuples(st.floats(0, 3), st.integers(1, 3_000), st.floats(0.01, 5)), min_size=1, max_size=25)


def arrivals(pattern: list) -> list[Call]:
    t, calls = 0.0, []
    for gap, tokens, duration in pattern:
        t += gap
        calls.append((t, tokens, duration))
    return calls


@settings(max_examples=120, deadline=None)
@given(spec=limits, pattern=patterns)
def test_the_virtual_limiter_never_exceeds_its_limits(spec: RateLimitSpec, pattern: list) -> None:
    calls = arrivals(pattern)
    check_limits(spec, calls, run_virtual(spec, calls))


@settings(max_examples=60, deadline=None)
@given(spec=limits, pattern=patterns)
def test_on_the_run_clocks_grid_calls_start_on_whole_microseconds_within_the_limits(spec: RateLimitSpec,
                                                                                     pattern: list) -> None:
    calls = arrivals(pattern)
    admitted = run_virtual(spec, calls, grid=True)
    check_limits(spec, calls, admitted)
    exact = run_virtual(spec, calls)
    for (start, _, _), (unrounded, _, _) in zip(admitted, exact):
        assert start * 1_000_000 == pytest.approx(round(start * 1_000_000), abs=1e-6)
        assert start >= unrounded - 1e-9  # rounded up, never early


@settings(max_examples=60, deadline=None)
@given(spec=limits, pattern=patterns)
def test_the_real_time_limiter_keeps_the_limits_and_admits_as_the_virtual_one(spec: RateLimitSpec,
                                                                              pattern: list) -> None:
    calls = arrivals(pattern)
    real = run_real_time(spec, calls)
    check_limits(spec, calls, real)
    virtual = run_virtual(spec, calls)
    assert [a for a, _, _ in real] == pytest.approx([a for a, _, _ in virtual], abs=1e-6)
    assert [b for _, _, b in real] == [b for _, _, b in virtual]


def test_a_call_goes_at_once_when_nothing_holds_it() -> None:
    spec = RateLimitSpec(concurrent=2, rpm=120, tpm=6_000)  # buckets of 2 requests and 100 tokens
    assert run_virtual(spec, [(0.0, 10, 1.0), (0.5, 10, 1.0)]) == [(0.0, 1.0, None), (0.5, 1.5, None)]


def test_known_waits() -> None:
    """rpm 60, a bucket of one request: calls asked for at 0 go at 0, 1, 2 (each held
    last by rpm); two slots of 3 s: the third call waits for the first to end; behind a
    call waiting for tokens, a small call is held by the queue alone."""
    spec = RateLimitSpec(rpm=60)
    got = run_virtual(spec, [(0.0, 1, 0.1)] * 3)
    assert [(a, b) for a, _, b in got] == [(0.0, None), (1.0, "rpm"), (2.0, "rpm")]
    spec = RateLimitSpec(tpm=600)  # 10 tokens a second
    got = run_virtual(spec, [(0.0, 10, 0.1), (0.0, 10, 0.1), (0.5, 0, 0.1)])
    assert [(a, b) for a, _, b in got] == [(0.0, None), (1.0, "tpm"), (1.0, "queue")]
    spec = RateLimitSpec(concurrent=2)
    got = run_virtual(spec, [(0.0, 1, 3.0)] * 3)
    assert [(a, b) for a, _, b in got] == [(0.0, None), (0.0, None), (3.0, "concurrent")]
    # a request larger than the tokens bucket waits for a full bucket and leaves it in debt
    spec = RateLimitSpec(tpm=600)  # 10 tokens a second, a bucket of 10
    got = run_virtual(spec, [(0.0, 30, 0.1), (0.0, 10, 0.1)])
    assert [a for a, _, _ in got] == [0.0, 3.0]  # 30 taken at 0: -20; back to 10 at 3 s


def test_a_bucket_refills_at_its_rate_up_to_its_capacity() -> None:
    bucket = TokenBucket(rate=2.0, capacity=4.0)
    bucket.take(4, 0.0)
    assert bucket.delay(1, 0.0) == 0.5 and bucket.delay(10, 0.0) == 2.0  # capped at a full bucket
    assert bucket.delay(4, 100.0) == 0.0


@pytest.mark.parametrize(("fields", "message"), [
    ({"rpm": -5}, "'rpm' must be a number > 0 (got -5)"),
    ({"tpm": 0}, "'tpm' must be a number > 0 (got 0)"),
    ({"concurrent": 0}, "'concurrent' must be an integer >= 1 (got 0)"),
    ({"burst_s": -1.0}, "'burst_s' must be a number > 0 (got -1.0)"),
])
def test_bad_limits_name_the_field(fields: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        RateLimitSpec(**fields)
    assert str(err.value) == message


@pytest.mark.parametrize(("data", "message"), [
    ({"size": 2, "endpoint": {"limits": {"rpm": -60}}}, "'endpoint.limits.rpm' must be a number > 0 (got -60)"),
    ({"size": 2, "endpoint": {"limits": {"tpm": "lots"}}}, "'endpoint.limits.tpm' must be a number > 0 (got 'lots')"),
    ({"size": 2, "endpoint": {"limits": {"rps": 1}}},
     "'endpoint.limits.rps' is not a known field; expected one of ['burst_s', 'concurrent', 'rpm', 'tpm']"),
    ({"size": 2, "endpoint": {"limits": 5}}, "'endpoint.limits' must be a table/mapping (got 5)"),
])
def test_a_teams_bad_limits_name_their_path_in_the_spec(data: dict, message: str) -> None:
    from llmteams_lab.spec import TeamSpec

    with pytest.raises(SpecError) as err:
        TeamSpec.from_dict(data)
    assert str(err.value) == message
