"""Who a message goes to, and how long it is in flight.

Addressing (both execution models): a reply's messages go to every out-neighbour of
its sender (broadcast), to the recipients the reply itself names (an LLM agent's ``to``
field), to the sender's configured ``recipients``, or to ``fanout`` out-neighbours drawn
per message — in that order of precedence (``AgentSpec``). A named recipient that is not
an out-neighbour cannot be reached: that message is recorded as dropped with fault
``no_route``.

Delays (asynchronous models): ``delay_s · exp(jitter · z)`` seconds per message, the
link's own values where ``network.links`` names it; under partial synchrony a message
sent before the global stabilisation time also waits a heavy-tailed (Pareto, α = 1.2)
multiple of ``delta_s`` — unbounded in principle — but arrives by ``gst_s + delta_s`` at
the latest, and one sent after it arrives within ``delta_s``. Every delay is put on the
run clock's microsecond grid where it is drawn.

Randomness: one generator per (seed, sender, message batch of that sender), so an
agent's draws do not depend on what other agents do or how many there are.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from llmteams_lab.rounds import on_grid
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.roster import values
from llmteams_lab.streams import KeyedStreams

__all__ = ["Links", "draw_delay"]

_STREAM = 0x11C5  # the network's random stream
_PARETO = 1.2  # tail index of pre-GST extra delays


class Links:
    """Addressing and delays for one team (see the module docstring)."""

    def __init__(self, spec: TeamSpec, network: Any):
        self._network = network  # its out-neighbour lists are built only if a message needs them
        self.n = len(spec.agents)
        self.seed = spec.seed  # (the setter makes the senders' streams)
        addressed = values(spec.agents, "recipients") != {None} or values(spec.agents, "fanout") != {None}
        named = addressed or (spec.network is not None and spec.network.links)
        index = {a: i for i, a in enumerate(spec.ids)} if named else {}
        self.fixed: dict[int, tuple[int, ...]] = {}
        self.fanout: dict[int, int] = {}
        for i, agent in enumerate(spec.agents if addressed else ()):
            if agent.recipients is not None:
                self.fixed[i] = tuple(sorted(index[r] for r in agent.recipients))
            elif agent.fanout is not None:
                self.fanout[i] = agent.fanout
        net = spec.network
        self.delay = float(net.delay_s) if net is not None else 0.0
        self.jitter = float(net.jitter) if net is not None else 0.0
        self.per_link: dict[tuple[int, int], tuple[float, float]] = {}
        for link in net.links if net is not None else ():
            a, b = index[link.link[0]], index[link.link[1]]
            self.per_link[(a, b)] = self.per_link[(b, a)] = (link.delay_s, link.jitter)
        self.gst = net.gst_s if net is not None else None
        self.delta = net.delta_s if net is not None else None
        self._batches = [0] * self.n  # message batches drawn per sender
        self._out_sets: dict[int, frozenset[int]] = {}  # per sender, its out-neighbours as a set (built once)

    @property
    def seed(self) -> int:
        """The seed the delays are drawn with (a fork with another seed replays its
        prefix with the recorded one, then draws with its own: ``datasets.async_fork``)."""
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        self._seed = value
        self._streams = KeyedStreams((value, _STREAM), self.n)  # per sender, keyed by batch

    @property
    def out(self) -> list[list[int]]:
        """Each agent's out-neighbours."""
        return self._network.out

    @property
    def addressed(self) -> bool:
        """Whether any sender sends to fewer than all its out-neighbours by configuration."""
        return bool(self.fixed or self.fanout)

    def recipients(self, s: int, named: Sequence[int] | None, rng: np.random.Generator | None) -> tuple[
            list[int], list[int]]:
        """(reachable recipients, unreachable ones) of sender ``s``'s next message; ``named``:
        the recipients its reply named (``None``: none named)."""
        outs = self.out[s]
        if named is not None:
            neighbours = self._out_sets.get(s)
            if neighbours is None:  # built once per sender: O(out-degree), not per message
                neighbours = self._out_sets[s] = frozenset(outs)
            return [r for r in named if r in neighbours], [r for r in named if r not in neighbours]
        if s in self.fixed:
            return list(self.fixed[s]), []
        k = self.fanout.get(s)
        if k is not None and k < len(outs):
            gen = rng if rng is not None else self.generator(s)
            return sorted(int(x) for x in gen.choice(np.asarray(outs), size=k, replace=False)), []
        return list(outs), []

    @property
    def instant(self) -> bool:
        """Whether every message arrives the moment it is sent (no delays configured)."""
        return self.delay == 0.0 and self.jitter == 0.0 and not self.per_link and self.gst is None

    def broadcast_delays(self, s: int, receivers: Sequence[int], t_sent: float) -> np.ndarray:
        """The delays of one broadcast of ``s`` to ``receivers`` — what :meth:`generator`
        then :meth:`delays` give, without building a generator when nothing is drawn."""
        if self.instant:
            self._batches[s] += 1  # the same stream position as a drawn batch
            return np.zeros(len(receivers))
        return self.delays(s, receivers, t_sent, self.generator(s))

    def generator(self, s: int) -> np.random.Generator:
        """The next generator of sender ``s`` (one per message batch it sends):
        ``PCG64([seed, _STREAM, s, batch])``'s, from the sender's streams seeded a block of
        batches at a time (``streams.KeyedStreams``). Draw from it before asking for the
        sender's next batch."""
        batch = self._batches[s]
        self._batches[s] = batch + 1
        return self._streams.generator(s, batch)

    def delays(self, s: int, receivers: Sequence[int], t_sent: float, rng: np.random.Generator) -> np.ndarray:
        """Seconds in flight of ``s``'s messages to ``receivers`` sent at ``t_sent`` (on the
        clock's grid)."""
        m = len(receivers)
        base: Any = self.delay  # one value for every link (the same products as arrays of it)
        jitter: Any = self.jitter
        if self.per_link:
            base, jitter = np.full(m, self.delay), np.full(m, self.jitter)
            for j, r in enumerate(receivers):
                found = self.per_link.get((s, r))
                if found is not None:
                    base[j], jitter[j] = found
        delay = draw_delay(base, jitter, rng.standard_normal(m))
        if self.gst is not None:
            delay = self._partially_synchronous(delay, t_sent, rng.random(m))
        return on_grid(delay)

    def _partially_synchronous(self, delay: np.ndarray, t_sent: float, u: np.ndarray) -> np.ndarray:
        delta, gst = float(self.delta), float(self.gst)
        if t_sent >= gst:
            return np.minimum(delay, delta)
        extra = delta * (np.power(1.0 - u, -1.0 / _PARETO) - 1.0)  # Pareto: unbounded before GST
        return np.minimum(delay + extra, gst + delta - t_sent)


def draw_delay(base: Any, jitter: Any, normal: np.ndarray) -> np.ndarray:
    """Times in flight ``base · exp(jitter · z)`` in seconds (``base``, ``jitter``: one
    value, or one per link): the one place link delays are drawn. numpy's ``exp`` may
    differ in its last bit between CPUs; :meth:`Links.delays` puts the result on the
    clock's grid before anything uses it
    (``tests/runtime/test_float_determinism.py`` moves these draws by one ulp to check)."""
    return base * np.exp(jitter * normal)
