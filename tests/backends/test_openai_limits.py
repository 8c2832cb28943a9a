"""The openai backend keeps its endpoint's limits, through the real ``openai`` client
against ``serve`` on 127.0.0.1: never more requests in flight than the key allows (the
server counts them), every call that waited is a ``CallThrottled`` event, and a team
keeping a provider's rate meets none of the 429s the proxy's rate limit gives without."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Iterator

import polars as pl

from llmteams_lab.backends.openai import OpenAIBackend
from llmteams_lab.proxy import Proxy
from llmteams_lab.serve import Background, FaultPlan, FaultRule
from llmteams_lab.spec import RateLimitSpec
from tests.serve.servers import openai_team, rows, run_team, serving


def test_a_team_never_has_more_requests_in_flight_than_its_key_allows() -> None:
    with serving(latency_s=0.05) as (server, url):
        spec = openai_team(url, 6, seed=1, max_rounds=1, endpoint={"limits": {"concurrent": 2}})
        result = run_team(spec.replace(concurrency=6))
    assert server.stats.requests == 6 and server.stats.statuses == {200: 6}
    assert server.stats.peak_in_flight == 2  # the run's own bound (6) is not what held it
    waits = rows(result, "CallThrottled")
    # all six calls are asked for at once: the four beyond the two slots wait
    assert waits.height == 4 and set(waits["value"].to_list()) <= {"concurrent", "queue"}
    assert (waits["t_end"] > waits["t_start"]).all()
    replies = rows(result, "AgentReplied").select("agent", latency=pl.col("t_end") - pl.col("t_start"))
    waited = waits.select("agent", wait=pl.col("t_end") - pl.col("t_start")).join(replies, on="agent")
    assert (waited["latency"] >= waited["wait"] - 1e-6).all()  # a reply's latency includes its wait
    for row in waits.iter_rows(named=True):  # charged its estimated prompt plus its completion cap
        assert json.loads(row["detail"])["tokens"] > spec.endpoint.max_tokens


def test_without_limits_nothing_waits() -> None:
    with serving() as (server, url):
        result = run_team(openai_team(url, 4, seed=1, max_rounds=1))
    assert rows(result, "CallThrottled").is_empty()
    assert OpenAIBackend(openai_team(url, 2)).limiter is None


def test_requests_per_minute_hold_calls_until_the_bucket_has_one() -> None:
    """120 requests a minute with a bucket of one: three calls asked at once go ~0.5 s apart."""
    with serving() as (server, url):
        spec = openai_team(url, 3, seed=1, max_rounds=1, endpoint={"limits": {"rpm": 120, "burst_s": 0.5}})
        result = run_team(spec)
    assert server.stats.requests == 3
    waits = rows(result, "CallThrottled")
    assert waits.height == 2 and set(waits["value"].to_list()) <= {"rpm", "queue"}
    assert sorted((waits["t_end"] - waits["t_start"]).to_list())[-1] >= 0.5  # the last waited two refills


@contextmanager
def provider(upstream: str, rpm: float, burst_s: float) -> Iterator[tuple[Proxy, str]]:
    """The proxy in front of ``upstream``, limiting requests per minute as a provider does."""
    proxy = Proxy(upstream, faults=FaultPlan([FaultRule("rate_limit", rpm=rpm, burst_s=burst_s)]))
    with Background(proxy) as url:
        yield proxy, url


def test_the_limiter_avoids_the_429s_a_providers_limit_gives_a_team_without_it() -> None:
    """A provider allowing 240 requests a minute, two at once (the proxy's rate-limit
    rule); six agents asking at once. Without limits the team meets 429s and retries
    (each an ``AgentRetried``); keeping the same rate with a bucket of one, it meets none."""
    with serving() as (server, url), provider(url, rpm=240, burst_s=0.5) as (proxy, via):
        spec = openai_team(via, 6, seed=1, max_rounds=1, endpoint={"max_retries": 8})
        blind = run_team(spec)
        refused_blind = proxy.faults.fired["rate_limit"]
        time.sleep(0.5)  # the provider's bucket refills
        kept = run_team(spec.replace(endpoint=spec.endpoint.replace(limits=RateLimitSpec(rpm=240, burst_s=0.25))))
        refused_kept = proxy.faults.fired["rate_limit"] - refused_blind
    assert refused_blind >= 1 and rows(blind, "AgentRetried").height == refused_blind
    assert set(rows(blind, "AgentRetried")["fault"].to_list()) == {"rate_limited"}
    assert refused_kept == 0 and rows(kept, "AgentRetried").is_empty()
    assert rows(kept, "CallThrottled").height >= 4  # it waited instead
    assert rows(blind, "AgentReplied").height == rows(kept, "AgentReplied").height == 6
