"""Where LLM-backed agents are answered: an OpenAI-compatible endpoint, as data.

Why the spec stores ``api_key_env`` (the *name* of an environment variable) and never
the key: specs are written to JSON/TOML, recorded in every run's ``RunStarted`` event
and shared with colleagues. The key is read from the environment only when the
backend opens its client, so it cannot end up in a spec, an event log or a repr.

``base_url = None`` means "``OPENAI_BASE_URL`` if set, else OpenAI's public API".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import replace as _replace
from typing import Any
from urllib.parse import urlsplit

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict

STRUCTURED = ("auto", "json_object", "json_schema", "none")
TOKEN_PARAMS = ("max_completion_tokens", "max_tokens")
TRANSPORTS = ("aiohttp", "httpx")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LOOKS_LIKE_KEY = re.compile(r"(?i)^(sk|bearer)[-_]|[a-z0-9]{40,}")


@dataclass(frozen=True)
class EndpointSpec:
    """An OpenAI-compatible endpoint and how to call it.

    base_url       ``http(s)://host[:port]/v1``; ``None``: ``OPENAI_BASE_URL`` or OpenAI
    api_key_env    name of the environment variable holding the key (never the key);
                   a loopback endpoint (127.0.0.1, localhost) needs no key
    model          model for agents whose ``model`` is not set
    timeout_s      deadline of one attempt (the SDK's default of 600 s is never used)
    max_retries    retries after a 429, a 5xx, a timeout or a dropped connection, inside
                   one agent call (each an ``AgentRetried`` event); the team's
                   ``failure_policy`` decides what happens when they are spent
    backoff_s      first retry delay when the server sends no ``Retry-After``; doubles
    max_backoff_s  cap of that delay (a server's ``Retry-After`` is honoured up to 60 s)
    max_tokens     completion cap per call; also the worst case used by token budgets
    token_param    request field carrying that cap (older servers: ``max_tokens``)
    structured     reply format: ``json_schema`` (strict schema, answer as an enum),
                   ``json_object``, ``none`` (prompt only) or ``auto`` (schema, falling
                   back to prompt-only if the server rejects it)
    stream         ask for server-sent events instead of one JSON body
    transport      HTTP transport under the ``openai`` client: ``aiohttp`` (the SDK's
                   aiohttp client; far less CPU per call in large rounds — bench/README;
                   the httpx one when the SDK has none) or ``httpx`` (the SDK default)
    """

    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    model: str = "gpt-4o-mini"
    timeout_s: float = 30.0
    max_retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_tokens: int = 512
    token_param: str = "max_completion_tokens"
    structured: str = "auto"
    stream: bool = False
    transport: str = "aiohttp"

    def __post_init__(self) -> None:
        if self.base_url is not None:
            check_base_url("base_url", self.base_url)
        check_env_name("api_key_env", self.api_key_env)
        c.text("model", self.model, allow_empty=False)
        object.__setattr__(self, "timeout_s", c.positive("timeout_s", self.timeout_s, c.MAX_SECONDS))
        c.int_at_least("max_retries", self.max_retries, 0, c.MAX_RETRIES)
        object.__setattr__(self, "backoff_s", c.non_negative("backoff_s", self.backoff_s, c.MAX_SECONDS))
        object.__setattr__(self, "max_backoff_s", c.non_negative("max_backoff_s", self.max_backoff_s, c.MAX_SECONDS))
        c.int_at_least("max_tokens", self.max_tokens, 1, c.MAX_TOKENS)
        c.one_of("token_param", self.token_param, TOKEN_PARAMS)
        c.one_of("structured", self.structured, STRUCTURED)
        c.boolean("stream", self.stream)
        c.one_of("transport", self.transport, TRANSPORTS)

    def replace(self, **changes: Any) -> "EndpointSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "EndpointSpec":
        return from_dict(cls, data, path)


def check_base_url(path: str, url: Any) -> str:
    """An ``http(s)://host[/path]`` URL without embedded credentials, query or fragment.

    A URL with ``user:password@`` is refused *without echoing it*: it would carry a
    secret into the spec.
    """
    if not isinstance(url, str):
        raise SpecError(path, "must be an http(s) URL such as 'http://127.0.0.1:8000/v1'", url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SpecError(path, "must be an http(s) URL with a valid host and port", url) from None
    if parts.username is not None or parts.password is not None:
        raise SpecError(path, "must not embed credentials (put the key in the environment variable "
                        "named by 'api_key_env')", show_got=False)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(path, "must be an http(s) URL such as 'http://127.0.0.1:8000/v1'", url)
    if parts.query or parts.fragment:
        raise SpecError(path, "must not have a query or fragment", url)
    return url


def check_env_name(path: str, name: Any) -> str:
    """An environment variable *name*. Values that look like a key are refused unseen."""
    if isinstance(name, str) and _ENV_NAME.fullmatch(name) and not _LOOKS_LIKE_KEY.search(name):
        return name
    raise SpecError(path, "must be the name of an environment variable (letters, digits, '_'), "
                    "not the key itself", show_got=False)
