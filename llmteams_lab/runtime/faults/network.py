"""One round's plan for the messages faults touch: the network router's answers.

At the start of a round the injector turns every message-level fault in its window
into masks over the topology's arcs (one entry per arc, see :mod:`runtime.faults.arcs`:
memory grows with the edges, never with n²), then composes them per message in a fixed
order, so the result never depends on the order faults were listed or injected:

1. partition, then drop: the message is lost (``MessageDropped``, fault says which);
2. content: equivocator (the sender tells this receiver option ``receiver mod k``),
   prompt_injection (the message carries the payload), corrupt (arrives unreadable:
   no answer, scrambled text);
3. timing: ``rounds`` late (delays add up), reorder (one more round, so the sender's
   next message overtakes it), ``extra_s`` seconds in flight (the longest wins; a
   synchronous round waits for it, see :meth:`MessagePlan.round_end`);
4. duplicate: one more identical delivery per duplicate fault.

A fate is ``(delay_rounds, fault, transform)`` as :mod:`runtime.network` applies it;
``delay_rounds < 0`` means dropped.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

import numpy as np

from llmteams_lab.events import on_time_grid
from llmteams_lab.runtime.faults.arcs import ArcTable
from llmteams_lab.runtime.faults.schedule import ScheduledFault

__all__ = ["MessagePlan", "plan_messages"]

Fate = tuple  # (delay_rounds, fault name | None, transform | None)
_PARTITION, _DROP = 2, 1


class MessagePlan:
    """Fates of the touched messages of one round, and their seconds in flight."""

    __slots__ = ("fates", "seconds")

    def __init__(self, fates: dict[tuple[int, int], list[Fate]], seconds: dict[tuple[int, int], float]):
        self.fates = fates
        self.seconds = seconds

    def round_end(self, senders: np.ndarray, t_sent: np.ndarray, t_end: float) -> float:
        """The round's end once its slowest in-flight message has arrived."""
        if not self.seconds:
            return t_end
        speaking = set(senders.tolist())
        arrivals = [on_time_grid(float(t_sent[s]) + sec) for (s, _), sec in self.seconds.items() if s in speaking]
        return max([t_end, *arrivals])


class _Masks:
    """The per-arc effects of every message fault in this round, before composition."""

    def __init__(self, arcs: int):
        self.lost = np.zeros(arcs, dtype=np.int8)
        self.rounds = np.zeros(arcs, dtype=np.int64)
        self.seconds = np.zeros(arcs, dtype=np.float64)
        self.copies = np.zeros(arcs, dtype=np.int64)
        self.reorder = np.zeros(arcs, dtype=bool)
        self.corrupt = np.zeros(arcs, dtype=bool)
        self.equivocate = np.zeros(arcs, dtype=bool)
        self.payload: dict[int, str] = {}

    def add(self, fault: ScheduledFault, hit: np.ndarray) -> None:
        kind, spec = fault.kind, fault.spec
        if kind in ("partition", "drop"):
            np.maximum(self.lost, np.where(hit, _PARTITION if kind == "partition" else _DROP, 0).astype(np.int8),
                       out=self.lost)
        elif kind == "delay" and spec.rounds is not None:
            self.rounds += hit * spec.rounds
        elif kind == "delay":
            np.maximum(self.seconds, hit * float(spec.extra_s or 0.0), out=self.seconds)
        elif kind == "duplicate":
            self.copies += hit
        elif kind == "reorder":
            self.reorder |= hit
        elif kind == "corrupt":
            self.corrupt |= hit
        elif kind == "equivocator":
            self.equivocate |= hit

    def touched(self, arcs: ArcTable) -> np.ndarray:
        mask = (self.lost > 0) | (self.rounds > 0) | (self.seconds > 0) | (self.copies > 0)
        mask |= self.reorder | self.corrupt | self.equivocate
        if self.payload:
            mask |= np.isin(arcs.src, np.fromiter(self.payload, dtype=np.int64))
        return mask


def plan_messages(faults: Sequence[ScheduledFault], round: int, seed: int, arcs: ArcTable,
                  options: Sequence[str], payload_of: Callable[[ScheduledFault], str]) -> MessagePlan | None:
    """The plan for ``round`` (``None`` when no message fault acts in it)."""
    masks = _Masks(arcs.size)
    acted = False
    for fault in faults:
        if not fault.in_window(round):
            continue
        acted = True
        if fault.kind in ("equivocator", "prompt_injection"):
            senders = fault.agents_hit(seed, round)
            if fault.kind == "prompt_injection":
                for s in np.flatnonzero(senders).tolist():
                    masks.payload.setdefault(s, payload_of(fault))
            masks.add(fault, arcs.from_senders(senders))
            continue
        hit = fault.arcs_touched(arcs)
        if fault.spec.probability is not None:
            hit &= arcs.uniform(fault.rng(seed, round)) < fault.spec.probability
        masks.add(fault, hit)
    if not acted:
        return None
    return _compose(masks, arcs, masks.touched(arcs), round, seed, options)


def _compose(m: _Masks, arcs: ArcTable, touched: np.ndarray, round: int, seed: int,
             options: Sequence[str]) -> MessagePlan:
    fates: dict[tuple[int, int], list[Fate]] = {}
    seconds: dict[tuple[int, int], float] = {}
    for e in np.flatnonzero(touched).tolist():
        s, r = int(arcs.src[e]), int(arcs.dst[e])
        if m.lost[e]:
            fates[(s, r)] = [(-1, "partition" if m.lost[e] == _PARTITION else "drop", None)]
            continue
        names, answer, payload, scramble = [], None, None, None
        if m.equivocate[e] and options:
            names.append("equivocator")
            answer = r % len(options)
        if s in m.payload:
            names.append("prompt_injection")
            payload = m.payload[s]
        if m.corrupt[e]:
            names.append("corrupt")
            scramble = f"{seed}:{round}:{s}:{r}"
        if m.rounds[e] or m.seconds[e]:
            names.append("delay")
        if m.reorder[e]:
            names.append("reorder")
        if m.seconds[e]:
            seconds[(s, r)] = float(m.seconds[e])
        delay = int(m.rounds[e]) + int(m.reorder[e])
        change = None
        if answer is not None or payload is not None or scramble is not None:
            change = _transform(answer, options[answer] if answer is not None else None, payload, scramble)
        first = (delay, "+".join(names) or None, change)
        fates[(s, r)] = [first] + [(delay, "duplicate", change)] * int(m.copies[e])
    return MessagePlan(fates, seconds)


def _transform(answer: int | None, value: str | None, payload: str | None, scramble: str | None):
    """What happens to the message's content on its way: ``(entry, value) -> (entry, value)``."""

    def apply(entry: tuple, old_value: str | None) -> tuple[tuple, str | None]:
        s, a, conf, text, carried, sent = entry
        new_value = old_value
        if answer is not None:
            a, new_value, text = answer, value, f"My answer is {value}."
        if payload is not None:
            carried = payload
        if scramble is not None:
            a, new_value = -1, None
            text = "".join(random.Random(scramble).sample(text, len(text)))
        return (s, a, conf, text, carried, sent), new_value

    return apply
