"""The commit codec: what an LLM coordinator or participant is asked, and how its reply is read.

Every turn's prompt (``workloads.roles.render_turn``) shows the node's state as its code
sees it and the messages it received. The choices (``view["decide"]``):

vote, part  (participant, when asked to prepare or do its step) ``"yes"`` with its part —
            its answer to the step's question (one of the options) or, for a step with an
            action, the text it produced — or ``"no"`` when it cannot do the step
decide      (coordinator, when every step is ok) ``"commit"``, or ``"abort"`` to veto

Everything else — deadlines, blocking, compensations, backups — is the code's. The
reply is one JSON object with exactly the keys asked for and a ``message``.
"""

from __future__ import annotations

from typing import Any, Iterable

from llmteams_lab.messages import AgentRequest, ParsedReply
from llmteams_lab.workloads.deliberation.codec import match_option
from llmteams_lab.workloads.roles import (
    actions_of,
    choice_format,
    read_turn,
    render_turn,
    reply_choices,
    with_inbox,
)

__all__ = ["CODEC", "CommitCodec"]

_PROTOCOLS = {
    "two_phase": "two-phase commit: every part is prepared and voted on; the output is committed only if every "
                 "step votes yes, else nothing is.",
    "saga": "a saga: the steps run one after another; if one fails, the completed ones are undone (compensated) "
            "in reverse order.",
    "best_effort": "best effort: every part is asked for at once and whatever arrives is published.",
}
_ROLES = {
    "coordinator": "You are {agent}, the coordinator: you ask the participants for their parts and decide the outcome.",
    "participant": "You are {agent}, a participant: you produce one part of the team's joint output.",
    "replica": "You are {agent}, one of several replicas producing the same part; the coordinator takes the part "
               "most replicas agree on.",
    "primary": "You are {agent}, the primary for one part; a backup takes over if you stay silent.",
    "backup": "You are {agent}, the backup for one part: you were asked because the primary stayed silent.",
}
_CHOICES = {
    "vote": 'vote: "yes" if you can do your step (State.step; State.action says what it is, or answer the '
            'Question), "no" if you cannot.',
    "part": "part: your part — one of the Options exactly as written when there is a Question, else the text "
            "you produced; null when you vote no.",
    "decide": 'decide: every step is ok (State.steps). "commit" publishes the output; "abort" vetoes it.',
}


def system_prompt(request: AgentRequest, persona: str | None = None) -> str:
    """The role, the protocol and this turn's choices, with the reply format."""
    decide = list(request.view.get("decide", ()))
    lines = [_ROLES.get(request.role, _ROLES["participant"]).format(agent=request.agent),
             "The team produces a multi-part output by " + _PROTOCOLS.get(str(request.view.get("protocol")), "") +
             " The team's code sends and receives the protocol's messages and enforces its rules; you make the "
             "choices listed under 'Decide'."]
    if persona:
        lines.append(f"Persona: {' '.join(persona.split())}")
    lines += [_CHOICES[d] for d in decide if d in _CHOICES]
    keys = ", ".join(f'"{d}"' for d in decide)
    lines.append(f'Reply with one JSON object and nothing else, with the keys {keys}, "message" (one sentence).'
                 if decide else 'Nothing needs deciding this turn: reply {"message": "<one sentence>"}.')
    return "\n".join(lines)


class CommitCodec:
    """The commit workload's :class:`~llmteams_lab.backends.base.Codec`."""

    name = "commit"

    def render(self, request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]:
        return render_turn(self.name, request, system_prompt(request, persona))

    def response_format(self, request: AgentRequest, mode: str) -> dict[str, Any] | None:
        decide = request.view.get("decide", ())
        props: dict[str, dict[str, Any]] = {}
        if "vote" in decide:
            props["vote"] = {"type": "string", "enum": ["yes", "no"]}
            q = request.question
            props["part"] = {"type": ["string", "null"], **({"enum": [*q.options, None]} if q is not None else {})}
        if "decide" in decide:
            props["decide"] = {"type": "string", "enum": ["commit", "abort"]}
        return choice_format(props, mode, "commit_reply")

    def parse(self, text: str | None, request: AgentRequest) -> ParsedReply:
        decide = list(request.view.get("decide", ()))
        choices, message = reply_choices(text, decide)
        if "vote" in choices:
            choices["vote"] = "yes" if choices["vote"] is True or str(choices["vote"]).lower() == "yes" else "no"
        if "part" in choices and request.question is not None:
            choices["part"] = match_option(choices["part"], request.question.options) or choices["part"]
        if "decide" in choices:
            choices["decide"] = str(choices["decide"]).strip().lower()
        return ParsedReply(None, None, message.strip(), actions_of(choices))

    def with_inbox(self, request: AgentRequest, senders: Iterable[str], message_chars: int) -> AgentRequest:
        return with_inbox(request, senders, message_chars)

    def read_prompt(self, messages: Any) -> AgentRequest | None:
        return read_turn(messages, self.name)


CODEC = CommitCodec()
