"""The election codec: what an LLM agent running a Raft node is asked, and how its reply is read.

Every turn's prompt (``workloads.roles.render_turn``) shows the node's state as its code
sees it — term, role, leader, vote, log, commit index, whether its election timer ran
out, the candidates it may vote for — and the messages it received; the system message
explains the role and the choices asked for this turn (``view["decide"]``):

vote     (voter)     the id of one candidate listed in ``candidates``, or null
stand    (candidate) true to stand for election now that no leader was heard, false to wait
propose  (leader)    the team's answer to the question shown: one of its options
assign   (leader)    who does which ready task (``duty="assign"``): a list of
                     ``{"task": <a ready task>, "agent": <an idle follower>}``, from the
                     ``ready`` tasks and ``idle`` followers in State (``tasks`` is the
                     board as its committed log describes it); an object ``{task: agent}``
                     or ``[task, agent]`` pairs are read too

The reply is one JSON object with exactly those keys and a ``message`` (a strict JSON
schema where the server supports it). The rules refuse a choice they forbid and the
turn goes on without it; an option written loosely (``"B)"``, ``"b"``) is matched as
deliberation's replies are; an assignment the rules refuse (a task not ready, an agent
not idle) is refused pair by pair. ``read_prompt`` reads a prompt back for ``serve``.
"""

from __future__ import annotations

from typing import Any, Iterable

from llmteams_lab.messages import AgentRequest, ParsedReply
from llmteams_lab.workloads.deliberation.codec import match_option
from llmteams_lab.workloads.deliberation.replies import json_object
from llmteams_lab.workloads.election.assignment import pairs_text, parse_pairs
from llmteams_lab.workloads.roles import (
    actions_of,
    choice_format,
    read_turn,
    render_turn,
    reply_choices,
    with_inbox,
)

__all__ = ["CODEC", "ElectionCodec"]

_INTRO = ("You are agent {agent}, one node of a team of AI agents that elects a leader and agrees on decisions the "
          "way the Raft protocol does. The team's code keeps your term, your vote and your log, delivers messages "
          "and enforces the rules; you make the choices listed under 'Decide'. State shows what your code knows.")
_CHOICES = {
    "vote": "vote: candidates asking for your vote in your current term are listed in State.candidates (the rules "
            "allow each). Give the id of the one you vote for, or null to vote for none. One vote per term.",
    "stand": "stand: your election timer ran out — no leader was heard from in time. true stands for election "
             "(you start a new term, vote for yourself and ask the others for votes); false waits.",
    "propose": "propose: you are the leader. Give the team's answer to the Question: one of the Options, exactly "
               "as written. It is committed once a majority of the team has stored it.",
    "assign": "assign: you are the leader and the team divides a project's tasks (State.tasks, with their "
              "dependencies and work). Assign ready tasks (State.ready, most urgent first) to idle followers "
              "(State.idle): a list of {\"task\": <task id>, \"agent\": <agent id>}, at most one task per agent. "
              "An assignment is committed once a majority has stored it; the follower then works on it.",
}
_ROLES = {"leader": "You are the leader of your term: you send the log to every follower.",
          "candidate": "You are a candidate: you asked the others for their votes.",
          "follower": "You are a follower: you store what the leader sends and acknowledge it."}


def system_prompt(request: AgentRequest, persona: str | None = None) -> str:
    """The role's rules and the reply format for this turn."""
    decide = list(request.view.get("decide", ()))
    lines = [_INTRO.format(agent=request.agent), _ROLES.get(request.role, "")]
    if persona:
        lines.append(f"Persona: {' '.join(persona.split())}")
    lines += [_CHOICES[d] for d in decide if d in _CHOICES]
    keys = ", ".join(f'"{d}"' for d in decide)
    lines.append(f"Reply with one JSON object and nothing else, with the keys {keys + ', ' if keys else ''}"
                 '"message" (one sentence for your teammates).' if decide else
                 'Nothing needs deciding this turn: reply {"message": "<one sentence for your teammates>"}.')
    return "\n".join(line for line in lines if line)


class ElectionCodec:
    """The election workload's :class:`~llmteams_lab.backends.base.Codec`."""

    name = "election"

    def render(self, request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]:
        return render_turn(self.name, request, system_prompt(request, persona))

    def response_format(self, request: AgentRequest, mode: str) -> dict[str, Any] | None:
        decide = request.view.get("decide", ())
        props: dict[str, dict[str, Any]] = {}
        if "vote" in decide:
            props["vote"] = {"type": ["string", "null"], "enum": [*request.view.get("candidates", ()), None]}
        if "stand" in decide:
            props["stand"] = {"type": "boolean"}
        if "propose" in decide and request.question is not None:
            props["propose"] = {"type": "string", "enum": list(request.question.options)}
        if "assign" in decide:
            pair = {"type": "object", "additionalProperties": False, "required": ["agent", "task"],
                    "properties": {"task": {"type": "string", "enum": list(request.view.get("ready", ()))},
                                   "agent": {"type": "string", "enum": list(request.view.get("idle", ()))}}}
            props["assign"] = {"type": "array", "items": pair}
        return choice_format(props, mode, "election_reply")

    def parse(self, text: str | None, request: AgentRequest) -> ParsedReply:
        decide = list(request.view.get("decide", ()))
        choices, message = reply_choices(text, decide)
        if "stand" in choices:  # true or "yes" stands; anything else waits
            if choices["stand"] is True or str(choices["stand"]).strip().lower() in ("yes", "true"):
                choices["stand"] = True
            else:
                del choices["stand"]
        if str(choices.get("vote", "")).strip().lower() in ("no", "none", "nobody", "false"):
            del choices["vote"]  # declines to vote
        if "vote" in choices:
            given = str(choices["vote"]).strip().strip("\"'")
            known = {c.casefold(): c for c in request.view.get("candidates", ())}
            choices["vote"] = known.get(given.casefold(), given)
        if "propose" in choices and request.question is not None:
            choices["propose"] = match_option(choices["propose"], request.question.options) or choices["propose"]
        if "assign" in choices:
            choices["assign"] = _assignments(text, request) or choices["assign"]
        return ParsedReply(None, None, message.strip(), actions_of(choices))

    def with_inbox(self, request: AgentRequest, senders: Iterable[str], message_chars: int) -> AgentRequest:
        return with_inbox(request, senders, message_chars)

    def read_prompt(self, messages: Any) -> AgentRequest | None:
        return read_turn(messages, self.name)


def _assignments(text: str | None, request: AgentRequest) -> str | None:
    """The reply's assignments as the canonical pairs text, ids matched loosely (case,
    quotes); ``None`` when they have none of the shapes read (the rules refuse it)."""
    data = json_object(text or "")
    pairs = parse_pairs(data.get("assign")) if isinstance(data, dict) else None
    if pairs is None:
        return None
    tasks = {t.casefold(): t for t in request.view.get("ready", ())}
    agents = {a.casefold(): a for a in request.view.get("idle", ())}
    clean = [(t.strip().strip("\"'"), a.strip().strip("\"'")) for t, a in pairs]
    return pairs_text([(tasks.get(t.casefold(), t), agents.get(a.casefold(), a)) for t, a in clean])


CODEC = ElectionCodec()
