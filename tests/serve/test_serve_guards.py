"""``serve`` and ``proxy`` cannot be abused: bad JSON is a 400 (never a 500 with a
traceback), slow clients are cut off, big bodies are refused unread, remote listening
needs --allow-remote and a key, and /_admin needs the key. Slow clients are raw sockets."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Iterator

import pytest
from aiohttp import web

from llmteams_lab.errors import ServiceError
from llmteams_lab.proxy import Proxy
from llmteams_lab.serve import Background, Server
from llmteams_lab.serve.guards import Limits, guard_errors
from llmteams_lab.serve.running import Listening
from tests.serve.servers import profile

QUICK = Limits(max_body_bytes=64 * 1024, header_timeout_s=0.5, body_timeout_s=0.5)
KEY = "sk-guard-test-" + "k" * 20
PROMPT = [{"role": "user", "content": "hi"}]


@contextmanager
def endpoints() -> Iterator[dict[str, str]]:
    """``serve`` and a ``proxy`` in front of it, both with the quick limits."""
    with Background(Server(profile(), limits=QUICK)) as served:
        with Background(Proxy(served, limits=QUICK)) as proxied:
            yield {"serve": served, "proxy": proxied}


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def host_port(url: str) -> tuple[str, int]:
    netloc = url.split("//")[1].split("/")[0]
    return netloc.rsplit(":", 1)[0], int(netloc.rsplit(":", 1)[1])


NESTED = b'{"model": "m", "messages": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"  # 40 KB, under the size limit
ILL_TYPED = [
    {"model": "m", "messages": PROMPT, "stream_options": "x"},  # was a 500 with a traceback
    {"model": "m", "messages": PROMPT, "stream": "yes"},
    {"model": "m", "messages": PROMPT, "max_tokens": "many"},
    {"model": "m", "messages": [{"role": "user", "content": 5}]},
    {"model": ["m"], "messages": PROMPT},
]


@pytest.mark.parametrize("via", ["serve", "proxy"])
def test_nested_or_ill_typed_json_is_a_400_never_a_500(via) -> None:
    with endpoints() as urls:
        chat = urls[via] + "/chat/completions"
        status, body = post(chat, NESTED)
        assert status == 400 and "nests deeper than 32 levels" in body["error"]["message"]
        for bad in ILL_TYPED:
            status, body = post(chat, json.dumps(bad).encode())
            assert status == 400, (bad, body)
            assert "Traceback" not in json.dumps(body)
        status, body = post(chat, b'{"model": "m", "messages": [], "seed": ' + b"9" * 5_000 + b"}")
        assert status == 400
        assert post(chat, json.dumps({"model": "m", "messages": PROMPT}).encode())[0] == 200


def test_an_unexpected_exception_is_a_json_500_without_a_traceback() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise KeyError("internal detail")

    app = web.Application(middlewares=[guard_errors])
    app.router.add_get("/broken", broken)

    class App:
        async def start(self) -> str:
            self.listening = Listening(app, "127.0.0.1", 0)
            return f"http://127.0.0.1:{await self.listening.start()}"

        async def stop(self) -> None:
            await self.listening.stop()

    with Background(App()) as url:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/broken", timeout=10)
        with err.value:
            body = err.value.read().decode()
    assert err.value.code == 500 and "Traceback" not in body and "internal detail" not in body
    assert json.loads(body)["error"]["type"] == "server_error"


@pytest.mark.parametrize("via", ["serve", "proxy"])
def test_a_client_trickling_its_headers_is_disconnected(via) -> None:
    with endpoints() as urls:
        with socket.create_connection(host_port(urls[via]), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            started, closed = time.monotonic(), False
            while time.monotonic() - started < 5:  # a byte every 0.1 s, headers never finished
                try:
                    sock.sendall(b"X")
                    time.sleep(0.1)
                except OSError:
                    closed = True
                    break
            assert closed or sock.recv(100) == b""  # the server closed it (after ~0.5 s, not 5)
            assert time.monotonic() - started < 4


@pytest.mark.parametrize("via", ["serve", "proxy"])
def test_a_body_that_never_arrives_gets_408_and_a_close(via) -> None:
    with endpoints() as urls:
        with socket.create_connection(host_port(urls[via]), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{")
            reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize("via", ["serve", "proxy"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(via) -> None:
    with endpoints() as urls:
        with socket.create_connection(host_port(urls[via]), timeout=5) as sock:  # 60 MB announced, none sent
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 60000000\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 413")
        with socket.create_connection(host_port(urls[via]), timeout=5) as sock:  # chunked, past the limit
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(2_000):  # 200 KB in 100-byte chunks, limit 64 KiB
                    sock.sendall(b"64\r\n" + b"a" * 100 + b"\r\n")
            except OSError:
                pass  # the server may close before everything is sent
            assert sock.recv(4096).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("build", [
    lambda **kw: Server(profile(), **kw),
    lambda **kw: Proxy("http://127.0.0.1:9/v1", **kw),
])
def test_listening_beyond_this_machine_needs_allow_remote_and_then_a_key(build) -> None:
    with pytest.raises(ServiceError, match="0.0.0.0 is reachable from other machines; pass allow_remote"):
        build(host="0.0.0.0")
    with pytest.raises(ServiceError, match="needs a key"):
        build(host="0.0.0.0", allow_remote=True)
    routes = build(host="0.0.0.0", allow_remote=True, api_key=KEY)._listening.app.router.routes()
    assert not any(r.resource.canonical.startswith("/_admin") for r in routes)  # never beyond loopback
    build(host="127.0.0.1")  # the default needs nothing


def test_admin_routes_need_the_key_whenever_one_is_set() -> None:
    server = Server(profile(), api_key=KEY)
    with Background(server) as served, Background(Proxy(served, api_key=KEY)) as proxied:
        for base in (served, proxied):
            admin = base.rsplit("/v1", 1)[0] + "/_admin/"
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(admin + "stats", timeout=10)
            err.value.close()
            assert err.value.code == 401
            status, _ = post(admin + "faults", b'[{"kind": "reset"}]')
            assert status == 401
            request = urllib.request.Request(admin + "stats", headers={"Authorization": f"Bearer {KEY}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        status, _ = post(served.rsplit("/v1", 1)[0] + "/_admin/reset", b"")
        assert status == 401
    assert server.faults.rules == ()  # the refused requests changed nothing
