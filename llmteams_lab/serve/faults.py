"""HTTP-level faults for ``serve`` and ``proxy``: what goes wrong, for which request.

A :class:`FaultPlan` holds rules. Each request is checked against the rules in order;
the first rule that fires decides the request's fault. A rule fires

* on schedule: it matches (optionally only one agent's requests, or one round's — read
  from the team prompt), skips its first ``after`` matches, then fires ``times`` times
  (``None``: every time); or
* by probability: it fires with ``probability``, drawn from a stream keyed by the plan's
  seed and the request's *content* (plus how often that exact body was seen, so a
  retry draws again). Keying by content, not arrival order, makes a concurrent team's
  faults reproducible: the same request gets the same fate whatever else is in flight.

Kinds (the response the client sees):

=================  ===========================================================
slow_reply         the normal reply, ``wait_s`` seconds late (an HTTP-level delay,
                   not the ``delay`` network fault of a team's messages)
rate_limit         HTTP 429 with ``Retry-After`` (and ``retry-after-ms``)
server_error       HTTP ``status`` (default 500)
unauthorized       HTTP 401
timeout            nothing for ``wait_s`` seconds (default 30), then a close
reset              the connection is dropped without a response
malformed          HTTP 200 whose body is not JSON
truncated          HTTP 200 with the real body cut in half (invalid JSON)
no_usage           the real reply without its ``usage`` field (serve)
no_choices         a reply with ``"choices": []`` (serve)
overreport         the real reply with its ``usage`` multiplied by ``factor`` (default 10):
                   a server that bills more than a call can use (serve)
prose              a reply whose text is prose, not the requested JSON, naming no answer (serve)
chatty             the reply's answer and confidence stated in prose, as chat models do when
                   they ignore the format ("I'll go with C. Confidence: 85%") (serve)
reject_structured  HTTP 400 to requests asking for ``response_format`` (serve)
=================  ===========================================================
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from llmteams_lab.errors import SpecError

__all__ = ["FAULT_KINDS", "FaultPlan", "FaultRule", "PROXY_KINDS"]

FAULT_KINDS = ("chatty", "malformed", "no_choices", "no_usage", "overreport", "prose", "rate_limit",
               "reject_structured", "reset", "server_error", "slow_reply", "timeout", "truncated", "unauthorized")
PROXY_KINDS = ("malformed", "rate_limit", "reset", "server_error", "slow_reply", "timeout", "truncated",
               "unauthorized")


@dataclass(frozen=True)
class FaultRule:
    """One fault and when it fires (see the module docstring)."""

    kind: str
    times: int | None = 1
    after: int = 0
    agent: str | None = None
    round: int | None = None
    probability: float | None = None
    retry_after_s: float | None = None
    wait_s: float | None = None
    status: int = 500
    factor: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise SpecError("kind", f"must be one of {list(FAULT_KINDS)}", self.kind)
        if self.times is not None and (not isinstance(self.times, int) or self.times < 0):
            raise SpecError("times", "must be an integer >= 0 or None", self.times)
        if not isinstance(self.after, int) or self.after < 0:
            raise SpecError("after", "must be an integer >= 0", self.after)
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise SpecError("probability", "must be in [0, 1]", self.probability)
        for name in ("retry_after_s", "wait_s"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise SpecError(name, "must be a number >= 0", value)
        if not isinstance(self.status, int) or not 400 <= self.status <= 599:
            raise SpecError("status", "must be an HTTP error status 400..599", self.status)
        if self.factor is not None and (not isinstance(self.factor, (int, float)) or not 0 < self.factor <= 1e9):
            raise SpecError("factor", "must be a number in (0, 1e9]", self.factor)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FaultRule":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(unknown[0], f"is not a fault rule field; expected some of {sorted(known)}", show_got=False)
        return cls(**dict(data))

    def matches(self, agent: str | None, round: int | None, structured: bool) -> bool:
        if self.kind == "reject_structured" and not structured:
            return False
        return (self.agent is None or self.agent == agent) and (self.round is None or self.round == round)


class FaultPlan:
    """Rules plus their counters; thread-safe (tests change a plan while it serves)."""

    def __init__(self, rules: Iterable[FaultRule | Mapping[str, Any]] = (), *, seed: int = 0):
        self.seed = seed
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._seen: list[int] = []
        self._bodies: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule | Mapping[str, Any] | str, **fields: Any) -> FaultRule:
        """Add a rule: a :class:`FaultRule`, a dict, or a kind plus fields
        (``plan.add("rate_limit", times=2, retry_after_s=0.01)``)."""
        if isinstance(rule, str):
            rule = FaultRule(rule, **fields)
        elif not isinstance(rule, FaultRule):
            rule = FaultRule.from_dict(rule)
        elif fields:
            rule = replace(rule, **fields)
        with self._lock:
            self._rules.append(rule)
            self._seen.append(0)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules, self._seen = [], []
            self._bodies.clear()
            self.fired.clear()

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        return tuple(self._rules)

    def pick(self, body: bytes, agent: str | None = None, round: int | None = None,
             structured: bool = False) -> FaultRule | None:
        """The fault for this request (``None``: serve it normally); counts it as fired."""
        with self._lock:
            digest = hashlib.sha256(body).hexdigest()
            occurrence = self._bodies[digest]
            self._bodies[digest] += 1
            for i, rule in enumerate(self._rules):
                if not rule.matches(agent, round, structured):
                    continue
                if rule.probability is not None:
                    draw = random.Random(f"{self.seed}|{i}|{digest}|{occurrence}").random()
                    if draw < rule.probability:
                        return self._fire(rule)
                    continue
                self._seen[i] += 1
                fired = self._seen[i] - rule.after
                if fired >= 1 and (rule.times is None or fired <= rule.times):
                    return self._fire(rule)
            return None

    def _fire(self, rule: FaultRule) -> FaultRule:
        self.fired[rule.kind] += 1
        return rule

    def __repr__(self) -> str:
        return f"<FaultPlan {len(self._rules)} rules, fired {dict(self.fired)}>"
