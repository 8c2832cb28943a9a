"""The API key never leaks, and bad endpoint input fails clearly before any request."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import web

from llmteams_lab import JsonlSink, Run, TeamSpec
from llmteams_lab.backends.openai import OpenAIBackend
from llmteams_lab.datasets import ParquetSink
from llmteams_lab.errors import SpecError
from llmteams_lab.serve import Background, Server
from llmteams_lab.serve.running import Listening
from llmteams_lab.spec import EndpointSpec
from tests.serve.servers import openai_team, profile, rows, run_team, serving

SECRET = "sk-test-" + "Zq7x" * 9  # distinctive: a hit can only be a leak


def test_the_key_appears_in_no_artefact_of_a_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LLMTEAMS_TEST_KEY", SECRET)
    server = Server(profile(competence=0.6), api_key=SECRET)
    server.faults.add("rate_limit", agent="a0", retry_after_s=0.001)
    server.faults.add("prose", agent="a1")
    with serving(server) as (_, url):
        spec = openai_team(url, 3, seed=2, max_rounds=2, endpoint={"api_key_env": "LLMTEAMS_TEST_KEY"})
        backend = OpenAIBackend(spec)

        async def main():
            async with Run(spec, backends=backend, sinks=[JsonlSink(tmp_path / "events.jsonl"),
                                                           ParquetSink(tmp_path / "events.parquet")]) as run:
                result = await run.run()
                return result, repr(run), repr(backend)

        result, run_repr, backend_repr = asyncio.run(main())
    assert server.stats.statuses[200] >= 3  # the key was sent, and accepted
    errors = rows(result, "AgentFailed", "AgentRetried")["detail"].to_list()
    assert len(errors) == 2
    (tmp_path / "spec.toml").write_text(spec.to_toml())
    texts = [path.read_bytes().decode("latin-1") for path in tmp_path.iterdir()]
    texts += [spec.to_json(), repr(spec), repr(spec.endpoint), run_repr, backend_repr, repr(result),
              str(result.summary()), str(result.events.to_dicts()), *errors]
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert [t for t in texts if SECRET in t] == []
    assert all("LLMTEAMS_TEST_KEY" not in t or SECRET not in t for t in texts)


class EchoingServer:
    """A hostile endpoint that repeats the Authorization header in its error messages."""

    def __init__(self, status: int):
        self.status = status
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._echo)
        self._listening = Listening(app, "127.0.0.1", 0)

    async def _echo(self, request: web.Request) -> web.Response:
        said = f"you sent {request.headers.get('Authorization')}"
        return web.json_response({"error": {"message": said, "type": "x"}}, status=self.status)

    async def start(self) -> str:
        return f"http://127.0.0.1:{await self._listening.start()}/v1"

    async def stop(self) -> None:
        await self._listening.stop()


@pytest.mark.parametrize(("status", "fault"), [(401, "auth"), (500, "server_error"), (400, "backend_error")])
def test_a_server_echoing_the_key_back_is_scrubbed_from_error_messages(monkeypatch, status, fault) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with Background(EchoingServer(status)) as url:
        result = run_team(openai_team(url, 1, max_rounds=1, endpoint={"max_retries": 0}))
    failed = rows(result, "AgentFailed").row(0, named=True)
    assert failed["fault"] == fault
    assert "you sent Bearer [redacted]" in failed["detail"] and SECRET not in failed["detail"]


def test_a_wrong_key_is_refused_with_a_message_naming_the_variable_not_the_key(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-" + "Q" * 30)
    with serving(Server(profile(), api_key=SECRET)) as (_, url):
        result = run_team(openai_team(url, 2, max_rounds=3))
    assert result.reason == "auth_failed"
    details = rows(result, "AgentFailed")["detail"].to_list()
    assert all("$OPENAI_API_KEY was refused" in d and "sk-wrong" not in d for d in details)


def test_the_standard_environment_is_the_default_endpoint(monkeypatch) -> None:
    with serving(competence=1.0) as (server, url):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # loopback: no key needed
        from llmteams_lab import team

        result = run_team(team(2, backend="openai", seed=1))
    assert result.correct is True and server.stats.requests == 2


@pytest.mark.parametrize(("field", "value", "message"), [
    ("base_url", "ftp://127.0.0.1/v1", "'base_url' must be an http(s) URL such as 'http://127.0.0.1:8000/v1' "
                                       "(got 'ftp://127.0.0.1/v1')"),
    ("base_url", "http://127.0.0.1:99999/v1", "'base_url' must be an http(s) URL with a valid host and port"),
    ("base_url", "https://user:hunter2@api.example.com/v1", "'base_url' must not embed credentials"),
    ("api_key_env", SECRET, "'api_key_env' must be the name of an environment variable"),
    ("timeout_s", 0, "'timeout_s' must be a number > 0 (got 0)"),
    ("structured", "xml", "'structured' must be one of ['auto', 'json_object', 'json_schema', 'none'] "
                          "(got 'xml')"),
])
def test_bad_endpoint_fields_name_the_field_and_never_echo_secrets(field, value, message) -> None:
    with pytest.raises(SpecError) as err:
        EndpointSpec(**{field: value})
    assert str(err.value).startswith(message)
    assert "hunter2" not in str(err.value) and SECRET not in str(err.value)


def test_a_bad_endpoint_in_a_team_file_names_its_path() -> None:
    with pytest.raises(SpecError, match=r"^'endpoint.base_url' must be an http\(s\) URL"):
        TeamSpec.from_dict({"size": 2, "agent": {"backend": "openai"}, "endpoint": {"base_url": "file:///etc"}})


def test_a_remote_endpoint_without_a_key_is_refused_before_any_request(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = openai_team("https://api.example.invalid/v1", 2)
    with pytest.raises(SpecError, match=r"'endpoint.api_key_env' must name a set environment variable holding "
                                        r"the API key for https://api.example.invalid/v1 \(\$OPENAI_API_KEY"):
        Run(spec)


def test_a_bad_openai_base_url_in_the_environment_is_named(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8000")
    from llmteams_lab import team

    with pytest.raises(SpecError, match=r"^'\$OPENAI_BASE_URL' must be an http\(s\) URL"):
        Run(team(2, backend="openai"))


class EchoingEverywhere:
    """A hostile endpoint that puts the caller's Authorization header everywhere: in the
    reply's text (which is recorded as the agent's message), in an error body on every
    third call, and in a response header (which the HTTP transport logs at DEBUG)."""

    def __init__(self):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._listening = Listening(app, "127.0.0.1", 0)
        self.calls = 0

    async def _chat(self, request: web.Request) -> web.Response:
        self.calls += 1
        auth = request.headers.get("Authorization", "")
        headers = {"X-Echo": auth, "X-Request-Key": auth.removeprefix("Bearer ")}
        if self.calls % 3 == 0:
            return web.json_response({"error": {"message": f"bad gateway for {auth}", "type": "x"}}, status=502,
                                     headers=headers)
        text = json.dumps({"answer": "B", "confidence": 0.8, "message": f"I was called with {auth}"})
        if self.calls % 4 == 1:
            text = f"I'll go with B. (You sent {auth}.) Confidence: 80%"
        body = {"id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
        return web.json_response(body, headers=headers)

    async def start(self) -> str:
        return f"http://127.0.0.1:{await self._listening.start()}/v1"

    async def stop(self) -> None:
        await self._listening.stop()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_no_artefact_log_or_output_holds_the_key_from_a_server_echoing_it(tmp_path, monkeypatch, caplog, capsys,
                                                                          transport) -> None:
    from llmteams_lab.backends.redaction import NAMESPACES, KeyFilter
    from llmteams_lab.cli import main

    monkeypatch.setenv("LLMTEAMS_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)  # the transports log response headers at DEBUG
    server = EchoingEverywhere()
    with Background(server) as url:
        spec = tmp_path / "team.toml"
        spec.write_text(f'seed = 2\nsize = 3\n[agent]\nbackend = "openai"\n[budgets]\nmax_rounds = 3\n'
                        f'[protocol]\nstop_at_consensus = false\n[endpoint]\nbase_url = "{url}"\n'
                        f'api_key_env = "LLMTEAMS_TEST_KEY"\nmax_retries = 1\nbackoff_s = 0.001\n'
                        f'transport = "{transport}"\n', encoding="utf-8")
        assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert server.calls >= 9
    said = capsys.readouterr()
    out = tmp_path / "out"
    artefacts = {p.name: p.read_bytes().decode("latin-1") for p in out.iterdir()}
    assert set(artefacts) == {"events.jsonl", "events.parquet", "spec.toml", "summary.csv"}
    events = "\n".join(artefacts.values())
    assert "[redacted]" in events  # the echoes were recorded — without the key
    logs = caplog.text + "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    if transport == "httpx":  # its httpcore logs every response's headers at DEBUG — the echo was there
        assert "[redacted]" in logs and any(r.name.startswith("httpcore") for r in caplog.records)
    leaks = [name for name, text in {**artefacts, "logs": logs, "stdout": said.out, "stderr": said.err}.items()
             if SECRET in text or SECRET.encode().hex() in text]
    assert leaks == []
    import polars as pl  # the parquet's columns, decoded (compression could hide a byte-level match)
    frame = pl.read_parquet(out / "events.parquet")
    assert not any(SECRET in str(v) for column in frame.iter_columns() for v in column.to_list())
    assert all(not any(isinstance(f, KeyFilter) for f in logging.getLogger(name).filters)  # removed on close
               for name in logging.root.manager.loggerDict if name.split(".")[0] in NAMESPACES)
