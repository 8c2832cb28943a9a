"""The "model" behind ``serve``: a simulated agent profile answering team prompts.

It reads the prompt the ``openai`` backend renders (the deliberation codec's
``read_prompt``) and answers with *the* simulated-agent model,
:func:`~llmteams_lab.workloads.deliberation.agents.answer_one` — the same rules and
numbers as :class:`~llmteams_lab.workloads.deliberation.SimulatedBackend` — so a team
run through the real ``openai`` client against ``serve`` behaves like a simulated team.
What ``serve`` adds: it works out the truth where it can (:func:`solve`: the built-in
generated questions, or answers it was given), waits the drawn latency in real
seconds, pads the reply text to about ``reply_tokens`` tokens and counts usage from the
text's length (:func:`~llmteams_lab.workloads.deliberation.codec.estimate_tokens`), as
the backend estimates it.

Draws come from numpy's ``SeedSequence([seed, crc32(agent), round])`` — the request's
``seed`` field when sent — so answers do not depend on the order requests arrive in,
and a retried request gets the same answer. (The simulated backend draws a whole
team's table per round instead: same distributions, not the same numbers, since
``serve`` does not know an agent's place in its team.)
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from llmteams_lab.messages import AgentRequest
from llmteams_lab.spec import AgentSpec
from llmteams_lab.workloads.deliberation.agents import answer_one
from llmteams_lab.workloads.deliberation.codec import (
    PromptFacts,
    estimate_tokens,
    parse_prompt,
    request_of_facts,
)

__all__ = ["ChatReply", "answer_chat", "solve"]

_PRIME = re.compile(r"Which of these numbers is prime\? (.+?)\. Answer with the letter\.")
_SUM = re.compile(r"What is (\d+) × (\d+) \+ (\d+)\?")
_MASK64 = (1 << 64) - 1  # a request's seed may be any integer; SeedSequence takes non-negative ones
_FILLER = (" I compared every option with what my teammates reported before deciding.",
           " The other options do not hold up when checked one by one.",
           " I would change my mind only on a clear argument.")


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
    body's prompt, when the caller has already parsed it)."""
    messages = body.get("messages") or []
    facts = facts if facts is not None else parse_prompt(messages)
    seed = body["seed"] if isinstance(body.get("seed"), int) else seed
    if facts is None or not facts.options:
        content, latency = _small_talk(), profile.latency_s
    else:
        content, latency = _deliberate(request_of_facts(facts), profile, seed, answers)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    if isinstance(limit, int) and limit > 0 and estimate_tokens(content) > limit:
        content, finish = content[: 4 * limit], "length"
    prompt = sum(3 + estimate_tokens(str(m.get("content") or "")) for m in messages if isinstance(m, dict)) + 3
    return ChatReply(content, latency, prompt, estimate_tokens(content), finish)


def _deliberate(request: AgentRequest, profile: AgentSpec, seed: int,
                answers: Mapping[str, str] | None) -> tuple[str, float]:
    question = request.question
    truth = solve(question.prompt, question.options, answers)
    rng = np.random.default_rng([seed & _MASK64, zlib.crc32(request.agent.encode("utf-8")), request.round])
    out = answer_one(request, profile, truth, rng)
    answer = question.options[int(out.answer[0])]
    confidence = int(out.confidence[0]) / 1000
    return json.dumps({"answer": answer, "confidence": confidence,
                       "message": _message(answer, len(request.inbox), profile.reply_tokens)}), float(out.latency_s[0])


def _message(answer: str, heard_count: int, reply_tokens: int) -> str:
    heard = f" after reading {heard_count} message(s)" if heard_count else ""
    text = f"My answer is {answer}{heard}."
    i = 0
    while estimate_tokens(text) < reply_tokens - 12:  # the JSON around the message costs ~12 tokens
        text += _FILLER[i % len(_FILLER)]
        i += 1
    return text


def _small_talk() -> str:
    return ("I am a simulated agent served by llmteams-lab; I answer the team prompts its openai backend "
            "sends (a 'Round: N' block with a question and options).")
