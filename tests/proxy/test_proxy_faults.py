"""``proxy`` in front of ``serve``: a team through the real ``openai`` client, faults injected on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest

from llmteams_lab.proxy import Proxy
from llmteams_lab.serve import Background, FaultPlan, Server
from tests.serve.servers import openai_team, profile, rows, run_team, serving

ROOT = Path(__file__).resolve().parents[2]
TIMING = ["run_id", "t_start", "t_end"]  # the run id follows the spec, whose URL differs


@contextmanager
def proxied(upstream: str, plan: FaultPlan | None = None):
    proxy = Proxy(upstream, faults=plan)
    with Background(proxy) as url:
        yield proxy, url


def comparable(result) -> pl.DataFrame:
    """Events without timing, the run id and the (ephemeral) port in error messages."""
    events = result.events.filter(pl.col("kind") != "RunStarted").drop(TIMING)
    return events.with_columns(pl.col("detail").str.replace_all(r"127\.0\.0\.1:\d+", "HOST"))


def test_a_clean_proxy_is_invisible_to_the_team() -> None:
    with serving(competence=0.5) as (server, url), proxied(url) as (proxy, via):
        direct = run_team(openai_team(url, 4, seed=3, max_rounds=3))
        relayed = run_team(openai_team(via, 4, seed=3, max_rounds=3))
    assert via.endswith("/v1") and via != url
    assert comparable(relayed).equals(comparable(direct))
    assert proxy.requests == server.stats.requests // 2 and proxy.statuses == {200: proxy.requests}


def test_injected_faults_reach_the_backend_as_errors_and_retries() -> None:
    plan = FaultPlan()
    plan.add("rate_limit", agent="a0", retry_after_s=0.002)
    plan.add("truncated", agent="a1")
    plan.add("reset", agent="a2")
    plan.add("server_error", agent="a3", status=503)
    plan.add("slow_reply", agent="a4", wait_s=0.01)
    with serving(competence=1.0) as (_, url), proxied(url, plan) as (proxy, via):
        result = run_team(openai_team(via, 5, seed=1, max_rounds=1))
    seen = {(r["agent"], r["kind"], r["fault"]) for r in
            rows(result, "AgentRetried", "AgentFailed").iter_rows(named=True)}
    assert seen == {("a0", "AgentRetried", "rate_limited"), ("a1", "AgentFailed", "malformed"),
                    ("a2", "AgentRetried", "server_error"), ("a3", "AgentRetried", "server_error")}
    assert sorted(rows(result, "AgentReplied")["agent"]) == ["a0", "a2", "a3", "a4"]
    assert proxy.faults.fired == {"rate_limit": 1, "truncated": 1, "reset": 1, "server_error": 1, "slow_reply": 1}


def test_probabilistic_faults_are_reproducible_for_the_same_seed() -> None:
    def once():
        plan = FaultPlan([{"kind": "server_error", "probability": 0.4, "times": None}], seed=5)
        with proxied(url, plan) as (proxy, via):
            return run_team(openai_team(via, 6, seed=2, max_rounds=3, endpoint={"max_retries": 1})), proxy

    with serving(competence=0.6) as (_, url):
        (first, p1), (second, p2) = once(), once()
    assert p1.faults.fired["server_error"] > 0 and p1.faults.fired == p2.faults.fired
    assert comparable(first).equals(comparable(second))


def test_streams_and_the_clients_key_pass_through() -> None:
    secret = "sk-proxy-test-" + "k" * 20
    with serving(Server(profile(competence=1.0), api_key=secret)) as (_, url), proxied(url) as (_, via):
        os.environ["LLMTEAMS_PROXY_TEST_KEY"] = secret
        try:
            ok = run_team(openai_team(via, 2, seed=1, endpoint={"stream": True,
                                                                   "api_key_env": "LLMTEAMS_PROXY_TEST_KEY"}))
        finally:
            del os.environ["LLMTEAMS_PROXY_TEST_KEY"]
        refused = run_team(openai_team(via, 2, seed=1))
    assert ok.correct is True and rows(ok, "AgentReplied").height == 2
    assert refused.reason == "auth_failed"


def test_an_unreachable_upstream_is_a_502_server_error() -> None:
    with serving() as (_, url):
        dead = url  # stopped below: nothing listens there any more
    with proxied(dead) as (proxy, via):
        result = run_team(openai_team(via, 1, seed=1, max_rounds=1, endpoint={"max_retries": 1}))
    failed = rows(result, "AgentFailed").row(0, named=True)
    assert failed["fault"] == "server_error" and failed["detail"].startswith("HTTP 502 from")
    assert "could not reach the upstream" in failed["detail"] and proxy.statuses == {502: 2}


def test_the_proxy_command_relays_to_its_upstream(tmp_path) -> None:
    schedule = tmp_path / "faults.toml"
    schedule.write_text('[[faults]]\nkind = "server_error"\nstatus = 504\ntimes = 1\n')
    with serving(competence=1.0) as (server, url):
        proc = subprocess.Popen([sys.executable, "-m", "llmteams_lab.cli", "proxy", "--upstream", url, "--port", "0",
                                 "--faults", str(schedule)], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            line = proc.stdout.readline()
            assert line.startswith(f"proxying to {url} on http://127.0.0.1:")
            via = line.rsplit(" on ", 1)[1].strip()
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(via + "/models", timeout=10)
            err.value.close()
            with urllib.request.urlopen(via + "/models", timeout=10) as response:
                assert json.loads(response.read())["data"][0]["id"] == "llmteams-sim"
            with urllib.request.urlopen(via.removesuffix("/v1") + "/_admin/stats", timeout=10) as response:
                stats = json.loads(response.read())
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()
    assert err.value.code == 504
    assert stats["statuses"] == {"200": 1, "504": 1} and stats["faults_fired"] == {"server_error": 1}
