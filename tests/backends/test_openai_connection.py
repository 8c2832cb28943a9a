"""An endpoint that cannot be reached says so: refused, DNS and TLS failures are the
``connection`` kind, and a round in which every call failed that way stops the run with
a clear error, whatever the failure policy (both HTTP transports of the SDK)."""

from __future__ import annotations

import asyncio
import socket

import polars as pl
import pytest

from llmteams_lab import Run, team
from llmteams_lab.errors import ConnectionFailedError, EndpointUnreachableError, RunFailedError
from llmteams_lab.serve import Background, Server
from tests.serve.servers import profile


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step_once(spec) -> tuple[BaseException | None, list]:
    async def main():
        async with Run(spec) as run:
            try:
                await run.step()
            except Exception as err:  # noqa: BLE001 - the test inspects it
                return err, list(run.events)
            return None, list(run.events)

    return asyncio.run(main())


def unreachable(url: str, transport: str, max_rounds: int = 3, **fields) -> object:
    spec = team(3, backend="openai", seed=1, max_rounds=max_rounds,
                endpoint={"base_url": url, "max_retries": 0, "timeout_s": 10, "transport": transport})
    return spec.replace(**fields) if fields else spec


@pytest.fixture(scope="module")
def plain_http_url():
    with Background(Server(profile())) as url:  # serves plain HTTP, so https:// to it fails the handshake
        yield url


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("where", ["refused", "dns", "tls"])
def test_connection_failures_are_their_own_kind_and_stop_the_run(where, transport, plain_http_url,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "c" * 24)  # a remote URL needs some key
    port = plain_http_url.split(":")[2].split("/")[0]
    url, said = {"refused": (f"http://127.0.0.1:{closed_port()}/v1", "connection refused"),
                 "dns": ("http://no-such-host.invalid/v1", "DNS lookup failed"),
                 "tls": (f"https://127.0.0.1:{port}/v1", "TLS handshake failed")}[where]
    err, events = step_once(unreachable(url, transport, failure_policy={"on_error": "skip"}))
    assert isinstance(err, EndpointUnreachableError) and isinstance(err, RunFailedError)
    assert str(err).startswith("round 1: every call failed to connect (3 of 3): could not connect to ")
    assert said in str(err) and "timeout" not in str(err)
    failed = [e for e in events if e.kind == "AgentFailed"]
    assert [e.fault for e in failed] == ["connection"] * 3 and all(said in e.detail for e in failed)
    assert events[-1].kind == "RunEnded" and events[-1].detail == "connection_failed"


def test_the_stop_holds_whatever_the_failure_policy_after_its_retries() -> None:
    spec = unreachable(f"http://127.0.0.1:{closed_port()}/v1", "aiohttp",
                       failure_policy={"on_error": "retry", "retries": 2, "backoff_s": 0.0})
    err, events = step_once(spec)
    assert isinstance(err, EndpointUnreachableError)
    retried = [e for e in events if e.kind == "AgentRetried"]
    assert len(retried) == 3 * 2 and {e.fault for e in retried} == {"connection"}


def test_a_team_partly_answered_elsewhere_keeps_going_with_its_failures_recorded() -> None:
    spec = unreachable(f"http://127.0.0.1:{closed_port()}/v1", "aiohttp", max_rounds=2)
    agents = tuple(a.replace(backend="simulated") if a.id == "a0" else a for a in spec.agents)
    err, events = step_once(spec.replace(agents=agents))
    assert err is None  # sporadic for this team: the failure policy (skip) decides
    assert [e.agent for e in events if e.kind == "AgentFailed"] == ["a1", "a2"]
    assert [e.agent for e in events if e.kind == "AgentReplied"] == ["a0"]


def test_the_error_class_is_recorded_and_replayed_as_its_kind() -> None:
    from llmteams_lab.errors import backend_error_class

    assert backend_error_class("connection") is ConnectionFailedError
    assert issubclass(ConnectionFailedError, ConnectionError)
    frame = pl.DataFrame({"fault": ["connection"]})
    assert frame["fault"][0] == ConnectionFailedError.kind
