"""Starting and stopping an aiohttp application: on the current loop or on a thread.

Shared by ``serve`` and ``proxy``. Why a socket we bind ourselves: binding port 0 gives
an ephemeral port the OS guarantees free, and we can read it back without private
aiohttp attributes — tests run in parallel and must never collide on a port.

:class:`Background` runs a server on its own event loop in a daemon thread, so a test
or a notebook can use it from synchronous code (or next to its own running loop)
and stop it deterministically with :meth:`Background.stop`.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from typing import Any, Protocol

from aiohttp import web

from llmteams_lab.backends.connection import is_loopback_host
from llmteams_lab.errors import ServiceError

__all__ = ["AppServer", "Background", "Listening", "is_loopback_host"]


class Listening:
    """An aiohttp application listening on ``host:port`` (0: an ephemeral port)."""

    def __init__(self, app: web.Application, host: str, port: int, *, header_timeout_s: float = 30.0):
        self.app, self.host, self.port = app, host, port
        self.header_timeout_s = header_timeout_s
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Bind and serve; a port in use or a bad address is a :class:`ServiceError`."""
        if not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ServiceError(f"port must be an integer in [0, 65535] (got {self.port!r})")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            why = "the port is already in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err))
            raise ServiceError(f"cannot listen on {self.host}:{self.port}: {why}") from None
        self.port = sock.getsockname()[1]
        # shutdown_timeout: on stop, in-flight handlers (a scheduled 'timeout' fault sleeps)
        # get a quarter second, then are cancelled — stopping never waits for a hang.
        # keepalive_timeout: a connection must send complete request headers this soon after
        # it opens (or after its last response), else it is closed (serve.guards).
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=0.25,
                                     keepalive_timeout=self.header_timeout_s)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=1024).start()
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


class AppServer(Protocol):
    url: str

    async def start(self) -> str: ...

    async def stop(self) -> None: ...


class Background:
    """Run an :class:`AppServer` on a private event loop in a daemon thread.

    ``with Background(Server()) as url:`` — or ``start()``/``stop()``. ``server`` stays
    reachable for its stats and fault plan (both are safe to read from another thread).
    """

    def __init__(self, server: Any, *, start_timeout_s: float = 10.0):
        self.server = server
        self._timeout = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.url: str | None = None

    def start(self) -> str:
        if self._thread is not None:
            raise ServiceError("this background server was already started")
        self._thread = threading.Thread(target=self._main, name=f"llmteams-{type(self.server).__name__}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(self._timeout):
            raise ServiceError(f"{type(self.server).__name__} did not start within {self._timeout:g} s")
        if self._error is not None:
            raise self._error
        return self.url  # type: ignore[return-value]

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self.url = loop.run_until_complete(self.server.start())
        except BaseException as err:  # noqa: BLE001 - handed to the starting thread
            self._error = err
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.server.stop())
        loop.run_until_complete(_cancel_leftovers())  # e.g. handlers still sleeping in a 'timeout' fault
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def stop(self) -> None:
        """Stop serving (in-flight requests are cut off) and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _cancel_leftovers() -> None:
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
