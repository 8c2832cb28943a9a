"""Failures of a real endpoint, injected by ``serve`` and seen through the real ``openai`` client.

Each becomes our own error and a recorded event: retried attempts (``AgentRetried``,
honouring Retry-After), failures (``AgentFailed`` with the kind), and the run goes on
(or, for a refused key, stops) with every event up to then kept.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.serve.servers import openai_team, rows, run_team, serving


def kinds(result, agent: str) -> list[tuple[int, str, str | None]]:
    agent_rows = rows(result, "AgentReplied", "AgentFailed", "AgentRetried").filter(pl.col("agent") == agent)
    return list(agent_rows.select("round", "kind", "fault").iter_rows())


def test_a_429_is_retried_after_the_servers_retry_after_then_succeeds() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("rate_limit", agent="a1", retry_after_s=0.015)
        result = run_team(openai_team(url, 3, seed=1, endpoint={"backoff_s": 5.0}))  # backoff would be far longer
    assert kinds(result, "a1") == [(1, "AgentRetried", "rate_limited"), (1, "AgentReplied", None)]
    retried = json.loads(rows(result, "AgentRetried")["detail"][0])
    assert retried["attempt"] == 1 and retried["backoff_s"] == pytest.approx(0.015)
    assert "HTTP 429" in retried["error"] and "retry after 0.015 s" in retried["error"]
    assert result.reason == "consensus" and server.stats.statuses == {200: 3, 429: 1}


def test_a_persistent_5xx_exhausts_the_retries_and_the_agent_sits_the_round_out() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("server_error", agent="a0", times=None, status=503)
        result = run_team(openai_team(url, 3, seed=1, max_rounds=2, endpoint={"max_retries": 2}))
    assert kinds(result, "a0") == [(r, kind, "server_error") for r in (1, 2)
                                   for kind in ("AgentRetried", "AgentRetried", "AgentFailed")]
    failed = rows(result, "AgentFailed")["detail"][0]
    assert failed.startswith("HTTP 503 from http://127.0.0.1:") and failed.endswith("(attempt 3 of 3)")
    assert rows(result, "AgentReplied").height == 4  # a1 and a2, both rounds
    assert server.stats.statuses[503] == 6


def test_a_hung_request_times_out_at_the_per_call_deadline() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("timeout", agent="a2", wait_s=5.0)
        result = run_team(openai_team(url, 3, seed=1, endpoint={"timeout_s": 0.2, "max_retries": 0}))
    assert kinds(result, "a2")[0] == (1, "AgentFailed", "timeout")
    assert "within 0.2 s" in rows(result, "AgentFailed")["detail"][0]
    assert rows(result, "AgentReplied").filter(pl.col("round") == 1).height == 2


def test_a_timeout_is_retried_and_the_next_attempt_can_succeed() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("timeout", agent="a0", wait_s=5.0)
        result = run_team(openai_team(url, 2, seed=1, endpoint={"timeout_s": 0.2, "max_retries": 1}))
    assert kinds(result, "a0") == [(1, "AgentRetried", "timeout"), (1, "AgentReplied", None)]


@pytest.mark.parametrize("stream", [False, True])
def test_a_body_that_is_not_json_is_a_malformed_reply_and_not_retried(stream: bool) -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("malformed", agent="a0")
        result = run_team(openai_team(url, 3, seed=1, max_rounds=2, endpoint={"stream": stream}))
    assert kinds(result, "a0")[0] == (1, "AgentFailed", "malformed")
    assert "not valid JSON" in rows(result, "AgentFailed")["detail"][0]
    assert server.stats.requests == 3 + 3 * (result.rounds - 1)


def test_missing_usage_is_estimated_flagged_and_equal_to_the_servers_count() -> None:
    with serving(competence=1.0) as (server, url):
        plain = run_team(openai_team(url, 2, seed=1))
        server.faults.add("no_usage", agent="a1")
        estimated = run_team(openai_team(url, 2, seed=1))
    a, b = (rows(r, "AgentReplied").filter(pl.col("agent") == "a1").row(0, named=True) for r in (plain, estimated))
    assert json.loads(b["detail"]) == {**json.loads(a["detail"]), "usage_estimated": True}
    assert (b["tokens_in"], b["tokens_out"], b["cost_usd"]) == (a["tokens_in"], a["tokens_out"], a["cost_usd"])


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_dropped_connection_is_a_retried_server_error(transport: str) -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("reset", agent="a1", times=1)
        server.faults.add("reset", agent="a2", times=None)
        result = run_team(openai_team(url, 3, seed=1, max_rounds=1,
                                      endpoint={"max_retries": 1, "transport": transport}))
    assert kinds(result, "a1") == [(1, "AgentRetried", "server_error"), (1, "AgentReplied", None)]
    assert kinds(result, "a2") == [(1, "AgentRetried", "server_error"), (1, "AgentFailed", "server_error")]
    assert "the connection was dropped" in rows(result, "AgentFailed")["detail"][0]


def test_a_response_without_choices_is_a_clear_malformed_failure() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("no_choices", agent="a0")
        result = run_team(openai_team(url, 2, seed=1, max_rounds=1))
    assert kinds(result, "a0") == [(1, "AgentFailed", "malformed")]
    assert rows(result, "AgentFailed")["detail"][0] == "the server returned no choices"


def test_prose_instead_of_json_fails_as_malformed_but_its_tokens_are_counted() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("prose", agent="a0")
        result = run_team(openai_team(url, 2, seed=1, max_rounds=1))
    failed = rows(result, "AgentFailed").row(0, named=True)
    assert (failed["fault"], failed["agent"]) == ("malformed", "a0")
    assert failed["tokens_in"] > 0 and failed["tokens_out"] > 0 and failed["cost_usd"] > 0
    assert failed["detail"].startswith("no answer found in the reply")


def test_a_refused_key_stops_the_run_and_keeps_its_events() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("unauthorized", times=None)
        result = run_team(openai_team(url, 3, seed=1, max_rounds=5))
    assert result.reason == "auth_failed" and result.rounds == 1
    assert result.events["kind"].to_list() == ["RunStarted", "RoundStarted"] + ["AgentFailed"] * 3 + \
        ["RoundEnded", "RunEnded"]
    assert set(rows(result, "AgentFailed")["fault"]) == {"auth"}
    assert "the API key in $OPENAI_API_KEY was refused" in rows(result, "AgentFailed")["detail"][0]
    assert server.stats.requests == 3  # never retried


def test_a_server_without_structured_output_falls_back_to_prompt_only_replies() -> None:
    with serving(competence=1.0) as (server, url):
        server.faults.add("reject_structured", times=None)
        result = run_team(openai_team(url, 3, seed=1, max_rounds=1))
        strict = run_team(openai_team(url, 3, seed=1, max_rounds=1, endpoint={"structured": "json_schema"}))
    assert rows(result, "AgentReplied").height == 3 and rows(result, "AgentFailed").height == 0
    assert set(rows(strict, "AgentFailed")["fault"]) == {"backend_error"}
    assert "'response_format' of type 'json_schema' is not supported" in rows(strict, "AgentFailed")["detail"][0]


@pytest.mark.parametrize(("where", "kind"), [("serve", "truncated"), ("serve", "malformed"),
                                             ("proxy", "truncated"), ("proxy", "malformed")])
def test_streamed_replies_cut_short_or_garbled_are_malformed_never_answers(where, kind) -> None:
    """Streams go through the same validation as JSON bodies, plus their own: an event
    that is not JSON, or a stream that ends before its finish_reason (once accepted)."""
    from llmteams_lab.proxy import Proxy
    from llmteams_lab.serve import Background

    with serving(competence=1.0) as (server, url):
        plan = server.faults
        if where == "proxy":
            proxy = Proxy(url)
            plan = proxy.faults
            background = Background(proxy)
            url = background.start()
        try:
            plan.add(kind, times=None)
            result = run_team(openai_team(url, 3, seed=2, max_rounds=1, endpoint={"stream": True, "max_retries": 0}))
        finally:
            if where == "proxy":
                background.stop()
    failed = rows(result, "AgentFailed")
    assert failed["fault"].to_list() == ["malformed"] * 3, failed["detail"].to_list()
    assert rows(result, "AgentReplied").height == 0


def test_replies_in_prose_as_chat_models_write_them_are_read_not_thrown_away() -> None:
    """A server answering every call in prose (six styles): no reply is lost, and each is
    read as the answer and confidence the JSON reply would have given."""
    with serving(competence=0.6) as (server, url):
        plain = run_team(openai_team(url, 6, seed=5, max_rounds=2))
        server.faults.add("chatty", times=None)
        chatty = run_team(openai_team(url, 6, seed=5, max_rounds=2))
    assert rows(chatty, "AgentFailed").height == 0  # a third of these failed before
    columns = ["round", "agent", "value"]
    assert rows(chatty, "AgentReplied").select(columns).equals(rows(plain, "AgentReplied").select(columns))
    confidences = [json.loads(d)["confidence"] for d in rows(chatty, "AgentReplied")["detail"]]
    assert all(0 <= c <= 1 for c in confidences)
