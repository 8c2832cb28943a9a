"""Per-agent mailboxes of an asynchronous team: message queues between agents.

Each agent has one FIFO mailbox. A message that arrives is appended unless the mailbox
is at its capacity (``network.mailbox``), in which case it is dropped — drop-tail, the
classic behaviour of a bounded queue — and the engine records ``MessageDropped`` with
fault ``overflow``. When the agent acts it takes everything in its mailbox at once (its
inbox for that turn), in arrival order.

A mailbox also remembers which senders were heard from since its owner last acted, for
the ``wait`` policies that make an agent act only once it has heard from all (or a
quorum) of its peers.
"""

from __future__ import annotations

from typing import Sequence

from llmteams_lab.rounds import Entry

__all__ = ["Mailboxes"]


class Mailboxes:
    """The mailboxes of ``n`` agents with a common ``capacity`` (``None``: unbounded)."""

    def __init__(self, n: int, capacity: int | None):
        self.capacity = capacity
        self.boxes: list[list[Entry]] = [[] for _ in range(n)]
        self.heard: list[set[int]] = [set() for _ in range(n)]

    def put(self, r: int, entry: Entry) -> bool:
        """Append ``entry`` to ``r``'s mailbox; ``False`` if it was full (dropped)."""
        box = self.boxes[r]
        if self.capacity is not None and len(box) >= self.capacity:
            return False
        box.append(entry)
        self.heard[r].add(entry[0])
        return True

    def take(self, r: int) -> list[Entry]:
        """Everything in ``r``'s mailbox, in arrival order, emptying it."""
        box, self.boxes[r] = self.boxes[r], []
        self.heard[r] = set()
        return box

    def lengths(self) -> list[int]:
        return [len(b) for b in self.boxes]

    def waiting(self, r: int) -> int:
        return len(self.boxes[r])

    def heard_from(self, r: int, peers: Sequence[int]) -> int:
        """How many of ``peers`` were heard from since ``r`` last took its mailbox."""
        heard = self.heard[r]
        return sum(1 for p in peers if p in heard)
