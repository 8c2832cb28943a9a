"""The openai backend against the real ``serve`` on 127.0.0.1, through the real ``openai`` client.

Behaviour: decisions like simulated agents, protocol views reaching the model,
determinism for a seed, the concurrency bound (the server counts in-flight requests),
streaming, usage and cost, and budgets checked before each round.
"""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest

from llmteams_lab import Run
from llmteams_lab.backends.openai import OpenAIBackend
from llmteams_lab.backends.pricing import (
    DEFAULT_PRICES,
    PriceTable,
    UnknownPriceWarning,
)
from llmteams_lab.errors import SpecError
from llmteams_lab.serve import Server
from llmteams_lab.workloads.deliberation import make_question
from llmteams_lab.workloads.deliberation.codec import (
    estimate_prompt_tokens,
    render_messages,
)
from tests.serve.servers import openai_team, profile, rows, run_team, serving
from tests.support import no_stop


def test_a_competent_team_agrees_on_the_truth_in_one_round() -> None:
    with serving(competence=1.0) as (server, url):
        result = run_team(openai_team(url, 4, seed=5))
    assert (result.reason, result.rounds, result.correct) == ("consensus", 1, True)
    replied = rows(result, "AgentReplied")
    assert replied["agent"].to_list() == ["a0", "a1", "a2", "a3"]
    assert replied["correct"].all()
    assert server.stats.requests == 4 and server.stats.statuses == {200: 4}


def test_tokens_come_from_the_servers_usage_and_cost_from_the_price_table() -> None:
    with serving(competence=1.0) as (_, url):
        spec = openai_team(url, 2, seed=5)
        result = run_team(spec)
    question = make_question(spec.task, spec.seed)
    replied = rows(result, "AgentReplied").row(0, named=True)
    from llmteams_lab.messages import AgentRequest

    request = AgentRequest(result.run_id, 1, "a0", "member", question, protocol="debate")
    assert replied["tokens_in"] == estimate_prompt_tokens(render_messages(request))  # serve counts the same way
    assert replied["tokens_out"] > 0
    price = DEFAULT_PRICES.get("gpt-4o-mini")
    assert replied["cost_usd"] == pytest.approx(price.cost(replied["tokens_in"], replied["tokens_out"]))
    assert '"usage_estimated"' not in replied["detail"]


def test_followers_reports_reach_the_leader_in_the_aggregate_phase() -> None:
    """Followers always right and never swayed; the leader always wrong on its own: only
    by reading the reports in its aggregate-phase prompt can the team decide right."""
    server = Server(profile(), models={"follower": profile(competence=1.0, conformity=0.0),
                                       "lead": profile(competence=0.0, conformity=0.0)})
    with serving(server) as (_, url):
        spec = openai_team(url, 5, protocol="leader", topology="star", seed=2)
        agents = tuple(a.replace(model="lead" if a.role == "leader" else "follower") for a in spec.agents)
        spec = spec.replace(agents=agents)
        free = PriceTable({"lead": (0.0, 0.0), "follower": (0.0, 0.0)})  # local models: priced at 0, not unknown
        result = run_team(spec, OpenAIBackend(spec, prices=free))
    leader = rows(result, "AgentReplied").filter(pl.col("agent") == "a0")
    assert leader["correct"].to_list() == [False, True]
    assert (result.reason, result.correct) == ("leader_decided", True)
    assert server.stats.models == {"lead": 2, "follower": 8}


def test_the_same_seed_gives_the_same_events_and_another_seed_other_answers() -> None:
    timing = ["t_start", "t_end"]
    with serving(competence=0.5, conformity=0.5) as (_, url):
        first = run_team(openai_team(url, 6, seed=11, max_rounds=3))
        again = run_team(openai_team(url, 6, seed=11, max_rounds=3))
        other = run_team(openai_team(url, 6, seed=12, max_rounds=3))
    assert first.events.drop(timing).equals(again.events.drop(timing))
    answers = lambda r: rows(r, "AgentReplied")["value"].to_list()  # noqa: E731
    assert answers(first) != answers(other)


@pytest.mark.parametrize("concurrency", [3, 8])
def test_the_run_never_has_more_calls_in_flight_than_its_concurrency(concurrency: int) -> None:
    with serving(latency_s=0.3) as (server, url):
        spec = openai_team(url, 8, seed=1, max_rounds=1).replace(concurrency=concurrency)
        run_team(spec)
    assert server.stats.requests == 8
    # bounded; and calls do overlap (how many reach the server together depends on the
    # machine's load, so "all of the bound" is not asserted)
    assert 2 <= server.stats.peak_in_flight <= concurrency


def test_streamed_replies_match_the_json_ones() -> None:
    with serving(competence=0.6) as (_, url):
        plain = run_team(openai_team(url, 4, seed=3, max_rounds=2))
        streamed = run_team(openai_team(url, 4, seed=3, max_rounds=2, endpoint={"stream": True}))
    columns = ["round", "kind", "agent", "value", "tokens_in", "tokens_out", "cost_usd", "detail"]
    same = lambda r: r.events.filter(pl.col("kind") != "RunStarted").select(columns)  # noqa: E731 (spec differs)
    assert same(streamed).equals(same(plain))
    assert rows(streamed, "MessageSent").height == 4 * 3 * streamed.rounds  # complete graph: 12 per round


def _worst_case_first_round(spec) -> tuple[int, float]:
    """The engine's bound on round 1, from a run that has not started (no call is made)."""

    async def main() -> tuple[int, float]:
        async with Run(spec) as run:
            tokens, dollars, bounded = run.worst_case_round()
        assert bounded
        return tokens, dollars

    return asyncio.run(main())


def test_a_token_budget_exactly_at_the_worst_case_allows_the_round_one_less_does_not() -> None:
    with serving(competence=0.5, reply_tokens=20) as (server, url):
        spec = no_stop(openai_team(url, 3, seed=4, max_rounds=5, endpoint={"max_tokens": 48}))
        worst, _ = _worst_case_first_round(spec)
        exact = run_team(spec.replace(budgets=spec.budgets.replace(max_tokens=worst)))
        served = server.stats.requests
        short = run_team(spec.replace(budgets=spec.budgets.replace(max_tokens=worst - 1)))
    assert (exact.rounds, exact.reason) == (1, "budget_tokens")
    used = rows(exact, "AgentReplied").select(pl.col("tokens_in") + pl.col("tokens_out")).sum().item()
    assert 0 < used <= worst
    assert (short.rounds, short.reason) == (0, "budget_tokens")
    assert server.stats.requests == served == 3  # the refused run never called the model


def test_the_worst_case_bound_covers_every_rounds_actual_usage() -> None:
    """The bound the engine checks before each round covers what that round then spends."""

    async def main(spec) -> list[tuple[int, int]]:
        out = []
        async with Run(spec) as run:
            while not run.done:
                bound, _, bounded = run.worst_case_round()
                assert bounded
                before = run.tokens_used
                await run.step()
                out.append((run.tokens_used - before, bound))
        return out

    with serving(competence=0.4, conformity=0.5, reply_tokens=30) as (_, url):
        spec = no_stop(openai_team(url, 4, seed=9, max_rounds=4, endpoint={"max_tokens": 64}, topology="ring"))
        rounds = asyncio.run(main(spec))
    assert len(rounds) == 4
    for used, bound in rounds:
        assert 0 < used <= bound


def test_a_dollar_budget_stops_before_a_round_it_cannot_afford() -> None:
    with serving(competence=0.5) as (server, url):
        spec = no_stop(openai_team(url, 3, seed=4, max_rounds=5, endpoint={"max_tokens": 64}))
        _, dollars = _worst_case_first_round(spec)
        result = run_team(spec.replace(budgets=spec.budgets.replace(max_cost_usd=dollars * 2.5)))
    assert result.reason == "budget_cost"
    spent = rows(result, "AgentReplied")["cost_usd"].sum()
    assert 0 < spent <= dollars * 2.5
    assert 1 <= result.rounds < 5 and server.stats.requests == 3 * result.rounds  # no call of a refused round


def test_an_unknown_model_warns_and_records_its_cost_as_unknown() -> None:
    with serving(competence=1.0) as (_, url):
        spec = openai_team(url, 2, seed=1, endpoint={"model": "my-local-model"})
        with pytest.warns(UnknownPriceWarning, match="'my-local-model' has no price"):
            result = run_team(spec)
    replied = rows(result, "AgentReplied")
    assert replied["cost_usd"].null_count() == 2 and (replied["tokens_in"] > 0).all()


def test_a_dollar_budget_with_an_unpriced_model_is_refused_up_front() -> None:
    spec = openai_team("http://127.0.0.1:9/v1", 2, endpoint={"model": "my-local-model"})
    spec = spec.replace(budgets=spec.budgets.replace(max_cost_usd=1.0))
    with pytest.raises(SpecError, match=r"'budgets.max_cost_usd' cannot be enforced: model 'my-local-model'"):
        OpenAIBackend(spec, prices=PriceTable())


def test_per_agent_model_temperature_and_persona_are_sent() -> None:
    seen: list[dict] = []

    class Recording(Server):
        async def _complete(self, request):
            seen.append(await request.json())
            return await super()._complete(request)

    with serving(Recording(profile())) as (_, url):
        spec = openai_team(url, 2, seed=1, max_rounds=1, endpoint={"model": "gpt-4o"})
        agents = (spec.agents[0].replace(temperature=0.2, persona="A terse number theorist."), spec.agents[1])
        run_team(spec.replace(agents=agents))
    by_agent = {b["messages"][1]["content"].split('Agent: "')[1].split('"')[0]: b for b in seen}
    assert by_agent["a0"]["temperature"] == 0.2 and "temperature" not in by_agent["a1"]
    assert "Persona: A terse number theorist." in by_agent["a0"]["messages"][0]["content"]
    assert {b["model"] for b in seen} == {"gpt-4o"}
    assert by_agent["a0"]["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"] == \
        list(make_question(spec.task, spec.seed).options)


def test_a_backend_is_bound_to_the_loop_of_its_first_call() -> None:
    from llmteams_lab.errors import LifecycleError
    from llmteams_lab.messages import AgentRequest

    with serving(competence=1.0) as (_, url):
        spec = openai_team(url, 1, seed=1)
        backend = OpenAIBackend(spec)
        request = AgentRequest("r", 1, "a0", "member", make_question(spec.task, spec.seed))
        first = asyncio.new_event_loop()
        try:
            assert first.run_until_complete(backend.respond(request)).answer is not None
            with pytest.raises(LifecycleError, match="belongs to the event loop of its first call"):
                asyncio.run(backend.respond(request))
            first.run_until_complete(backend.aclose())
        finally:
            first.close()
    with pytest.raises(LifecycleError, match="closed"):
        asyncio.run(backend.respond(request))


def test_warm_opens_keep_alive_connections_before_the_first_round() -> None:
    with serving() as (server, url):
        spec = openai_team(url, 4, seed=1, max_rounds=1)

        async def main() -> int:
            backend = OpenAIBackend(spec)
            async with Run(spec, backends=backend):
                return await backend.warm()

        assert asyncio.run(main()) == 4
    assert server.stats.requests == 0  # warming lists models; it is not a completion


class BoardModel:
    """A scripted endpoint for task-board turns: claims the first pending task it is shown."""

    def __init__(self) -> None:
        from aiohttp import web

        from llmteams_lab.serve.running import Listening

        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._turn)
        self._listening = Listening(app, "127.0.0.1", 0)
        self.prompts: list[list[dict]] = []

    async def _turn(self, request):
        import re

        from aiohttp import web

        body = await request.json()
        self.prompts.append(body["messages"])
        pending = re.findall(r"^- (\S+) \[pending\]", body["messages"][1]["content"], re.M)
        content = json.dumps({"actions": [{"do": "claim", "task": pending[0]}] if pending else [],
                              "message": "claiming"})
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                                  "usage": {"prompt_tokens": 50, "completion_tokens": 9}})

    async def start(self) -> str:
        return f"http://127.0.0.1:{await self._listening.start()}/v1"

    async def stop(self) -> None:
        await self._listening.stop()


def test_work_division_turns_use_the_task_board_prompt_and_return_actions() -> None:
    from llmteams_lab.serve import Background
    from llmteams_lab.spec import work_team

    model = BoardModel()
    with Background(model) as url:
        spec = work_team(2, p=0.5, size=4, max_rounds=1, backend="openai", seed=1).replace(
            endpoint={"base_url": url, "timeout_s": 2.0})
        result = run_team(spec)
    assert "Task board:" in model.prompts[0][1]["content"] and len(model.prompts) == 2
    claims = rows(result, "TaskClaimed", "ClaimBlocked")
    assert claims.height == 2 and claims["agent"].to_list() == ["a0", "a1"]
    assert rows(result, "AgentFailed").height == 0
