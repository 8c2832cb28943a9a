"""The gossip codec: what an LLM gossiper is asked each turn, and how its reply is read.

The prompt (``workloads.roles.render_turn``) shows the question, the value the agent
holds (or none), the rumours it just read (who said which value) and the pull requests
it received; it is asked one choice:

hold  the value it holds now: one of the options, or null while it has heard nothing
      (a source holding nothing answers the question itself)

Its code then tells peers what it holds, or asks them (the agent does not pick peers:
gossip's random choice of peers is what its guarantees rest on). The reply is one JSON
object ``{"hold": ..., "message": ...}``; its value is matched to an option as
deliberation's answers are, and becomes the reply's answer.
"""

from __future__ import annotations

from typing import Any, Iterable

from llmteams_lab.messages import AgentRequest, ParsedReply
from llmteams_lab.workloads.deliberation.codec import match_option
from llmteams_lab.workloads.roles import choice_format, read_turn, render_turn, reply_choices, with_inbox

__all__ = ["CODEC", "GossipCodec"]

_SYSTEM = ("You are agent {agent}, a gossiper in a team of AI agents that spreads one answer to the Question by "
           "gossip: each agent holding the answer passes it on to peers drawn at random, and the team's code does "
           "the sending. State.held is the answer you hold (null: none yet); State.rumours are the answers peers "
           "just told you.")
_SOURCE = "You are a source: if you hold nothing yet, answer the Question yourself."
_RELAY = "Hold an answer only once a peer has told it to you; keep the answer you hold unless you have a reason."
_FORMAT = ('Reply with one JSON object and nothing else: {"hold": one of the Options exactly as written, or null, '
           '"message": one sentence for your peers}.')


class GossipCodec:
    """The gossip workload's :class:`~llmteams_lab.backends.base.Codec`."""

    name = "gossip"

    def render(self, request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]:
        lines = [_SYSTEM.format(agent=request.agent), _SOURCE if request.view.get("source") else _RELAY]
        if persona:
            lines.append(f"Persona: {' '.join(persona.split())}")
        lines.append(_FORMAT)
        return render_turn(self.name, request, "\n".join(lines))

    def response_format(self, request: AgentRequest, mode: str) -> dict[str, Any] | None:
        options = list(request.question.options) if request.question is not None else []
        return choice_format({"hold": {"type": ["string", "null"], "enum": [*options, None]}}, mode, "gossip_reply")

    def parse(self, text: str | None, request: AgentRequest) -> ParsedReply:
        choices, message = reply_choices(text, ["hold"])
        options = request.question.options if request.question is not None else ()
        held = match_option(choices["hold"], options) if "hold" in choices else None
        return ParsedReply(held, None, message.strip())

    def with_inbox(self, request: AgentRequest, senders: Iterable[str], message_chars: int) -> AgentRequest:
        return with_inbox(request, senders, message_chars)

    def read_prompt(self, messages: Any) -> AgentRequest | None:
        return read_turn(messages, self.name)


CODEC = GossipCodec()
