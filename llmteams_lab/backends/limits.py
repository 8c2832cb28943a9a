"""The limiter: an endpoint key's concurrency, requests-per-minute and tokens-per-minute
limits, kept by waiting (level 3; the limits are ``spec.limits``).

One piece of arithmetic, two clocks. :class:`Rates` holds the two token buckets (one for
requests, one for tokens) and answers "how long until a request of n tokens may go?"; it
never reads a clock — time is passed in. So the same code runs

* in real time, inside the ``openai`` backend (:class:`Limiter`): ``await admit(tokens)``
  waits for a free slot and for the buckets, requests go through in arrival order
  (first come, first served — a large request is never overtaken), ``release()`` frees
  the slot when the response is in; clock and sleep are injectable, so tests never sleep;
* on a run's virtual clock, for simulated agents (:class:`VirtualLimiter`): ``admit(t,
  tokens, seconds)`` returns when a call asked for at ``t`` may start, given the calls
  already admitted and how long each holds its slot. :class:`VirtualLimits` applies it
  to a round's replies (``runtime.dispatch``): a reply's latency grows by its wait,
  whose start is put on the run clock's microsecond grid (rounded up, never early).

Every call that waited is reported as a :class:`Wait` (``take_waits()``), which the
engine logs as a ``CallThrottled`` event: the agent, the wait's span on the run's clock,
the limit that held it (``value``: ``concurrent``, ``rpm``, ``tpm`` or ``queue``) and the
tokens the call was charged (``detail``).

A bucket of rate ρ per second and capacity b starts full; a request of n takes n from it
once it holds min(n, b) — so one request larger than the bucket waits for a full bucket
and leaves it in debt, which later requests wait out. Whatever the pattern of requests,
what is admitted in any interval of T seconds is then at most max(b, n_max) + ρ·T, and
never more than ``concurrent`` calls are in flight — the guarantees the property tests
check (``tests/backends/test_limits.py``).

Why a token bucket (and not a window count): it is what providers describe (capacity
refilled continuously, not reset each minute), it needs O(1) state, and its admission
cost is a few float operations — ``bench/limiter.py`` measures it per call.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

import numpy as np

from llmteams_lab.events import define_event, on_time_grid
from llmteams_lab.spec.limits import RateLimitSpec

__all__ = ["CallThrottled", "Limiter", "Rates", "TokenBucket", "VirtualLimiter", "VirtualLimits", "Wait"]

CallThrottled = define_event("CallThrottled", "A call waited for its endpoint's limits before it went: ``value`` "
                             "names the limit that held it (concurrent, rpm, tpm, or queue — behind an earlier "
                             "call), ``t_start``..``t_end`` the wait, ``detail`` the tokens it was charged.")


@dataclass(frozen=True)
class Wait:
    """A call that waited for the limits: offsets in seconds from the call's start."""

    agent: str
    start_s: float
    wait_s: float
    held_by: str | None
    tokens: int


_SLACK = 1e-9  # units: a shortfall below this is rounding, not a limit


class TokenBucket:
    """``rate`` units a second into a bucket of ``capacity`` (full at ``now``)."""

    __slots__ = ("rate", "capacity", "level", "stamp")

    def __init__(self, rate: float, capacity: float, now: float = 0.0):
        self.rate, self.capacity, self.level, self.stamp = rate, capacity, capacity, now

    def delay(self, amount: float, now: float) -> float:
        """Seconds from ``now`` until ``amount`` may be taken (0: at once)."""
        level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        short = min(amount, self.capacity) - level
        return short / self.rate if short > _SLACK else 0.0  # a float's rounding is no reason to wait

    def take(self, amount: float, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate) - amount
        self.stamp = now


class Rates:
    """The requests and tokens buckets of one key (either may be absent)."""

    __slots__ = ("requests", "tokens")

    def __init__(self, spec: RateLimitSpec, now: float = 0.0):
        self.requests = _bucket(spec.rpm, spec.burst_s, now, at_least=1.0)
        self.tokens = _bucket(spec.tpm, spec.burst_s, now, at_least=1.0)

    def delay(self, tokens: int, now: float) -> tuple[float, str | None]:
        """Seconds until a request of ``tokens`` may go, and the limit that holds it."""
        wait, which = 0.0, None
        if self.requests is not None:
            wait = self.requests.delay(1, now)
            which = "rpm" if wait > 0 else None
        if self.tokens is not None:
            more = self.tokens.delay(tokens, now)
            if more > wait:
                wait, which = more, "tpm"
        return wait, which

    def take(self, tokens: int, now: float) -> None:
        if self.requests is not None:
            self.requests.take(1, now)
        if self.tokens is not None:
            self.tokens.take(tokens, now)


def _bucket(per_minute: float | None, burst_s: float, now: float, *, at_least: float) -> TokenBucket | None:
    if per_minute is None:
        return None
    rate = per_minute / 60.0
    return TokenBucket(rate, max(at_least, rate * burst_s), now)


class Limiter:
    """The limits in real time, for one endpoint key (see the module docstring).

    ``clock`` (seconds, monotonic) and ``sleep`` are injectable for tests. Not
    thread-safe: one limiter belongs to one event loop, like the backend holding it."""

    def __init__(self, spec: RateLimitSpec, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.spec = spec
        self.clock, self.sleep = clock, sleep
        self.rates = Rates(spec, clock())
        self.in_flight = 0
        self._turn: asyncio.Lock | None = None  # first come, first served
        self._freed: asyncio.Event | None = None

    async def admit(self, tokens: int) -> tuple[float, str | None]:
        """Wait until a request of ``tokens`` may go; returns the seconds waited and the
        limit that held it last, which decided when it went — ``concurrent``, ``rpm`` or
        ``tpm``, or ``queue`` when only earlier requests held it, themselves waiting
        (``None``: it went at once). Pair with :meth:`release`."""
        if self._turn is None:
            self._turn, self._freed = asyncio.Lock(), asyncio.Event()
        started = self.clock()
        binding = "queue" if self._turn.locked() else None  # behind an earlier request the limits hold
        async with self._turn:
            while True:
                if self.spec.concurrent is not None and self.in_flight >= self.spec.concurrent:
                    held, before = binding, self.clock()
                    self._freed.clear()
                    await self._freed.wait()
                    # a slot freed at the very instant it began waiting did not hold it (the
                    # calls ending then just ran first): as on the virtual clock
                    binding = held if self.clock() <= before else "concurrent"
                    continue
                now = self.clock()
                wait, which = self.rates.delay(tokens, now)
                if wait <= 0:
                    break
                binding = which
                await self.sleep(wait)
            self.rates.take(tokens, self.clock())
            self.in_flight += 1
        waited = self.clock() - started
        if binding is None or waited <= 0:  # it went at once (a slot freed at the same instant is no wait)
            return 0.0, None
        return waited, binding

    def release(self) -> None:
        """A request admitted by :meth:`admit` is over (its response is in, or it failed)."""
        self.in_flight -= 1
        if self._freed is not None:
            self._freed.set()


class VirtualLimiter:
    """The same limits on a run's virtual clock: calls are admitted in the order they are
    asked for (times never decrease), each holding its slot for its own duration.
    ``grid``: start times are rounded up to whole microseconds (the run clock's grid)."""

    def __init__(self, spec: RateLimitSpec, *, grid: bool = False):
        self.spec = spec
        self.grid = grid
        self.rates = Rates(spec, 0.0)
        self._ends: list[float] = []  # when the admitted calls in flight end (a heap)
        self._last = 0.0  # first come, first served: no call starts before an earlier one

    def admit(self, t: float, tokens: int, seconds: float) -> tuple[float, str | None]:
        """When a call asked for at ``t``, charged ``tokens`` and lasting ``seconds``
        once started, may start, and the limit that held it last (as :meth:`Limiter.admit`)."""
        start, binding = max(t, self._last), None
        if start > t:
            binding = "queue"
        ends = self._ends
        while ends and ends[0] <= start:
            heapq.heappop(ends)
        if self.spec.concurrent is not None and len(ends) >= self.spec.concurrent:
            start, binding = heapq.heappop(ends), "concurrent"
            while ends and ends[0] <= start:
                heapq.heappop(ends)
        wait, which = self.rates.delay(tokens, start)
        if wait > 0:
            start += wait
            binding = which
        if self.grid:
            start = _grid_up(start)
        self.rates.take(tokens, start)
        heapq.heappush(ends, start + seconds)
        self._last = start
        return start, binding if start > t else None


def _grid_up(seconds: float) -> float:
    """``seconds`` rounded up to whole microseconds (a float's noise below a thousandth of
    a microsecond is not rounded up)."""
    ticks = math.ceil(seconds * 1_000_000 - 1e-3)
    return ticks / 1_000_000


class VirtualLimits:
    """A team's endpoint limits kept by its simulated agents, on the run's clock.

    :meth:`hold` takes a round's replies (in agent order: the order the calls are made)
    and delays each by what the limiter makes it wait — charged its tokens in and out and
    holding its slot for its latency. One instance per run: every simulated agent of the
    team shares the key."""

    def __init__(self, spec: RateLimitSpec, ids: Sequence[str]):
        self.limiter = VirtualLimiter(spec, grid=True)
        self.ids = list(ids)
        self._waits: list[Wait] = []

    def hold(self, slots: Any, agents: Sequence[int], t0: float) -> None:
        """Delay the replies of ``agents`` (round slots: ``latency``, ``tokens_in``,
        ``tokens_out``, ``replied``) asked for at ``t0``; failed calls hold nothing."""
        if not agents:
            return
        idx = np.asarray(agents, dtype=np.int64)  # columns read once: indexing numpy per agent costs more
        replied, latency = slots.replied[idx].tolist(), slots.latency[idx].tolist()
        charged = (slots.tokens_in[idx] + slots.tokens_out[idx]).tolist()
        admit = self.limiter.admit
        for i, ok, seconds, tokens in zip(agents, replied, latency, charged):
            if not ok:
                continue
            start, held = admit(t0, tokens, seconds)
            if start > t0:
                wait = on_time_grid(start - t0)
                slots.latency[i] = on_time_grid(wait + seconds)
                self._waits.append(Wait(self.ids[i], 0.0, wait, held, tokens))

    def take_waits(self) -> list[Wait]:
        taken, self._waits = self._waits, []
        return taken
