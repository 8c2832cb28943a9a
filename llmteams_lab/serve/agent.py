"""The "model" behind ``serve``: a simulated agent profile answering team prompts.

It reads the prompt the ``openai`` backend renders back into the request (each workload's
``codec.read_prompt``, tried in the registry's order) and answers as that workload's
simulated agent does (``WorkloadKind.serve``) — for deliberation,
:func:`~llmteams_lab.workloads.deliberation.agents.answer_one`, the same rules and numbers
as :class:`~llmteams_lab.workloads.deliberation.SimulatedBackend`; for the coordination
workloads (election, commit, gossip), their simulated agents' choices — so a team run
through the real ``openai`` client against ``serve`` behaves like a simulated team.
What ``serve`` adds: it works out the truth where it can (:func:`solve`: the built-in
generated questions, or answers it was given), waits the drawn latency in real seconds,
and counts usage from the text's length
(:func:`~llmteams_lab.workloads.deliberation.codec.estimate_tokens`), as the backend
estimates it.

Draws come from numpy's ``SeedSequence([seed, crc32(agent), round, ...])`` — the
request's ``seed`` field when sent — so answers do not depend on the order requests
arrive in, and a retried request gets the same answer. (The simulated backends draw a
whole team's table per round instead: same distributions, not the same numbers, since
``serve`` does not know an agent's place in its team.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from llmteams_lab.messages import AgentRequest, Question
from llmteams_lab.spec import AgentSpec
from llmteams_lab.workloads import REGISTRY, WorkloadKind
from llmteams_lab.workloads.deliberation.codec import (
    PromptFacts,
    estimate_tokens,
    parse_prompt,
    request_of_facts,
)

__all__ = ["ChatReply", "answer_chat", "read_request", "solve"]

_PLAYERS: tuple[WorkloadKind, ...] = tuple({w.name: w for w in REGISTRY.values() if w.serve is not None}.values())
_PRIME = re.compile(r"Which of these numbers is prime\? (.+?)\. Answer with the letter\.")
_SUM = re.compile(r"What is (\d+) × (\d+) \+ (\d+)\?")


@dataclass(frozen=True)
class ChatReply:
    """What the simulated model says: the text, how long it takes, and its usage."""

    content: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


def solve(question: str, options: Sequence[str], answers: Mapping[str, str] | None = None) -> str | None:
    """The right option, if the simulated model can know it: the built-in generated
    questions (prime, arithmetic) are worked out; others come from ``answers``
    (question text → option); otherwise ``None`` — the model can only guess."""
    if answers and answers.get(question) in options:
        return answers[question]
    found = _PRIME.search(question)
    if found:
        primes = [label for label, _, number in (item.partition(") ") for item in found.group(1).split("; "))
                  if label in options and number.isdigit() and _is_prime(int(number))]
        return primes[0] if len(primes) == 1 else None
    found = _SUM.search(question)
    if found:
        a, b, c = (int(x) for x in found.groups())
        return str(a * b + c) if str(a * b + c) in options else None
    return None


def _is_prime(x: int) -> bool:
    return x > 1 and all(x % d for d in range(2, int(math.isqrt(x)) + 1))


def answer_chat(body: Mapping[str, Any], profile: AgentSpec, seed: int,
                answers: Mapping[str, str] | None = None, facts: PromptFacts | None = None) -> ChatReply:
    """The simulated model's reply to one chat-completions request body (``facts``: the
    body's deliberation prompt, when the caller has already parsed it)."""
    messages = body.get("messages") or []
    seed = body["seed"] if isinstance(body.get("seed"), int) else seed
    played = _play(messages, facts, profile, seed, answers)
    content, latency = played if played is not None else (_small_talk(), profile.latency_s)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    if isinstance(limit, int) and limit > 0 and estimate_tokens(content) > limit:
        content, finish = content[: 4 * limit], "length"
    prompt = sum(3 + estimate_tokens(str(m.get("content") or "")) for m in messages if isinstance(m, dict)) + 3
    return ChatReply(content, latency, prompt, estimate_tokens(content), finish)


def read_request(messages: Any, facts: PromptFacts | None = None) -> tuple[WorkloadKind, AgentRequest] | None:
    """The workload whose prompt ``messages`` is, and the request it describes (``None``:
    no workload's prompt). ``facts``: the messages' deliberation prompt, already parsed."""
    for kind in _PLAYERS:
        if kind.name == "deliberation":
            facts = facts if facts is not None else parse_prompt(messages)
            request = request_of_facts(facts) if facts is not None and facts.options else None
        else:
            request = kind.codec.read_prompt(messages)
        if request is not None:
            return kind, request
    return None


def _play(messages: Any, facts: PromptFacts | None, profile: AgentSpec, seed: int,
          answers: Mapping[str, str] | None) -> tuple[str, float] | None:
    found = read_request(messages, facts)
    if found is None:
        return None
    kind, request = found

    def truth(question: Question) -> str | None:
        return solve(question.prompt, question.options, answers)

    return kind.serve(request, profile, seed, truth)


def _small_talk() -> str:
    return ("I am a simulated agent served by llmteams-lab; I answer the team prompts its openai backend "
            "sends (a 'Round: N' block with a question and options, or a 'Coordination:' turn).")
