"""Per-agent and per-profile cost and time: priced simulated agents, exact sums."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import run_sync, team
from llmteams_lab.events import on_cost_grid
from llmteams_lab.metrics import agent_usage, profile_usage, work_summary
from llmteams_lab.spec import work_team
from llmteams_lab.spec.profiles import PROFILES


@pytest.mark.parametrize("logging", ["messages", "rounds"])
def test_priced_simulated_deliberators_cost_tokens_times_price(logging: str) -> None:
    spec = team(5, max_rounds=3, logging=logging).replace(mix={"strong-slow": 1, "cheap-fast": 4})
    events = run_sync(spec).events
    strong = PROFILES["strong-slow"]
    # round 1 reads nothing: 200 in, 120 out at 2.5 / 10 USD per Mtok
    first = on_cost_grid((200 * strong.usd_per_mtok_in + 120 * strong.usd_per_mtok_out) / 1e6)
    assert first == 0.0017
    usage_rows = events.filter(pl.col("kind").is_in(("AgentReplied", "AnswersTallied")))
    expected = sum(on_cost_grid(spec.agents[0].price(r["tokens_in"], r["tokens_out"])) for r in
                   events.filter((pl.col("kind") == "AgentReplied") & (pl.col("agent") == "a0")).to_dicts())
    if logging == "messages":
        assert events.filter((pl.col("kind") == "AgentReplied") & (pl.col("round") == 1)
                             & (pl.col("agent") == "a0"))["cost_usd"].item() == first
        usage = agent_usage(events)
        assert usage.filter(pl.col("agent") == "a0")["cost_usd"].item() == pytest.approx(expected)
        assert usage["cost_share"].sum() == pytest.approx(1.0)
        assert usage.filter(pl.col("agent") == "a0")["profile"].item() == "strong-slow"
    assert usage_rows["cost_usd"].sum() > 0


def test_unpriced_agents_cost_nothing_as_before() -> None:
    events = run_sync(team(3, max_rounds=2)).events
    assert events["cost_usd"].fill_null(0).sum() == 0


def test_agent_usage_per_worker_adds_up_to_the_run() -> None:
    spec = work_team(4, p=0.5, seed=2).replace(mix={"strong-slow": 1, "cheap-fast": 3}, execution="asynchronous")
    events = run_sync(spec).events
    usage = agent_usage(events)
    summary = work_summary(events).row(0, named=True)
    assert usage["tokens"].sum() == summary["tokens"]
    assert usage["tasks_completed"].sum() == summary["tasks_completed"] == 20
    replies = events.filter(pl.col("kind") == "AgentReplied")
    assert usage["cost_usd"].sum() == pytest.approx(replies["cost_usd"].sum())
    busy = replies.group_by("agent").agg(b=(pl.col("t_end") - pl.col("t_start")).sum()).sort("agent")
    assert usage.sort("agent")["busy_s"].to_list() == pytest.approx(busy["b"].to_list())
    by_profile = profile_usage(events)
    assert dict(zip(by_profile["profile"], by_profile["agents"])) == {"cheap-fast": 3, "strong-slow": 1}
    assert by_profile["tokens"].sum() == summary["tokens"]


def test_time_waiting_for_the_endpoints_limits_is_counted_apart() -> None:
    spec = team(6, max_rounds=2, competence=0.5, seed=1, endpoint={"limits": {"rpm": 60}})
    events = run_sync(spec).events
    usage = agent_usage(events)
    waits = events.filter(pl.col("kind") == "CallThrottled")
    assert waits.height > 0
    assert usage["throttled_s"].sum() == pytest.approx((waits["t_end"] - waits["t_start"]).sum())
    assert (usage["busy_s"] >= usage["throttled_s"]).all()  # a call's latency holds its wait
    first = waits.filter(pl.col("round") == 1)
    assert "a0" not in first["agent"].to_list() and first.height == 5  # the run's first call goes at once
