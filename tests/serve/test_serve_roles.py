"""``serve`` plays every coordination role through the real ``openai`` client, and whole
coordination teams run against it over loopback HTTP.

Each role's prompt is rendered by its workload's codec, sent with the typed client to a
``serve`` whose simulated model knows the generated questions' answers, and read back
with the same codec: the choices must be those the simulated agent makes.
"""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmteams_lab.metrics import check_run
from llmteams_lab.spec import TeamSpec, commit_team, election_team, gossip_team
from llmteams_lab.workloads import codec_for
from llmteams_lab.workloads.roles import choices_of
from tests.serve.servers import QUICK_RETRIES, rows, run_team, serving
from tests.workloads.test_roles import ROLES

EXPECTED = {"voter": {"vote": "a2"}, "candidate": {"stand": True}, "leader": {"propose": "B"}, "follower": {},
            "assigner": {"assign": '[["t2","a1"],["t3","a3"]]'},
            "coordinator": {"decide": "commit"}, "participant": {"vote": "yes", "part": "B"}, "gossiper": "C"}


async def ask_all(url: str) -> dict:
    client = openai.AsyncOpenAI(api_key="unused", base_url=url, max_retries=0, timeout=5.0)
    out = {}
    try:
        for role, request in ROLES.items():
            codec = codec_for(request.workload)
            completion = await client.chat.completions.create(
                model="sim", messages=codec.render(request), max_completion_tokens=300,
                response_format=codec.response_format(request, "json_schema"))
            parsed = codec.parse(completion.choices[0].message.content, request)
            out[role] = parsed.answer if role == "gossiper" else choices_of(parsed.actions)
    finally:
        await client.close()
    return out


def test_serve_plays_every_role_through_the_openai_client() -> None:
    with serving(competence=1.0) as (server, url):
        answers = asyncio.run(ask_all(url))
    assert answers == EXPECTED
    assert server.stats.statuses == {200: len(ROLES)}


def on_serve(spec: TeamSpec, url: str) -> TeamSpec:
    return spec.replace(agents=[a.replace(backend="openai") for a in spec.agents],
                        endpoint={"base_url": url, **QUICK_RETRIES})


@pytest.mark.parametrize("spec, end", [
    # rounds last ~20 ms (the served latency) against a 0.5 s election timeout: ample on a busy machine
    (election_team(3, seed=1, decisions=1, execution="synchronous", max_rounds=300, election_timeout_s=0.5,
                   heartbeat_s=0.1), "committed"),
    (election_team(3, seed=1, duty="assign", work={"parallel_fraction": 0.5, "size": 4}, execution="synchronous",
                   max_rounds=300, election_timeout_s=0.5, heartbeat_s=0.1), "all_tasks_done"),
    (commit_team(2, protocol="two_phase", seed=1, execution="synchronous", timeout_s=5.0), "committed"),
    (commit_team(2, protocol="saga", seed=1, execution="synchronous", timeout_s=5.0), "committed"),
    (gossip_team(8, seed=1, mode="push_pull"), "all_informed"),
], ids=["election", "election_assign", "two_phase", "saga", "gossip"])
def test_coordination_teams_run_on_serve_through_the_openai_backend(spec: TeamSpec, end: str) -> None:
    with serving(competence=1.0, latency_s=0.02) as (server, url):
        result = run_team(on_serve(spec, url))
    assert result.reason == end and result.correct is True
    verdicts = check_run(result.events)
    assert verdicts["ok"].all(), verdicts.filter(~verdicts["ok"]).rows()
    replies = rows(result, "AgentReplied")
    assert replies.height > 0 and (replies["tokens_in"] > 0).all() and rows(result, "AgentFailed").is_empty()
    assert server.stats.requests == replies.height
