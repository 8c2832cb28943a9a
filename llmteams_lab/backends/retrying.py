"""Retrying one agent's call: what is retried, how long to wait, what is recorded.

Why our own loop instead of the SDK's: the SDK retries silently, and every attempt
must be an event (``AgentRetried``). So the client runs with ``max_retries=0`` and
this module decides:

* retried: HTTP 429, 5xx (and 408/409), timeouts, dropped connections and connections
  that could not be made (a server restarting refuses them for a moment);
  never a refused key (401/403), a bad request (4xx) or an unparseable reply;
* the wait: the server's ``Retry-After`` / ``retry-after-ms`` when given (honoured up
  to :data:`MAX_RETRY_AFTER_S`; a longer one is not waited for), else
  ``backoff_s · 2^(attempt-1)`` capped at ``max_backoff_s``, scaled by a jitter in
  [0.75, 1] drawn from the agent, round and attempt — spread out (no thundering herd
  of a whole team), yet the same for the same run.
"""

from __future__ import annotations

import email.utils
import math
import time
import zlib
from dataclasses import dataclass
from typing import Mapping

from llmteams_lab.errors import (
    BackendError,
    BackendTimeoutError,
    ConnectionFailedError,
    RateLimitedError,
    ServerError,
)
from llmteams_lab.spec.endpoint import EndpointSpec

__all__ = ["Attempt", "MAX_RETRY_AFTER_S", "parse_retry_after", "wait_before_retry"]

MAX_RETRY_AFTER_S = 60.0
_RETRYABLE = (RateLimitedError, ServerError, BackendTimeoutError, ConnectionFailedError)


@dataclass(frozen=True)
class Attempt:
    """A failed attempt that was retried: offsets in seconds from the call's start."""

    agent: str
    attempt: int
    start_s: float
    took_s: float
    wait_s: float
    error: BackendError


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``retry-after`` as
    seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
            return value if math.isfinite(value) and value >= 0 else None
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def wait_before_retry(err: BackendError, attempt: int, endpoint: EndpointSpec, key: str) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or ``None`` if it must not happen."""
    if attempt > endpoint.max_retries or not isinstance(err, _RETRYABLE):
        return None
    if err.retry_after is not None:
        return err.retry_after if err.retry_after <= MAX_RETRY_AFTER_S else None
    base = min(endpoint.backoff_s * 2 ** (attempt - 1), endpoint.max_backoff_s)
    jitter = 0.75 + 0.25 * (zlib.crc32(f"{key}/{attempt}".encode()) / 0xFFFFFFFF)
    return base * jitter
