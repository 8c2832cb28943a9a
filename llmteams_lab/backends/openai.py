"""The ``openai`` backend: agents answered by any OpenAI-compatible chat endpoint.

With :mod:`backends.openai_wire` (posting, streams, the SDK's exceptions), the only
module that imports the ``openai`` SDK (lazily, when a client is created), so ``import
llmteams_lab`` stays light and nothing above ``backends/`` ever sees an ``openai`` type:
SDK exceptions are translated into our error tree there.

How a call is made, and why:

* one ``AsyncOpenAI`` per backend (a backend belongs to one run), created on the first
  call inside the running event loop and closed by ``aclose()``; a client reused on
  another loop fails, so that is refused with a clear error;
* the SDK's own retries are off (``max_retries=0``) — :mod:`backends.retrying` retries
  so that every failed attempt becomes an ``AgentRetried`` event — and every attempt has
  a finite deadline (``EndpointSpec.timeout_s``), never the SDK's 600 s;
* the HTTP transport is the SDK's aiohttp client (or its httpx default), with its
  connection pool sized to the run's concurrency;
* it is a transport: the workload's codec renders the request as chat messages and
  parses the reply's text (``codec.render`` → HTTP → ``codec.parse``), so one backend
  serves deliberation, work division and any other workload. The body (per-agent model,
  temperature, persona, token cap, structured output) is sent with the client's generic
  ``post``: the typed ``chat.completions.create`` re-walks every parameter on each call,
  which was the largest client-side CPU cost per call measured for large rounds (bench/);
* with ``EndpointSpec.limits``, every attempt first waits for the key's limits
  (:class:`~llmteams_lab.backends.limits.Limiter`: a slot among ``concurrent``, the
  requests and tokens buckets — charged its estimated prompt plus ``max_tokens``), so the
  team never triggers a 429 it could avoid; a call that waited is reported
  (``take_waits``, logged as ``CallThrottled``) and its latency includes the wait;
* replies are read from the raw JSON tolerantly (missing ``usage`` → estimated and
  flagged; no choices, a refusal or no parseable answer → :class:`MalformedOutputError`).

The API key is read from the environment variable the spec names, only when the client
is created, and kept by the SDK client alone: never in this object's attributes, its
repr, an event or an error message (server messages are scrubbed of it).
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend, Codec
from llmteams_lab.backends.bounds import prompt_token_bound
from llmteams_lab.backends.connection import read_key, resolve_connection
from llmteams_lab.backends.http_replies import (
    reported_usage,
    scrub,
)
from llmteams_lab.backends.limits import Limiter, Wait
from llmteams_lab.backends.openai_wire import (
    http_module,
    posted,
    refuses_schema,
    streamed,
    translate_error,
)
from llmteams_lab.backends.pricing import (
    DEFAULT_PRICES,
    PriceTable,
    UnknownPriceWarning,
)
from llmteams_lab.backends.redaction import LogRedaction
from llmteams_lab.backends.retrying import Attempt, wait_before_retry
from llmteams_lab.backends.tokens import estimate_prompt_tokens, estimate_tokens
from llmteams_lab.errors import (
    BackendError,
    BackendTimeoutError,
    LifecycleError,
    MalformedOutputError,
    SpecError,
    UsageAboveBoundError,
)
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.spec import EndpointSpec, TeamSpec

__all__ = ["OpenAIBackend"]


class OpenAIBackend(Backend):
    """Answers a team's agents through one OpenAI-compatible endpoint (see module doc).

    spec      the team (agents' ``model``/``temperature``/``persona``; ``spec.endpoint``)
    codec     the workload's codec (default: the one of the spec's task kind)
    endpoint  overrides ``spec.endpoint``; prices: the price table (default: the shared one)
    environ   where the key and ``OPENAI_BASE_URL`` are read (default ``os.environ``)
    """

    def __init__(self, spec: TeamSpec, *, codec: Codec | None = None, endpoint: EndpointSpec | None = None,
                 prices: PriceTable | None = None, environ: Mapping[str, str] | None = None):
        if codec is None:  # built by hand: the codec of the spec's workload
            from llmteams_lab.workloads import workload_for

            codec = workload_for(spec.task.kind).codec
        self.codec = codec
        self.endpoint = endpoint or spec.endpoint or EndpointSpec()
        self.connection = resolve_connection(self.endpoint, environ)
        self.prices = DEFAULT_PRICES if prices is None else prices
        self.seed = spec.seed
        self.protocol = spec.protocol.kind
        self.concurrency = spec.concurrency
        self.structured = self.endpoint.structured  # "auto" becomes "none" if the server refuses schemas
        self._environ = environ
        self._agents = {a.id: a for a in spec.agents}
        served = [a for a in spec.agents if a.backend == "openai"] or list(spec.agents)
        self.models = {a.id: a.model or self.endpoint.model for a in served}
        self._check_prices(spec)
        self._client: Any = None
        self._redaction: LogRedaction | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._retries: list[Attempt] = []
        limits = self.endpoint.limits
        self.limiter = Limiter(limits) if limits is not None and limits.any else None
        self._waits: list[Wait] = []

    def __repr__(self) -> str:
        models = sorted(set(self.models.values()))
        return (f"<OpenAIBackend {', '.join(models)} at {self.connection.base_url} "
                f"(key from ${self.connection.key_env}), structured={self.structured}>")

    def _check_prices(self, spec: TeamSpec) -> None:
        for model in sorted(set(self.models.values())):
            if model in self.prices:
                continue
            if spec.budgets.max_cost_usd is not None:
                raise SpecError("budgets.max_cost_usd", f"cannot be enforced: model {model!r} has no price in the "
                                "price table (add it with llmteams_lab.backends.pricing.set_price)", show_got=False)
            warnings.warn(UnknownPriceWarning(
                f"model {model!r} has no price in the price table: its cost is recorded as unknown "
                "(add it with llmteams_lab.backends.pricing.set_price)"), stacklevel=3)

    # --- the backend protocol --------------------------------------------------------------
    async def respond(self, request: AgentRequest) -> AgentReply:
        """One agent's reply, after up to ``endpoint.max_retries`` retries (each recorded).

        Everything recorded from the server — the reply's text, error messages — has the
        key scrubbed out first (a hostile or broken server may echo it back)."""
        client = self._client_now()
        model = self.models.get(request.agent, self.endpoint.model)
        body = self._body(request, model)
        started = time.perf_counter()
        attempt = 0
        try:
            while True:
                attempt += 1
                began = time.perf_counter()
                try:
                    data, content = await self._limited_attempt(client, body, request.agent, began - started)
                    break
                except BackendError as err:
                    wait = wait_before_retry(err, attempt, self.endpoint,
                                             f"{self.seed}/{request.agent}/{request.round}")
                    if wait is None:
                        if attempt > 1:
                            err.args = (f"{err.args[0]} (attempt {attempt} of {self.endpoint.max_retries + 1})",)
                        raise
                    self._retries.append(Attempt(request.agent, attempt, began - started,
                                                 time.perf_counter() - began, wait, self._scrubbed(err)))
                    await asyncio.sleep(wait)
            content = self._scrub(content)
            return self._reply(request, model, body, data, content, time.perf_counter() - started, attempt)
        except BackendError as err:
            raise self._scrubbed(err) from None

    async def _limited_attempt(self, client: Any, body: dict[str, Any], agent: str,
                               offset: float) -> tuple[dict[str, Any], str | None]:
        """One attempt, after waiting for the endpoint's limits (if any) — it holds its
        slot until the response is in or the attempt failed."""
        if self.limiter is None:
            return await self._attempt(client, body)
        charge = estimate_prompt_tokens(body["messages"]) + self.endpoint.max_tokens
        waited, held = await self.limiter.admit(charge)
        if waited > 0:
            self._waits.append(Wait(agent, offset, waited, held, charge))
        try:
            return await self._attempt(client, body)
        finally:
            self.limiter.release()

    def _scrub(self, text: str | None) -> str | None:
        return None if text is None else scrub(text, getattr(self._client, "api_key", None))

    def _scrubbed(self, err: BackendError) -> BackendError:
        err.args = tuple(self._scrub(a) if isinstance(a, str) else a for a in err.args)
        return err

    async def aclose(self) -> None:
        """Close the client (and its connections). Safe to call twice."""
        self._closed = True
        client, self._client = self._client, None
        try:
            if client is not None:
                await client.close()
        finally:
            if self._redaction is not None:
                self._redaction.close()  # the loggers are as they were before the client
                self._redaction = None

    def take_retries(self) -> list[Attempt]:
        """The failed-then-retried attempts since the last call (the engine logs them)."""
        taken, self._retries = self._retries, []
        return taken

    def take_waits(self) -> list[Wait]:
        """The calls that waited for the endpoint's limits since the last call (the
        engine logs them as ``CallThrottled``)."""
        taken, self._waits = self._waits, []
        return taken

    async def warm(self, connections: int | None = None) -> int:
        """Open up to ``connections`` (default: the run's concurrency, at most one per
        agent) keep-alive connections with ``GET /models``, so the first round does not
        pay for TCP (and TLS) handshakes. Returns how many requests were made."""
        client = self._client_now()
        n = connections if connections is not None else min(self.concurrency, len(self.models))
        http = http_module()
        try:
            await asyncio.gather(*(client.get("/models", cast_to=http.Response) for _ in range(n)))
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise self._translate(exc) from None
        return n

    def worst_case_round(self, round: int, agents: Sequence[int],
                         request_of: Callable[[int], AgentRequest]) -> tuple[int, float] | None:
        """Tokens and dollars ``agents`` can spend in ``round`` at most — the bound the
        engine checks budgets against before starting the round.

        Per agent, a true upper bound (``backends.bounds``): the prompt is its request of
        that round with the inbox it will read (``request_of(i)``), rendered exactly as it
        will be sent, and counted as its UTF-8 bytes plus chat framing; the completion is
        the ``max_tokens`` sent with the call. Only a call's final attempt is billed as
        reported usage (a 429, a 5xx or a timeout report none). A server reporting more
        than this for a call makes the call fail with ``usage_above_bound`` and the run stop.
        """
        cap = self.endpoint.max_tokens
        tokens, cost = 0, 0.0
        for i in np.asarray(agents).tolist():
            request = request_of(i)
            agent = self._agents.get(request.agent)
            prompt = prompt_token_bound(self.codec.render(request, agent.persona if agent is not None else None))
            tokens += prompt + cap
            cost += self.prices.cost(self.models.get(request.agent, self.endpoint.model), prompt, cap) or 0.0
        return tokens, cost

    # --- one call ------------------------------------------------------------------------------
    def _client_now(self) -> Any:
        if self._closed:
            raise LifecycleError("this OpenAIBackend is closed; a run's backend is closed with the run")
        loop = asyncio.get_running_loop()
        if self._client is None:
            self._client, self._loop = self._make_client(), loop
        elif self._loop is not loop:
            raise LifecycleError("this OpenAIBackend's client belongs to the event loop of its first call; "
                                 "create a new backend (one per run) for a new loop")
        return self._client

    def _make_client(self) -> Any:
        import openai

        http = http_module()
        limits = http.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency,
                             keepalive_expiry=60.0)
        # the SDK's deadline sits above ours, so ours (asyncio.timeout in _attempt) decides
        timeout = http.Timeout(self.endpoint.timeout_s + 5.0, connect=min(10.0, self.endpoint.timeout_s))
        http_client = None
        if self.endpoint.transport == "aiohttp" and hasattr(openai, "DefaultAioHttpClient"):
            try:
                http_client = openai.DefaultAioHttpClient(limits=limits, timeout=timeout)
            except RuntimeError:  # an SDK installed without its aiohttp extra: use its httpx client
                http_client = None
        if http_client is None:
            http_client = openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout)
        key = read_key(self.connection, self._environ)
        self._redaction = LogRedaction(key)  # the key kept out of the SDK's and transports' log records
        return openai.AsyncOpenAI(api_key=key, base_url=self.connection.base_url, timeout=timeout, max_retries=0,
                                  http_client=http_client)

    def _body(self, request: AgentRequest, model: str) -> dict[str, Any]:
        agent = self._agents.get(request.agent)
        persona = agent.persona if agent is not None else None
        messages = self.codec.render(request, persona)
        fmt = self.codec.response_format(request, self.structured)
        body: dict[str, Any] = {"model": model, "messages": messages,
                                self.endpoint.token_param: self.endpoint.max_tokens, "seed": self.seed}
        if agent is not None and agent.temperature is not None:
            body["temperature"] = agent.temperature
        if fmt is not None:
            body["response_format"] = fmt
        if self.endpoint.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def _attempt(self, client: Any, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """One HTTP exchange under the deadline: the completion (as a dict) and its text."""
        try:
            async with asyncio.timeout(self.endpoint.timeout_s):
                if self.endpoint.stream:
                    return await streamed(client, body)
                return await posted(client, body)
        except BackendError:
            raise
        except TimeoutError:
            raise BackendTimeoutError(f"no reply from {self.connection.base_url} within "
                                      f"{self.endpoint.timeout_s:g} s") from None
        except Exception as exc:  # noqa: BLE001 - every SDK/transport error is translated here
            err = self._translate(exc)
            if self.endpoint.structured == "auto" and "response_format" in body and refuses_schema(exc):
                self.structured = "none"  # the server has no structured output: prompt-only from now on
                body = {k: v for k, v in body.items() if k != "response_format"}
                return await self._attempt(client, body)
            raise err from None

    def _translate(self, exc: BaseException) -> BackendError:
        return translate_error(exc, self.connection.base_url, self.connection.key_env,
                               getattr(self._client, "api_key", None))

    def _reply(self, request: AgentRequest, model: str, body: dict[str, Any], data: dict[str, Any],
               content: str | None, latency: float, attempts: int) -> AgentReply:
        tokens_in, tokens_out = reported_usage(data)
        estimated = tokens_in is None or tokens_out is None
        if estimated:
            tokens_in = estimate_prompt_tokens(body["messages"])
            tokens_out = estimate_tokens(content or "")
        cost = self.prices.cost(model, tokens_in, tokens_out)
        if not estimated:
            self._check_usage(body, tokens_in, tokens_out, cost)
        try:
            parsed = self.codec.parse(content, request)
        except MalformedOutputError as err:
            err.tokens_in, err.tokens_out, err.cost_usd = tokens_in, tokens_out, cost  # spent all the same
            raise
        message = parsed.message[: 4 * self.endpoint.max_tokens]  # keeps the budget bound's promise
        return AgentReply(request.agent, parsed.answer, parsed.confidence, message, tokens_in, tokens_out,
                          latency, cost, estimated, parsed.actions, attempts)


    def _check_usage(self, body: dict[str, Any], tokens_in: int, tokens_out: int, cost: float | None) -> None:
        """Refuse usage above what the call can use (``backends.bounds``): the budget's
        bound would not hold, so the call fails and the run stops before its next call."""
        bound, cap = prompt_token_bound(body["messages"]), self.endpoint.max_tokens
        if tokens_in <= bound and tokens_out <= cap:
            return
        err = UsageAboveBoundError(f"{self.connection.base_url} reported {tokens_in} prompt + {tokens_out} "
                                   f"completion tokens for a call that can use at most {bound} + {cap} (the "
                                   "prompt's UTF-8 bytes and chat framing, max_tokens); the run stops before its "
                                   "next call")
        err.tokens_in, err.tokens_out, err.cost_usd = tokens_in, tokens_out, cost  # billed all the same
        raise err
