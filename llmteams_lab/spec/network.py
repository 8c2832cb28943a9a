"""How messages travel and how agents notice silence: the network and the failure detector.

Execution models (``TeamSpec.execution``)
  synchronous            rounds with a barrier: every live agent answers, the round
                         lasts as long as its slowest agent (and its slowest message in
                         flight), messages sent in round r are read in round r + 1
  asynchronous           no barrier: an agent acts when a message arrives (or a timer it
                         set fires), its reply takes its latency, each message takes its
                         link's delay; a "round" is only a reporting slice of ``tick_s``
                         virtual seconds
  partially_synchronous  asynchronous, but message delays are unbounded (heavy-tailed)
                         until the global stabilisation time ``gst_s`` and at most
                         ``delta_s`` after it — the model of Dwork, Lynch and Stockmeyer
                         in which consensus with timeouts becomes possible

:class:`NetworkSpec` (``TeamSpec.network``; ``None``: instant, lossless, unbounded)
  delay_s, jitter   a message's time in flight: ``delay_s · exp(jitter · z)`` seconds,
                    per message (log-normal, like agents' latencies); ``links`` override
                    both for named links (both directions)
  mailbox           each agent's mailbox capacity (FIFO, drop-tail: a message arriving
                    at a full mailbox is dropped, fault ``overflow``); ``None``: unbounded
  reliable          retransmit a message the network lost, ``retransmit_s`` after it was
                    sent, until it gets through (a fair-loss link made reliable); a
                    message that was only slow is retransmitted too, so duplicates arrive
                    and are visible (fault ``duplicate``) — receivers read each once
  gst_s, delta_s    partial synchrony (see above)
  tick_s            the reporting slice of asynchronous runs (default: the team's median
                    latency); budgets' ``max_rounds`` counts these slices

:class:`DetectorSpec` (``TeamSpec.detector``): a timeout-based failure detector. Agent i
suspects a peer it has not heard from for ``timeout_s`` (``Suspected``) and withdraws
the suspicion when it hears from it again (``Unsuspected``) — a slow agent is suspected
falsely, a crashed one for good. With ``heartbeat_s`` every live agent also sends a
heartbeat to its out-neighbours that often, so silence means trouble, not idleness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace
from llmteams_lab.spec.roster import values

__all__ = ["DetectorSpec", "EXECUTIONS", "LinkSpec", "NetworkSpec", "check_communication"]

EXECUTIONS = ("asynchronous", "partially_synchronous", "synchronous")
_MAX_SECONDS = 1e9  # ~31 years of virtual time: a bound that keeps clock arithmetic exact


def _seconds(path: str, value: Any, *, positive: bool = False) -> float:
    if not c.is_number(value) or value < 0 or (positive and value == 0) or value > _MAX_SECONDS:
        bound = "> 0" if positive else ">= 0"
        raise SpecError(path, f"must be a finite number of seconds {bound} and <= {_MAX_SECONDS:g}", value)
    return float(value)


@dataclass(frozen=True)
class LinkSpec:
    """The delay of one link (both directions), overriding the network's default."""

    link: tuple[str, str]
    delay_s: float
    jitter: float = 0.0

    _TUPLES = ("link",)

    def __post_init__(self) -> None:
        if not (isinstance(self.link, (tuple, list)) and len(self.link) == 2
                and all(isinstance(a, str) and a for a in self.link) and self.link[0] != self.link[1]):
            raise SpecError("link", "must be two different agent ids", self.link)
        object.__setattr__(self, "link", tuple(self.link))
        object.__setattr__(self, "delay_s", _seconds("delay_s", self.delay_s))
        object.__setattr__(self, "jitter", c.number_in("jitter", self.jitter, 0, 5))

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "LinkSpec":
        return from_dict(cls, data, path)


@dataclass(frozen=True)
class NetworkSpec:
    """Link delays, mailboxes, reliability and timing assumptions (module docstring)."""

    delay_s: float = 0.0
    jitter: float = 0.0
    links: tuple[LinkSpec, ...] = ()
    mailbox: int | None = None
    reliable: bool = False
    retransmit_s: float | None = None
    gst_s: float | None = None
    delta_s: float | None = None
    tick_s: float | None = None

    _NESTED = {"links": LinkSpec}

    def __post_init__(self) -> None:
        object.__setattr__(self, "delay_s", _seconds("delay_s", self.delay_s))
        object.__setattr__(self, "jitter", c.number_in("jitter", self.jitter, 0, 5))
        if not isinstance(self.links, (tuple, list)) or not all(isinstance(x, LinkSpec) for x in self.links):
            raise SpecError("links", "must be a list of link tables", self.links)
        object.__setattr__(self, "links", tuple(self.links))
        seen: set[frozenset[str]] = set()
        for i, link in enumerate(self.links):
            key = frozenset(link.link)
            if key in seen:
                raise SpecError(f"links[{i}].link", "must name each link once", list(link.link))
            seen.add(key)
        if self.mailbox is not None:
            c.int_at_least("mailbox", self.mailbox, 1)
        c.boolean("reliable", self.reliable)
        for name in ("retransmit_s", "delta_s", "tick_s"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _seconds(name, getattr(self, name), positive=True))
        if self.gst_s is not None:
            object.__setattr__(self, "gst_s", _seconds("gst_s", self.gst_s))
        if (self.gst_s is None) != (self.delta_s is None):
            missing = "delta_s" if self.delta_s is None else "gst_s"
            raise SpecError(missing, "is required when the other partial-synchrony bound is set", show_got=False)
        if self.retransmit_s is not None and not self.reliable:
            raise SpecError("retransmit_s", "needs reliable = true", self.retransmit_s)

    def replace(self, **changes: Any) -> "NetworkSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        if not self.links:
            del data["links"]
        return data

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "NetworkSpec":
        return from_dict(cls, data, path)


@dataclass(frozen=True)
class DetectorSpec:
    """A timeout-based failure detector (see the module docstring)."""

    timeout_s: float
    heartbeat_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout_s", _seconds("timeout_s", self.timeout_s, positive=True))
        if self.heartbeat_s is not None:
            object.__setattr__(self, "heartbeat_s", _seconds("heartbeat_s", self.heartbeat_s, positive=True))
            if self.heartbeat_s >= self.timeout_s:
                raise SpecError("heartbeat_s", f"must be < timeout_s ({self.timeout_s:g}), or every live "
                                               "peer would be suspected between heartbeats", self.heartbeat_s)

    def replace(self, **changes: Any) -> "DetectorSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "DetectorSpec":
        return from_dict(cls, data, path)


def check_communication(team: Any) -> None:
    """Cross-field rules of a team's execution model, network, detector and addressing
    (``team`` is a :class:`~llmteams_lab.spec.TeamSpec` under construction)."""
    asynchronous = team.execution != "synchronous"
    network = team.network
    if asynchronous and team.protocol.kind == "leader":
        raise SpecError("protocol.kind", "must not be 'leader' in an asynchronous team (its report-then-aggregate "
                                         "phases need rounds); use debate or quorum", "leader")
    gst = network.gst_s if network is not None else None
    if team.execution == "partially_synchronous" and gst is None:
        raise SpecError("network.gst_s", "is required for execution = 'partially_synchronous' (with delta_s)",
                        show_got=False)
    if gst is not None and team.execution != "partially_synchronous":
        raise SpecError("network.gst_s", "needs execution = 'partially_synchronous'", gst)
    if not asynchronous:
        for path, value in (("detector", team.detector), ("protocol.wait", team.protocol.wait),
                            ("network.tick_s", network.tick_s if network is not None else None)):
            if value is not None:
                raise SpecError(path, "applies to asynchronous teams only (execution = 'asynchronous' or "
                                      "'partially_synchronous')", value.to_dict() if hasattr(value, "to_dict")
                                else value)
    addressed = [i for i, a in enumerate(team.agents) if a.recipients is not None or a.fanout is not None] \
        if values(team.agents, "recipients") != {None} or values(team.agents, "fanout") != {None} else []
    if not addressed and (network is None or not network.links):
        return
    ids = team.ids
    index = {a: i for i, a in enumerate(ids)}
    outs: list[set[int]] = [set() for _ in ids]
    for a, b in team.arcs():
        outs[a].add(b)
    for i in addressed:
        _check_addressing(team.agents[i], f"agents[{i}]", index, outs[i])
    for j, link in enumerate(network.links if network is not None else ()):
        path = f"network.links[{j}].link"
        unknown = [a for a in link.link if a not in index]
        if unknown:
            raise SpecError(path, "must name agents of the team", unknown[0])
        a, b = (index[x] for x in link.link)
        if b not in outs[a] and a not in outs[b]:
            raise SpecError(path, "must be a link of the topology", list(link.link))


def _check_addressing(agent: Any, path: str, index: dict[str, int], outs: set[int]) -> None:
    if agent.recipients is not None:
        for r in agent.recipients:
            if r not in index:
                raise SpecError(f"{path}.recipients", "must name agents of the team", r)
            if index[r] not in outs:
                raise SpecError(f"{path}.recipients", f"must name out-neighbours of {agent.id!r} in the "
                                                      "topology", r)
    if agent.fanout is not None and agent.fanout > len(outs):
        raise SpecError(f"{path}.fanout", f"must be <= the {len(outs)} out-neighbours of {agent.id!r}",
                        agent.fanout)
