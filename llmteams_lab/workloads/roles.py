"""What the role-playing workloads share: envelopes, turn prompts, simulated minds.

In the coordination workloads (``election``, ``commit``, ``gossip``) an agent is a node
running a protocol. The workload is the node's *code*: it keeps the protocol's state
(terms, votes, logs, prepared parts), reads every message, enforces the rules and sends
the protocol's messages. The agent — a simulated mind or a language model — makes the
*choices* a turn asks for (stand for election? grant this vote? what to propose? vote
yes or no?), named in the request's ``view["decide"]``. The mind proposes, the rules
dispose: a choice the rules forbid (a second vote in one term, committing without every
yes) is refused and recorded, so the protocol's safety never rests on what a model says,
while its liveness and its answers do.

Envelopes. What an agent sends in one turn is one message text: a JSON list of records,
each ``{"type": ..., "to": [agent ids], ...}``; its recipients are the union of the
records' ``to``. A receiver reads only the records addressed to it (:func:`open_envelope`),
so a follower that acks its leader and answers a candidate in one turn sends each of
them one message. A record it cannot read (a corrupted message) is skipped.

Turn prompts (:func:`render_turn`, read back by :func:`read_turn` for ``serve``): a system
message with the role's rules and the reply format, and a user message of ``Key: <JSON>``
lines — ``Coordination`` (the workload), ``Turn``, ``Agent``, ``Role``, the question if
any, ``State`` (the node's state as the code sees it), ``Decide`` (the choices asked for)
— then one line per message received, its text flattened and last on its line. Replies
are one JSON object whose keys are the choices (:func:`reply_choices`).

Simulated minds (:class:`Minds`): a workload's ``decide(request, profile, rng, truth)``
makes the choices; latency and tokens follow the agent's profile as deliberation's
agents do (``latency_s · exp(latency_jitter · z)``; ``prompt_tokens + tokens_per_message ·
messages read`` in, ``reply_tokens`` out). Draws come from one generator per (seed,
stream, agent, turn), so a seed reproduces a run and an agent's draws do not depend on
its teammates; ``serve`` keys them by (seed, agent name, turn) instead (:func:`served`).
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend
from llmteams_lab.errors import MalformedOutputError
from llmteams_lab.events import AgentFailed, AgentReplied
from llmteams_lab.messages import AgentReply, AgentRequest, Message, Question
from llmteams_lab.rounds import RoundReplySlots, woken_by
from llmteams_lab.spec import AgentSpec, TaskSpec, TeamSpec
from llmteams_lab.streams import KeyedStreams
from llmteams_lab.workloads.deliberation import agents as _simulated
from llmteams_lab.workloads.deliberation.agents import pad_message
from llmteams_lab.workloads.deliberation.questions import make_question
from llmteams_lab.workloads.deliberation.replies import json_object

__all__ = ["Choices", "Decide", "Minds", "actions_of", "answer_question", "choice_format", "choices_of", "envelope",
           "log_failure", "open_envelope", "question_at", "read_turn", "render_turn", "reply_choices", "reply_text",
           "served", "turn_rng", "with_inbox"]

Choices = dict[str, Any]  # choice name -> value (True for a plain yes, a string, or None for no choice)
Decide = Callable[[AgentRequest, AgentSpec, np.random.Generator, "str | None"], Choices]
_MASK64 = (1 << 64) - 1


# --- envelopes -------------------------------------------------------------------------
def envelope(records: Sequence[dict[str, Any]]) -> str:
    """One message text holding ``records`` (each with its ``to`` list of agent ids)."""
    return json.dumps(list(records), separators=(",", ":"), ensure_ascii=False)


def open_envelope(text: str | None, me: str) -> list[dict[str, Any]]:
    """The records of a message text addressed to ``me`` (all of them when a record names
    no recipients); unreadable texts and records yield nothing."""
    try:
        records = json.loads(text) if text else []
    except (ValueError, TypeError):
        return []
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("type"), str)
            and (not isinstance(r.get("to"), list) or me in r["to"])]


# --- choices and actions ----------------------------------------------------------------
def actions_of(choices: Choices) -> tuple[tuple[str, ...], ...]:
    """Choices as ``AgentReply.actions`` (``("stand",)``, ``("vote", "a2")``), sorted."""
    out = []
    for name, value in sorted(choices.items()):
        if value is None or value is False:
            continue
        out.append((name,) if value is True else (name, str(value)))
    return tuple(out)


def choices_of(actions: Iterable[Sequence[str]]) -> Choices:
    """The choices a reply's actions make (the inverse of :func:`actions_of`)."""
    return {a[0]: (a[1] if len(a) > 1 else True) for a in actions if a}


def reply_ends(acting: np.ndarray, t0: float, slots: RoundReplySlots,
               ends: dict[int, float]) -> tuple[list[tuple[int, float]], float]:
    """Each acting agent with the time its reply is applied (``t0`` plus its latency:
    exactly when the engine applies it), remembered in ``ends``; and the turn's end (the
    latest of them, ``t0`` if none)."""
    out = [(i, t0 + float(slots.latency[i])) for i in acting.tolist()]
    ends.update(out)
    return out, max([t0, *(t for _, t in out)])


def log_failure(log: Any, round: int, agent: str, i: int, t0: float, t_end: float,
                slots: RoundReplySlots) -> tuple[int, float]:
    """Record agent ``i``'s failed call as ``AgentFailed`` — its fault, what it spent
    (tokens and dollars, when the backend reported them) and what woke it — the same way
    in every role-playing workload; its ``seq`` and the dollars spent."""
    err = slots.failures[i]
    spent = getattr(err, "cost_usd", None)
    seq = log.add(AgentFailed, round, agent, t_start=t0, t_end=t_end, fault=getattr(err, "kind", "error"),
                  detail=str(err), cost_usd=spent, tokens_in=int(slots.tokens_in[i]),
                  tokens_out=int(slots.tokens_out[i]), cause=woken_by(slots, i)).seq
    return seq, spent or 0.0


def log_choices(log: Any, round: int, agent: str, i: int, t0: float, t_end: float, slots: RoundReplySlots,
                detail: dict[str, Any]) -> tuple[int, float, Choices]:
    """Record agent ``i``'s reply as ``AgentReplied`` — its choices as the value (``"vote
    a2 heartbeat"``), ``detail`` plus the choices as JSON, what it spent and what woke
    it — the same way in every role-playing workload; its ``seq``, the dollars spent and
    the choices. A failed call is recorded by :func:`log_failure` (no choices)."""
    if i in slots.failures:
        seq, spent = log_failure(log, round, agent, i, t0, t_end, slots)
        return seq, spent, {}
    reply = slots.replies.get(i)
    choices = choices_of(reply.actions) if reply is not None else {}
    cost = reply.cost_usd if reply is not None else 0.0
    said = " ".join(f"{k} {v}" if v is not True else k for k, v in sorted(choices.items()))
    seq = log.add(AgentReplied, round, agent, t_start=t0, t_end=t_end, value=said or None, cost_usd=cost,
                  tokens_in=int(slots.tokens_in[i]), tokens_out=int(slots.tokens_out[i]), fault=slots.marks.get(i),
                  cause=woken_by(slots, i), detail=json.dumps({"choices": choices, **detail},
                                                               separators=(",", ":"))).seq
    return seq, cost or 0.0, choices


def reply_text(choices: Choices, message: str = "") -> str:
    """The JSON reply a model would give for ``choices`` (what ``serve`` sends back)."""
    return json.dumps({**{k: v for k, v in sorted(choices.items())}, "message": message}, ensure_ascii=False)


def reply_choices(text: str | None, allowed: Sequence[str]) -> tuple[Choices, str]:
    """The choices (keys in ``allowed``) and message of a model's reply; a reply with no
    JSON object raises :class:`MalformedOutputError`. ``false``, ``null`` and empty text
    mean no choice, ``true`` a plain yes; other values are kept as text (a codec reads
    ``"yes"``/``"no"`` for its own choices)."""
    if text is None or not text.strip():
        raise MalformedOutputError("the model returned an empty reply")
    data = json_object(text)
    if data is None:
        flat = " ".join(text.split())
        raise MalformedOutputError(f"no JSON object in the reply {flat[:80]!r}")
    choices: Choices = {}
    for name in allowed:
        value = data.get(name)
        if isinstance(value, str) and value.strip().lower() in ("none", "null", ""):
            value = None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if value is not None and value is not False:
            choices[name] = value if value is True else str(value).strip()
    message = data.get("message", "")
    return choices, message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)


def choice_format(properties: dict[str, dict[str, Any]], mode: str, name: str) -> dict[str, Any] | None:
    """The ``response_format`` asking for one JSON object with the choices' ``properties``
    (JSON-schema fragments) and a ``message`` (``mode`` as ``EndpointSpec.structured``)."""
    if mode == "json_object":
        return {"type": "json_object"}
    if mode not in ("json_schema", "auto"):
        return None
    props = {**properties, "message": {"type": "string"}}
    schema = {"type": "object", "properties": props, "required": sorted(props), "additionalProperties": False}
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


def with_inbox(request: AgentRequest, senders: Iterable[str], message_chars: int) -> AgentRequest:
    """``request`` with one message of ``message_chars`` characters from each sender (the
    longest prompt of a turn, for budget bounds)."""
    inbox = tuple(Message(request.round - 1, s, request.agent, None, None, "x" * message_chars) for s in senders)
    return dataclasses.replace(request, inbox=inbox)


# --- turn prompts ----------------------------------------------------------------------
def render_turn(workload: str, request: AgentRequest, system: str) -> list[dict[str, str]]:
    """The chat messages of one turn (see the module docstring)."""
    view = dict(request.view)
    decide = view.pop("decide", [])
    lines = [f"Coordination: {_q(workload)}", f"Turn: {request.round}", f"Agent: {_q(request.agent)}",
             f"Role: {_q(request.role)}"]
    q = request.question
    if q is not None:
        lines += [f"Question: {_q(q.prompt)}", f"Options: {_q(list(q.options))}"]
    lines += [f"State: {_q(view)}", f"Decide: {_q(list(decide))}", f"Messages received: {len(request.inbox)}"]
    lines += [f"- from {_q(m.sender)}: {' '.join((m.text or '').split())}" for m in request.inbox]
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


def read_turn(messages: Any, workload: str) -> AgentRequest | None:
    """The request a prompt of :func:`render_turn` for ``workload`` describes (``None``:
    not one of its prompts). The question's right answer is unknown here (``""``)."""
    head = f"Coordination: {_q(workload)}"
    for m in messages if isinstance(messages, list) else ():
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str) and content.startswith(head):
            try:
                return _request_of(content.split("\n"), workload)
            except (ValueError, KeyError, TypeError):
                return None
    return None


def _request_of(lines: list[str], workload: str) -> AgentRequest:
    facts: dict[str, Any] = {}
    inbox = []
    for line in lines:
        if line.startswith("- from "):
            sender, _, text = line[len("- from "):].partition(": ")
            inbox.append((json.loads(sender), text))
            continue
        key, sep, value = line.partition(": ")
        if sep and key in ("Turn", "Agent", "Role", "Question", "Options", "State", "Decide"):
            facts[key] = json.loads(value)
    turn, agent = int(facts["Turn"]), str(facts["Agent"])
    question = None
    if "Question" in facts:
        question = Question(f"served-{turn}", str(facts["Question"]), tuple(str(o) for o in facts["Options"]), "",
                            "served")
    view = dict(facts.get("State") or {})
    view["decide"] = list(facts.get("Decide") or [])
    msgs = tuple(Message(turn - 1, s, agent, None, None, t) for s, t in inbox)
    return AgentRequest("served", turn, agent, str(facts["Role"]), question, msgs, None, None, workload, view,
                        workload)


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- questions -------------------------------------------------------------------------
def question_at(task: TaskSpec, kind: str, k: int, seed: int) -> Question:
    """The ``k``-th generated question of a coordination task (index ``task.index + k``)."""
    return make_question(TaskSpec(kind=kind, options=task.options, index=task.index + k), seed)


# --- simulated minds -------------------------------------------------------------------
def answer_question(options: Sequence[str], truth: str | None, competence: float,
                    rng: np.random.Generator) -> str:
    """A simulated agent's own answer, as deliberation's first answers: the truth with
    probability ``competence``, else a uniformly drawn wrong option (a uniform guess when
    the truth is unknown)."""
    u, pick = rng.random(), rng.random()
    k = len(options)
    if truth not in options:
        return options[min(int(pick * k), k - 1)]
    if u < competence or k == 1:
        return truth
    wrong = [o for o in options if o != truth]
    return wrong[min(int(pick * len(wrong)), len(wrong) - 1)]


def turn_rng(seed: int, stream: int, agent: int, turn: int) -> np.random.Generator:
    """The generator of one agent's turn (see the module docstring)."""
    return np.random.Generator(np.random.PCG64([seed, stream, agent, turn]))


def _latency(profile: AgentSpec, rng: np.random.Generator) -> float:
    """One latency draw, through deliberation's ``draw_latency`` — the one place simulated
    agents draw latencies (``tests/runtime/test_float_determinism.py`` perturbs it there)."""
    z = np.array([rng.standard_normal()])
    return float(_simulated.draw_latency(np.array([profile.latency_s]), np.array([profile.latency_jitter]), z)[0])


class Minds(Backend):
    """Simulated agents of a role-playing workload: ``decide`` makes each turn's choices
    (see the module docstring); ``answer`` turns them into the reply's answer, for
    workloads whose agents hold one (gossip), else ``None``."""

    simulated = True
    virtual_time = True

    def __init__(self, spec: TeamSpec, decide: Decide, stream: int,
                 answer: Callable[[Choices], str | None] | None = None):
        self.seed, self.decide, self.stream, self.answer = spec.seed, decide, stream, answer
        self.agents = {a.id: (i, a) for i, a in enumerate(spec.agents)}
        self._streams = KeyedStreams((self.seed, self.stream), len(spec.agents))  # turn_rng's, seeded in blocks

    def worst_case_round(self, round: int, agents: Sequence[int], request_of: Any) -> tuple[int, float]:
        """Exactly the tokens :meth:`respond` will report: each agent's profile for the
        inbox its previewed request holds (a bound the budget check can trust); no cost."""
        profiles = [a for _, a in self.agents.values()]
        used = 0
        for i in np.asarray(agents).tolist():
            p = profiles[i]
            used += p.prompt_tokens + p.tokens_per_message * len(request_of(i).inbox) + p.reply_tokens
        return used, 0.0

    async def respond(self, request: AgentRequest) -> AgentReply:
        i, profile = self.agents[request.agent]
        rng = self._streams.generator(i, request.round)  # turn_rng(seed, stream, i, round)'s numbers
        truth = request.question.answer if request.question is not None else None
        choices = self.decide(request, profile, rng, truth or None)
        return AgentReply(request.agent, self.answer(choices) if self.answer else None, None, "",
                          profile.prompt_tokens + profile.tokens_per_message * len(request.inbox),
                          profile.reply_tokens, _latency(profile, rng), 0.0, actions=actions_of(choices))


def served(decide: Decide, stream: int) -> Callable[[AgentRequest, AgentSpec, int, Callable], tuple[str, float]]:
    """A ``WorkloadKind.serve`` hook from a workload's ``decide``: ``serve`` plays the
    agent with the same minds, keyed by (seed, agent name, turn)."""

    def answer(request: AgentRequest, profile: AgentSpec, seed: int,
               truth: Callable[[Question], str | None]) -> tuple[str, float]:
        rng = np.random.default_rng([seed & _MASK64, zlib.crc32(request.agent.encode("utf-8")), request.round,
                                     stream])
        known = truth(request.question) if request.question is not None else None
        choices = decide(request, profile, rng, known)
        said = ", ".join(f"{k}: {v}" for k, v in sorted(choices.items())) or "nothing to decide"
        return reply_text(choices, pad_message(f"{request.agent} decided ({said}).", profile.reply_tokens)), \
            _latency(profile, rng)

    return answer
