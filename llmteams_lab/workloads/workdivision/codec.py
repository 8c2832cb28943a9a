"""The work-division action vocabulary for LLM agents: prompt pieces and a tolerant parser.

An agent acts on the task board with five verbs, each a tuple in ``AgentReply.actions``:

=========  ==========================  =============================================
verb       tuple                       meaning
=========  ==========================  =============================================
claim      ("claim", task)             take a task (refused if its dependencies are
                                       not done or someone else holds it)
write      ("write", path)             write a file of a task you hold (a round of work)
complete   ("complete", task)          declare a task done; the tests then run
message    ("message", text)           tell your neighbours something
assign     ("assign", task, agent)     (the lead) give a task to a teammate
=========  ==========================  =============================================

The reply is asked for as JSON (:data:`ACTIONS_SCHEMA`, for servers with structured
output); :func:`parse_actions` also accepts one action per line (``CLAIM t3``,
``WRITE t3.py``, ``ASSIGN t3 TO a1``, ``MESSAGE text``) and the paper's XML tags
(``<claim_task task_id="t3"/>``, ``<edit_file path="x.py">…</edit_file>``,
``<complete_task …/>``, ``<assign_task task_id=… assignee=…/>``, ``<broadcast>…``),
so replies in any of the three forms work. Unknown verbs are ignored, never guessed.

:data:`CODEC` is the work-division workload's codec: the ``openai`` transport renders a
turn with it (:func:`work_messages`, :func:`work_response_format`) and reads the reply
(:func:`parse_work_reply`), exactly as it does with deliberation's codec. Stdlib only.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from llmteams_lab.errors import MalformedOutputError
from llmteams_lab.messages import AgentRequest, ParsedReply

__all__ = ["ACTIONS_SCHEMA", "CODEC", "VERBS", "WorkCodec", "describe_actions", "parse_actions", "parse_work_reply",
           "render_board", "work_messages", "work_response_format", "work_system_prompt"]

VERBS = ("assign", "claim", "complete", "message", "write")

ACTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "actions": {"type": "array", "items": {
            "type": "object",
            "properties": {"do": {"type": "string", "enum": list(VERBS)}, "task": {"type": "string"},
                           "file": {"type": "string"}, "to": {"type": "string"}, "text": {"type": "string"}},
            "required": ["do"]}},
        "message": {"type": "string"},
    },
    "required": ["actions"],
}

_MODES = {
    "self_claim": "Nobody assigns work: claim pending tasks whose dependencies are done, one at a time.",
    "pre_assigned": "The system assigned every task up front: claim and finish only the tasks whose owner is you.",
    "lead_assigned": "The lead assigns tasks: claim and finish only the tasks whose owner is you.",
}


def work_system_prompt(role: str, mode: str) -> str:
    """The system prompt of a work-division agent (its role and the team's rules)."""
    if role == "leader" and mode == "lead_assigned":
        duty = ("You are the team lead. Assign every pending task to a teammate in your first turn, keeping "
                "dependency chains on one teammate and spreading independent tasks evenly. Do not write code.")
    else:
        duty = "You are a software engineer on a team that divides a project's tasks. " + _MODES.get(mode, "")
    return (duty + " Each turn, reply with JSON: {\"actions\": [{\"do\": \"claim\", \"task\": ID}, "
            "{\"do\": \"write\", \"file\": PATH}, {\"do\": \"complete\", \"task\": ID}, {\"do\": \"assign\", "
            "\"task\": ID, \"to\": AGENT}, {\"do\": \"message\", \"text\": TEXT}]}. Write a task's files, then "
            "complete it; a task counts only when its tests pass. An empty list means you wait this turn.")


def render_board(board: Iterable[Mapping[str, Any]]) -> str:
    """The task board as text, one task per line (status, owner, dependencies, files)."""
    lines = []
    for t in board:
        owner = f" owner={t['owner']}" if t.get("owner") else ""
        deps = f" needs={','.join(t['dependencies'])}" if t.get("dependencies") else ""
        files = f" files={','.join(t['files'])}" if t.get("files") else ""
        lines.append(f"- {t['id']} [{t['status']}]{owner}{deps}{files}: {t.get('title', '')}".rstrip(": "))
    return "\n".join(lines)


def work_messages(request: AgentRequest) -> list[dict[str, str]]:
    """Chat messages for one agent's turn: system rules, then board, inbox and identity."""
    view = request.view
    mode = str(view.get("mode", "self_claim"))
    parts = [f"You are {request.agent}. Round {request.round}."]
    if view.get("project"):
        parts.append(f"Project: {view['project']}")
    if view.get("members") and request.role == "leader":
        parts.append("Teammates: " + ", ".join(view["members"]))
    parts.append("Task board:\n" + render_board(view.get("board", ())))
    if request.inbox:
        parts.append("Messages:\n" + "\n".join(f"- {m.sender}: {m.text or m.answer or ''}" for m in request.inbox))
    return [{"role": "system", "content": work_system_prompt(request.role, mode)},
            {"role": "user", "content": "\n\n".join(parts)}]


def parse_actions(text: str) -> tuple[tuple[str, ...], ...]:
    """Actions from a reply in JSON, line or XML-tag form (see the module docstring)."""
    if not text or not text.strip():
        return ()
    found = _from_json(text)
    if found is None:
        found = _from_tags(text) or _from_lines(text)
    return tuple(found)


def work_response_format(mode: str) -> dict[str, Any] | None:
    """The ``response_format`` field for a work-division turn (modes as ``EndpointSpec.structured``)."""
    if mode == "json_object":
        return {"type": "json_object"}
    if mode not in ("json_schema", "auto"):
        return None
    return {"type": "json_schema", "json_schema": {"name": "team_actions", "schema": ACTIONS_SCHEMA}}


def parse_work_reply(text: str | None) -> tuple[tuple[tuple[str, ...], ...], str]:
    """The actions of a work-division reply and the text to pass on to peers (its
    ``message`` actions joined). An empty reply is malformed; a reply without any
    action means the agent waits this turn."""
    if text is None or not text.strip():
        raise MalformedOutputError("the model returned an empty reply")
    actions = parse_actions(text)
    return actions, " | ".join(a[1] for a in actions if a[0] == "message")


def describe_actions(actions: Iterable[tuple[str, ...]]) -> str:
    """A short text of what an agent did (``claim t3, write t3.py``; ``idle`` if nothing)."""
    parts = [" ".join(a[:2]) if a[0] != "message" else "message" for a in actions]
    return ", ".join(parts) or "idle"


def _from_json(text: str) -> list[tuple[str, ...]] | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("actions", []), list):
        return None
    out = [a for a in (_json_action(item) for item in data.get("actions", [])) if a]
    if isinstance(data.get("message"), str) and data["message"].strip():
        out.append(("message", data["message"].strip()))
    return out


def _json_action(item: Any) -> tuple[str, ...] | None:
    if isinstance(item, str):
        return _line_action(item)
    if isinstance(item, list) and item and all(isinstance(x, str) for x in item):
        return _normal([x.strip() for x in item])
    if not isinstance(item, dict):
        return None
    verb = str(item.get("do") or item.get("action") or item.get("type") or "").lower()
    target = item.get("task") or item.get("task_id") or item.get("file") or item.get("path") or item.get("text") \
        or item.get("message")
    extra = item.get("to") or item.get("assignee") or item.get("agent")
    return _normal([verb] + [str(x) for x in (target, extra) if x is not None])


_ALIASES = {"edit": "write", "edit_file": "write", "write_file": "write", "claim_task": "claim",
            "complete_task": "complete", "done": "complete", "assign_task": "assign", "broadcast": "message",
            "say": "message", "send": "message"}


def _normal(parts: list[str]) -> tuple[str, ...] | None:
    if not parts:
        return None
    verb = _ALIASES.get(parts[0].lower(), parts[0].lower())
    args = [p for p in parts[1:] if p]
    if verb == "message":
        return ("message", " ".join(args)) if args else None
    if verb == "assign":
        args = [a for a in args if a.lower() != "to"]
        return ("assign", args[0], args[1]) if len(args) >= 2 else None
    if verb in ("claim", "write", "complete") and args:
        return (verb, args[0].strip("`'\",."))
    return None


_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*([A-Za-z_]+)\s*:?\s*(.*)$")


def _line_action(line: str) -> tuple[str, ...] | None:
    match = _LINE.match(line)
    if not match:
        return None
    verb, rest = match.group(1), match.group(2).strip()
    if _ALIASES.get(verb.lower(), verb.lower()) == "message":
        return ("message", rest) if rest else None
    return _normal([verb] + rest.split())


_COMMAND = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*(?:[A-Z_]+\b|[A-Za-z_]+\s*:)")


def _from_lines(text: str) -> list[tuple[str, ...]]:
    """Lines that start with an upper-case verb (``CLAIM t3``) or ``verb:`` — never prose."""
    return [a for a in (_line_action(line) for line in text.splitlines() if _COMMAND.match(line)) if a]


_TAG = re.compile(r"<(claim_task|complete_task|assign_task|edit_file|broadcast)\b([^>]*?)/?>", re.I)
_ATTR = re.compile(r"(\w+)\s*=\s*\"([^\"]*)\"")
_BROADCAST = re.compile(r"<broadcast>(.*?)</broadcast>", re.I | re.S)


def _from_tags(text: str) -> list[tuple[str, ...]]:
    out = []
    for match in _TAG.finditer(text):
        tag, attrs = match.group(1).lower(), dict(_ATTR.findall(match.group(2)))
        if tag == "broadcast":
            continue
        target = attrs.get("task_id") or attrs.get("path")
        action = _normal([tag] + [x for x in (target, attrs.get("assignee")) if x])
        if action:
            out.append(action)
    out += [("message", m.strip()) for m in _BROADCAST.findall(text) if m.strip()]
    return out


class WorkCodec:
    """The work-division workload's :class:`~llmteams_lab.backends.base.Codec`."""

    name = "work_division"

    def render(self, request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]:
        messages = work_messages(request)
        if persona:
            messages[0]["content"] += f"\nPersona: {' '.join(persona.split())}"
        return messages

    def response_format(self, request: AgentRequest, mode: str) -> dict[str, Any] | None:
        return work_response_format(mode)

    def parse(self, text: str | None, request: AgentRequest) -> ParsedReply:
        actions, said = parse_work_reply(text)
        return ParsedReply(None, None, said, actions)

    def read_prompt(self, messages: Any) -> AgentRequest | None:
        return None  # serve plays deliberation prompts only


CODEC = WorkCodec()
