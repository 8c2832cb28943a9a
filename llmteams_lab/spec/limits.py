"""An endpoint's resource limits, as data: concurrent requests, requests and tokens per minute.

Providers limit each API key: so many requests in flight, so many requests (RPM) and
tokens (TPM) a minute; past them they answer HTTP 429. A team of agents sharing one key
meets these limits long before the model is the bottleneck. ``EndpointSpec.limits``
declares them, and the team then keeps them itself (``backends.limits``): a call waits
for a free slot and for the token buckets to allow it, so the team never triggers a 429
it could have avoided — on a real endpoint (the ``openai`` backend waits in real time)
and identically for simulated agents (the same limiter on the run's virtual clock).

concurrent  requests in flight at once (``None``: no limit)
rpm         requests per minute (``None``: no limit)
tpm         tokens per minute (``None``: no limit); a request is charged what a provider
            counts when it arrives — its estimated prompt tokens plus its completion cap
            (``EndpointSpec.max_tokens``); a simulated agent's call, its tokens in and out
burst_s     how much of the per-minute rates may go at once: each rate is a token bucket
            holding ``burst_s`` seconds' worth (at least one request; a request larger than
            the bucket waits for a full bucket and leaves it in debt), refilled at the
            rate. 1 s (the default) smooths a team's calls; providers usually allow more
            (often a minute's worth), so a limiter no more permissive than its provider
            never meets its 429s

The rates are numbers > 0 — a negative or zero rate is a :class:`SpecError` naming it.

Scope: one run's agents share the limiter (one key per team). Runs that share a key at
the same time (a sweep's workers, two notebooks) each keep the limits on their own, so
give each its share of the key's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

__all__ = ["RateLimitSpec"]


@dataclass(frozen=True)
class RateLimitSpec:
    """Per-key limits of an endpoint (see the module docstring)."""

    concurrent: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    burst_s: float = 1.0

    def __post_init__(self) -> None:
        c.optional(c.int_at_least, "concurrent", self.concurrent, 1)
        for name in ("rpm", "tpm"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, c.positive(name, getattr(self, name)))
        object.__setattr__(self, "burst_s", c.positive("burst_s", self.burst_s))
        if self.burst_s > 3600:
            raise SpecError("burst_s", "must be at most 3600 (an hour's worth)", self.burst_s)

    @property
    def any(self) -> bool:
        """Whether any limit is set."""
        return self.concurrent is not None or self.rpm is not None or self.tpm is not None

    def replace(self, **changes: Any) -> "RateLimitSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "RateLimitSpec":
        return from_dict(cls, data, path)
