"""``serve`` over HTTP, driven by the typed ``openai`` client: its payloads parse as OpenAI's."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import openai
import pytest

from llmteams_lab.messages import AgentRequest, Question
from llmteams_lab.serve import DEFAULT_MODEL, Server
from llmteams_lab.workloads.deliberation.codec import parse_reply, render_messages
from tests.serve.servers import profile, serving

QUESTION = Question("q", "Which of these numbers is prime? A) 15; B) 17; C) 21. Answer with the letter.",
                    ("A", "B", "C"), "B")
PROMPT = render_messages(AgentRequest("r", 1, "a0", "member", QUESTION))


async def with_client(url: str, key: str = "unused", **calls):
    client = openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=0, timeout=5.0)
    try:
        return {name: await call(client) for name, call in calls.items()}
    finally:
        await client.close()


def test_the_typed_client_lists_models_and_parses_completions() -> None:
    with serving(Server(profile(competence=0.0), models={"expert": profile(competence=1.0)})) as (server, url):
        out = asyncio.run(with_client(
            url,
            models=lambda c: c.models.list(),
            chat=lambda c: c.chat.completions.create(model="expert", messages=PROMPT, max_completion_tokens=200)))
    assert [m.id for m in out["models"].data] == [DEFAULT_MODEL, "expert"]
    chat = out["chat"]
    assert chat.choices[0].finish_reason == "stop" and chat.usage.total_tokens > 0
    assert parse_reply(chat.choices[0].message.content, QUESTION.options).answer == "B"
    assert server.stats.models == {"expert": 1}


def test_streaming_sends_content_pieces_then_usage() -> None:
    async def stream(client):
        chunks = await client.chat.completions.create(model="m", messages=PROMPT, stream=True,
                                                      stream_options={"include_usage": True})
        return [c async for c in chunks]

    with serving(competence=1.0) as (_, url):
        chunks = asyncio.run(with_client(url, stream=stream))["stream"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert parse_reply(text, QUESTION.options).answer == "B"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_a_reply_longer_than_the_cap_is_cut_with_finish_reason_length() -> None:
    with serving(competence=1.0, reply_tokens=80) as (_, url):
        out = asyncio.run(with_client(url, chat=lambda c: c.chat.completions.create(
            model="m", messages=PROMPT, max_tokens=10)))
    choice = out["chat"].choices[0]
    assert choice.finish_reason == "length" and len(choice.message.content) == 40
    assert out["chat"].usage.completion_tokens == 10


def test_a_required_key_is_checked_and_a_bad_body_is_a_400() -> None:
    with serving(Server(profile(), api_key="sk-serve-test-key")) as (server, url):
        with pytest.raises(openai.AuthenticationError):
            asyncio.run(with_client(url, "sk-wrong", models=lambda c: c.models.list()))
        ok = asyncio.run(with_client(url, "sk-serve-test-key", models=lambda c: c.models.list()))
        assert ok["models"].data
        with pytest.raises(openai.BadRequestError, match="'messages' must be a non-empty array"):
            asyncio.run(with_client(url, "sk-serve-test-key", chat=lambda c: c.chat.completions.create(
                model="m", messages=[])))
    assert server.stats.statuses == {400: 1}  # /v1/models is not a completion
    assert "sk-serve-test-key" not in repr(server)


def test_the_in_flight_gauge_counts_concurrent_requests() -> None:
    async def burst(client):
        return await asyncio.gather(*(client.chat.completions.create(model="m", messages=PROMPT)
                                      for _ in range(6)))

    with serving(latency_s=0.08) as (server, url):
        asyncio.run(with_client(url, burst=burst))
        with urllib.request.urlopen(url.removesuffix("/v1") + "/_admin/stats") as response:
            stats = json.loads(response.read())
    assert stats["requests"] == 6 and stats["peak_in_flight"] == 6 and stats["in_flight"] == 0


def test_fault_rules_can_be_added_over_http() -> None:
    with serving() as (server, url):
        admin = url.removesuffix("/v1") + "/_admin/faults"
        body = json.dumps([{"kind": "server_error", "status": 502, "times": 1}]).encode()
        urllib.request.urlopen(urllib.request.Request(admin, data=body, method="POST")).close()
        with pytest.raises(openai.InternalServerError):
            asyncio.run(with_client(url, chat=lambda c: c.chat.completions.create(model="m", messages=PROMPT)))
        bad = urllib.request.Request(admin, data=b'[{"kind": "gremlins"}]', method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(bad)
    with err.value:
        assert err.value.code == 400 and "'kind' must be one of" in err.value.read().decode()
    assert server.faults.fired == {"server_error": 1}


def test_the_admin_routes_exist_only_on_loopback() -> None:
    routes = lambda server: {r.resource.canonical for r in server._listening.app.router.routes()}  # noqa: E731
    assert "/_admin/stats" in routes(Server(profile()))
    assert "/_admin/stats" not in routes(Server(profile(), host="0.0.0.0", allow_remote=True, api_key="sk-k" * 4))
