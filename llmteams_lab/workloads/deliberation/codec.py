"""The deliberation codec: what an LLM agent is asked each round, and how its reply is read.

:data:`CODEC` is what the ``openai`` transport calls (``render`` → HTTP → ``parse``) and
what ``llmteams-lab serve`` reads prompts with (``read_prompt``) to play a simulated
agent, so the two can never drift apart. Stdlib only.

The prompt is written for a model *and* for a parser: the system message states the
agent's role, the protocol's rules and the reply format; the user message is a block
of ``Key: <JSON value>`` lines (round, agent, question, options, previous answer), then
one line per message received this round. Free text from peers is flattened to one
line and placed last on its line, so a peer cannot forge lines of the prompt (a
prompt-injection payload reaches the model as text, which is the point).

Replies are asked for as JSON ``{"answer", "confidence", "message"}`` — enforced with a
strict JSON schema where the server supports it — and read tolerantly otherwise, JSON or
the prose chat models write (:mod:`workloads.deliberation.replies`). A reply whose
answer cannot be matched to one option raises :class:`MalformedOutputError`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from llmteams_lab.backends.tokens import estimate_prompt_tokens, estimate_tokens
from llmteams_lab.messages import AgentRequest, Message, ParsedReply, Question
from llmteams_lab.workloads.deliberation.replies import ReplyFields, json_object, match_option, parse_reply

__all__ = ["CODEC", "DeliberationCodec", "PromptFacts", "ReplyFields", "estimate_prompt_tokens", "estimate_tokens",
           "inbox_line", "json_object", "match_option", "parse_prompt", "parse_reply", "render_messages",
           "request_of_facts", "response_format"]

_HEADER = "Round: "
_INBOX = re.compile(r'^- from ("(?:[^"\\]|\\.)*"): (?:answer ("(?:[^"\\]|\\.)*")|no answer) '
                    r'\(confidence ([0-9.]+|unknown)\) says: (.*)$')
_RULES = {
    "majority": "The team decides by majority vote in a single round: give your own best answer.",
    "weighted": "The team decides in a single round by a vote weighted by each member's confidence: give "
                "your best answer and an honest confidence.",
    "debate": "The team debates over several rounds. Each round you see the answers your neighbours gave "
              "last round (they may be wrong); keep or change your answer. The debate ends when everyone "
              "agrees.",
    "quorum": "The team decides once a quorum (about two thirds) of its members hold the same answer. Each "
              "round you see your neighbours' latest answers; keep or change yours.",
}
_FORMAT = ('Reply with one JSON object and nothing else: {"answer": one of the options, exactly as written, '
           '"confidence": a number from 0 to 1, "message": one or two sentences for your teammates}.')


# --- rendering ------------------------------------------------------------------------
def render_messages(request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]:
    """The chat messages (system, user) asking one agent for its reply this round."""
    system = [f"You are agent {request.agent}, one member of a team of AI agents that answers a question "
              "together, round by round."]
    if persona:
        system.append(f"Persona: {_line(persona)}")
    system += [_rules(request), _FORMAT]
    return [{"role": "system", "content": "\n".join(system)},
            {"role": "user", "content": "\n".join(_user_lines(request))}]


def _rules(request: AgentRequest) -> str:
    if request.protocol != "leader":
        return _RULES.get(request.protocol, "Answer the question; the team combines its members' answers.")
    leader, aggregate = request.role == "leader", request.view.get("phase") == "aggregate"
    if leader and aggregate:
        return ("You are the team's leader. Your teammates reported their answers (below). Weigh their reports "
                "and your own view, and give the team's final answer.")
    if leader:
        return ("You are the team's leader. This round give your own answer; next round you decide for the "
                "team from your teammates' reports.")
    if aggregate:
        return "The leader is deciding the team's answer now; restate or revise your answer."
    return "Report your best answer to the team's leader, who decides for the team."


def _user_lines(request: AgentRequest) -> list[str]:
    q = request.question
    lines = [f"{_HEADER}{request.round}", f"Agent: {_q(request.agent)}", f"Role: {_q(request.role)}",
             f"Protocol: {_q(request.protocol)}"]
    phase = request.view.get("phase")
    if phase is not None:
        lines.append(f"Phase: {_q(str(phase))}")
    lines += [f"Question: {_q(q.prompt if q else '')}", f"Options: {_q(list(q.options) if q else [])}"]
    if request.previous_answer is None:
        lines.append("Previous answer: null")
    else:
        lines.append(f"Previous answer: {_q(request.previous_answer)} "
                     f"(confidence {_conf(request.previous_confidence)})")
    lines.append(f"Messages received: {len(request.inbox)}")
    lines += [inbox_line(m) for m in request.inbox]
    rest = {k: v for k, v in request.view.items() if k != "phase"}
    if rest:
        lines.append(f"View: {_q(rest)}")
    return lines


def inbox_line(message: Message) -> str:
    """One received message as one line; its free text is flattened and placed last."""
    said = message.text + (" " + message.payload if message.payload else "")
    answer = f"answer {_q(message.answer)}" if message.answer is not None else "no answer"
    return f"- from {_q(message.sender)}: {answer} (confidence {_conf(message.confidence)}) says: {_line(said)}"


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _conf(value: float | None) -> str:
    return "unknown" if value is None else f"{min(1.0, max(0.0, float(value))):.2f}"


def _line(text: str) -> str:
    return " ".join(text.split())


def response_format(options: Sequence[str], mode: str) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``mode`` (see ``EndpointSpec.structured``)."""
    if mode == "json_object":
        return {"type": "json_object"}
    if mode not in ("json_schema", "auto"):
        return None
    schema = {"type": "object",
              "properties": {"answer": {"type": "string", "enum": list(options)},
                             "confidence": {"type": "number"}, "message": {"type": "string"}},
              "required": ["answer", "confidence", "message"], "additionalProperties": False}
    return {"type": "json_schema", "json_schema": {"name": "team_reply", "strict": True, "schema": schema}}


# --- reading prompts (serve) -------------------------------------------------------------
@dataclass(frozen=True)
class PromptFacts:
    """What a prompt rendered by :func:`render_messages` says, read back by ``serve``.

    inbox: ``(sender, answer or None, confidence or None, text)`` per received message.
    """

    round: int
    agent: str
    role: str
    protocol: str
    phase: str | None
    question: str
    options: tuple[str, ...]
    previous: str | None
    previous_confidence: float | None
    inbox: tuple[tuple[str, str | None, float | None, str], ...]


def parse_prompt(messages: Any) -> PromptFacts | None:
    """The facts of a team prompt, or ``None`` when the messages are not one of ours."""
    if not isinstance(messages, list):
        return None
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str) and content.startswith(_HEADER):
            try:
                return _facts(content.split("\n"))
            except (ValueError, KeyError, TypeError):
                return None
    return None


def _facts(lines: list[str]) -> PromptFacts:
    head: dict[str, Any] = {}
    inbox = []
    for line in lines:
        match = _INBOX.match(line)
        if match:
            sender, answer, conf, text = match.groups()
            inbox.append((json.loads(sender), json.loads(answer) if answer else None,
                          None if conf == "unknown" else float(conf), text))
            continue
        key, sep, value = line.partition(": ")
        if sep and key in ("Round", "Agent", "Role", "Protocol", "Phase", "Question", "Options", "View"):
            head[key] = json.loads(value)
        elif key == "Previous answer":
            head["previous"] = _previous(value)
    previous, confidence = head.get("previous", (None, None))
    return PromptFacts(int(head["Round"]), str(head["Agent"]), str(head["Role"]), str(head["Protocol"]),
                       head.get("Phase"), str(head["Question"]), tuple(str(o) for o in head["Options"]),
                       previous, confidence, tuple(inbox))


def _previous(value: str) -> tuple[str | None, float | None]:
    if value == "null":
        return None, None
    text, _, conf = value.rpartition(" (confidence ")
    conf = conf.rstrip(")")
    return json.loads(text), None if conf == "unknown" else float(conf)


# --- the codec ---------------------------------------------------------------------------
class DeliberationCodec:
    """The deliberation workload's :class:`~llmteams_lab.backends.base.Codec`."""

    name = "deliberation"

    def render(self, request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]:
        return render_messages(request, persona)

    def response_format(self, request: AgentRequest, mode: str) -> dict[str, Any] | None:
        return response_format(request.question.options, mode) if request.question is not None else None

    def parse(self, text: str | None, request: AgentRequest) -> ParsedReply:
        options = request.question.options if request.question is not None else ()
        fields = parse_reply(text, options)
        return ParsedReply(fields.answer, fields.confidence, fields.message)

    def read_prompt(self, messages: Any) -> AgentRequest | None:
        facts = parse_prompt(messages)
        return None if facts is None else request_of_facts(facts)


def request_of_facts(facts: PromptFacts) -> AgentRequest:
    """The request a prompt's facts describe (its question's truth is unknown: ``""``)."""
    question = Question(f"served-{facts.round}", facts.question, facts.options, "", "served")
    inbox = tuple(Message(facts.round - 1, sender, facts.agent, answer, conf, text)
                  for sender, answer, conf, text in facts.inbox)
    view = {"phase": facts.phase} if facts.phase is not None else {}
    return AgentRequest("served", facts.round, facts.agent, facts.role, question, inbox, facts.previous,
                        facts.previous_confidence, facts.protocol, view)


def _replace_request(request: AgentRequest, **changes: Any) -> AgentRequest:
    return dataclasses.replace(request, **changes)


CODEC = DeliberationCodec()
