"""Resolving an :class:`EndpointSpec` against the environment: URL, key variable, loopback.

Why apart from the backend: these rules are stdlib-only and easy to get subtly wrong
(a key leaking into a message, a remote endpoint silently used without a key), so
they live in one small, separately tested place. The key itself is read only by
:func:`read_key`, at the moment the client is created, and is never stored here.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from llmteams_lab.errors import SpecError
from llmteams_lab.spec.endpoint import EndpointSpec, check_base_url

__all__ = ["Connection", "OPENAI_URL", "is_loopback", "is_loopback_host", "read_key", "resolve_connection"]

OPENAI_URL = "https://api.openai.com/v1"
LOOPBACK_KEY = "no-key-needed-on-loopback"  # the SDK insists on some key


@dataclass(frozen=True)
class Connection:
    """Where calls go and which environment variable holds the key (not the key)."""

    base_url: str
    key_env: str
    loopback: bool

    def __repr__(self) -> str:
        return f"Connection({self.base_url!r}, key from ${self.key_env}, loopback={self.loopback})"


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    return is_loopback_host(urlsplit(url).hostname or "")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_connection(endpoint: EndpointSpec, environ: Mapping[str, str] | None = None) -> Connection:
    """The endpoint's URL (spec, else ``OPENAI_BASE_URL``, else OpenAI) and key variable.

    Raises :class:`SpecError` for a bad ``OPENAI_BASE_URL`` and for a non-loopback
    endpoint whose key variable is unset or empty — before any request is made.
    """
    env = os.environ if environ is None else environ
    if endpoint.base_url is not None:
        url = endpoint.base_url
    elif env.get("OPENAI_BASE_URL"):
        url = check_base_url("$OPENAI_BASE_URL", env["OPENAI_BASE_URL"])
    else:
        url = OPENAI_URL
    loopback = is_loopback(url)
    if not loopback and not env.get(endpoint.api_key_env):
        raise SpecError("endpoint.api_key_env", f"must name a set environment variable holding the API key "
                        f"for {url} (${endpoint.api_key_env} is not set)", show_got=False)
    return Connection(url.rstrip("/"), endpoint.api_key_env, loopback)


def read_key(connection: Connection, environ: Mapping[str, str] | None = None) -> str:
    """The API key, read from the environment now (a loopback endpoint may have none)."""
    env = os.environ if environ is None else environ
    key = env.get(connection.key_env)
    if key:
        return key
    if connection.loopback:
        return LOOPBACK_KEY
    raise SpecError("endpoint.api_key_env", f"must name a set environment variable holding the API key "
                    f"for {connection.base_url} (${connection.key_env} is not set)", show_got=False)
