"""The gossip workload's own event type.

``Informed``: ``agent`` holds the value for the first time (``value``); ``peer`` is the
agent whose message told it (none for a source, which answered the question itself);
``detail`` gives ``hops`` (the length of the path from a source) and ``how`` (``push``,
``pull`` or ``source``). One per agent, so the spread curve and the rounds to reach
everyone read off the log (``metrics.coordination.gossip_spread``).
"""

from llmteams_lab.events import define_event

__all__ = ["Informed"]

Informed = define_event("Informed", "``agent`` holds the gossiped value for the first time; ``peer`` told it.")
