"""Hard budgets through the real ``openai`` client: the bound is a true upper bound, a
server over-reporting usage is flagged and stops the run before its next call, and the
wall-time budget cancels calls hanging at the deadline. Against ``serve`` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time

import polars as pl
import pytest

from llmteams_lab import Run
from llmteams_lab.backends.bounds import prompt_token_bound
from llmteams_lab.workloads.deliberation.codec import render_messages
from tests.serve.servers import openai_team, rows, run_team, serving
from tests.support import no_stop


def tokens(result) -> int:
    used = rows(result, "AgentReplied", "AgentFailed").select(pl.col("tokens_in") + pl.col("tokens_out"))
    return int(used.sum().item() or 0)


def test_the_prompt_bound_holds_for_any_byte_level_tokenizer() -> None:
    """Bytes, not characters: 4-byte characters make a prompt 4x longer in tokens than
    the old 4-characters-per-token estimate assumed."""
    messages = [{"role": "system", "content": "😀" * 100}, {"role": "user", "content": "plain ascii"}]
    assert prompt_token_bound(messages) == 64 + (16 + 6 + 400) + (16 + 4 + 11)


def test_a_server_over_reporting_usage_is_flagged_and_stops_the_run_before_its_next_call() -> None:
    with serving(competence=0.6) as (server, url):
        server.faults.add("overreport", agent="a0", round=2, factor=40)
        spec = no_stop(openai_team(url, 4, seed=2, max_rounds=5)).replace(concurrency=1)
        spec = spec.replace(budgets=spec.budgets.replace(max_cost_usd=0.01))
        result = run_team(spec)
    assert result.reason == "usage_above_bound" and result.rounds == 2
    flagged = rows(result, "AgentFailed").filter(pl.col("fault") == "usage_above_bound").row(0, named=True)
    assert flagged["agent"] == "a0" and flagged["round"] == 2 and flagged["tokens_in"] > 0
    assert "reported" in flagged["detail"] and "can use at most" in flagged["detail"]
    skipped = rows(result, "AgentFailed").filter(pl.col("fault") == "cancelled")
    assert skipped["agent"].to_list() == ["a1", "a2", "a3"]  # never called: the run stopped first
    assert server.stats.requests == 4 + 1  # round 1, then a0 of round 2 only
    assert rows(result, "RoundStarted")["round"].to_list() == [1, 2]


def test_over_reports_can_overshoot_a_budget_by_at_most_the_calls_in_flight() -> None:
    with serving(competence=0.6) as (server, url):
        server.faults.add("overreport", times=None, factor=50)
        spec = no_stop(openai_team(url, 4, seed=2, max_rounds=5))
        worst = _first_round_bound(spec)
        spec = spec.replace(budgets=spec.budgets.replace(max_tokens=2 * worst))  # round 1 is affordable
        result = run_team(spec)
    assert result.reason == "usage_above_bound" and result.rounds == 1
    assert server.stats.requests == 4  # the four calls of round 1 were in flight together; none after
    assert rows(result, "AgentFailed")["fault"].unique().to_list() == ["usage_above_bound"]
    assert tokens(result) > 2 * worst  # what over-reports can still overshoot: the calls already in flight


def _first_round_bound(spec) -> int:
    async def main() -> int:
        async with Run(spec) as run:
            bound, _, bounded = run.worst_case_round()
        assert bounded
        return bound

    return asyncio.run(main())


def test_the_bound_covers_every_call_even_with_long_non_ascii_messages() -> None:
    """Replies whose messages are long and 3-4 bytes per character: the per-call check
    never fires against an honest server, and every round stays within its bound."""

    async def main(spec) -> list[tuple[int, int]]:
        out = []
        async with Run(spec) as run:
            while not run.done:
                bound, _, _ = run.worst_case_round()
                before = run.tokens_used
                await run.step()
                out.append((run.tokens_used - before, bound))
        return out

    with serving(competence=0.5, reply_tokens=300) as (_, url):
        spec = no_stop(openai_team(url, 3, seed=4, max_rounds=3, persona="語" * 200))
        rounds = asyncio.run(main(spec))
    assert all(0 < used <= bound for used, bound in rounds)


def test_the_wall_time_budget_cancels_hanging_calls_at_the_deadline() -> None:
    with serving(competence=0.6) as (server, url):
        server.faults.add("timeout", round=2, times=None, wait_s=20.0)  # every call of round 2 hangs
        spec = no_stop(openai_team(url, 3, seed=1, max_rounds=4, endpoint={"timeout_s": 30.0}))
        spec = spec.replace(budgets=spec.budgets.replace(max_wall_s=1.0))
        started = time.monotonic()
        result = run_team(spec)
        took = time.monotonic() - started
    assert result.reason == "budget_wall" and took < 6  # it ran 9.2 s before
    cancelled = rows(result, "AgentFailed").filter(pl.col("fault") == "cancelled")
    assert cancelled["agent"].to_list() == ["a0", "a1", "a2"] and set(cancelled["round"]) == {2}
    assert all("wall-time budget's deadline" in d for d in cancelled["detail"])
    assert rows(result, "RoundEnded")["t_end"].max() < 1.5  # measured: the deadline plus the loop's reaction time


@pytest.mark.parametrize("stream", [False, True])
def test_an_honest_server_never_trips_the_per_call_check(stream) -> None:
    """A call's own bound is computed from the messages rendered for it (streamed or not)."""
    with serving(competence=0.6, reply_tokens=40) as (_, url):
        result = run_team(openai_team(url, 3, seed=6, max_rounds=2, endpoint={"stream": stream}))
    assert rows(result, "AgentFailed").height == 0 and result.reason in ("max_rounds", "consensus")
    replied = rows(result, "AgentReplied")
    assert (replied["tokens_in"] < prompt_token_bound(render_messages(_any_request(result)))).all()


def _any_request(result):
    from llmteams_lab.messages import AgentRequest
    from llmteams_lab.workloads.deliberation.questions import make_question

    question = make_question(result.spec.task, result.spec.seed)
    return AgentRequest(result.run_id, 1, "a0", "member", question, (), None, None, "debate", {})


def test_a_resumed_openai_run_keeps_its_retries_and_asks_only_for_new_rounds(tmp_path) -> None:
    """An endpoint's own retries (429s) in the rounds kept are replayed in place, so the
    resumed log has the uninterrupted run's events, seq for seq; only the new rounds'
    measured times differ, and the server is asked only for them."""
    import warnings

    from llmteams_lab import JsonlSink
    from llmteams_lab.datasets import read_events

    def rate_limited(server) -> None:
        server.faults.add("rate_limit", agent="a1", round=2, times=2, retry_after_s=0.001)

    async def whole(spec, path) -> None:
        async with Run(spec, sinks=[JsonlSink(path)]) as run:
            await run.run()

    async def resumed(path):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no InexactResumeWarning: the retries were replayed
            run = await Run.resume(path)
        async with run:
            await run.run()

    with serving(competence=0.5) as (server, url):
        rate_limited(server)
        spec = no_stop(openai_team(url, 3, seed=7, max_rounds=5))
        asyncio.run(whole(spec, tmp_path / "whole.jsonl"))
        text = (tmp_path / "whole.jsonl").read_bytes()
        assert text.count(b'"kind":"AgentRetried"') == 2
        head = text[: text.index(b'"round":4,')]
        cut = tmp_path / "cut.jsonl"
        cut.write_bytes(head[: head.rindex(b"\n") + 1])  # killed while round 4 was being written
        server.faults.clear()
        server.stats.reset()
        rate_limited(server)  # it would fire again if round 2 were asked for again
        asyncio.run(resumed(cut))
        assert server.stats.requests == 3 * 2  # rounds 4 and 5 only
    drop = ["t_start", "t_end"]  # the new rounds' measured wall-clock times
    assert read_events(cut).drop(drop).equals(read_events(tmp_path / "whole.jsonl").drop(drop))
