"""The "model" behind ``serve``: a simulated agent profile answering team prompts.

It reads the prompt the ``openai`` backend renders (:func:`parse_prompt`) and answers
the way :class:`~llmteams_lab.backends.SimulatedBackend` does, so a team run through
the real ``openai`` client against ``serve`` behaves like a simulated team:

* first answer: right with probability ``competence`` (when the question can be
  solved — see :func:`solve`), else a uniformly drawn wrong option;
* later rounds: with probability ``conformity`` adopt the confidence-weighted
  plurality of the messages received (ties: the first option), else keep the answer;
  a leader in the ``aggregate`` phase adopts the weighted plurality of its reports plus
  its own answer;
* confidence ``confidence ± calibration`` (+ when right) with N(0, 0.05) noise;
* latency ``latency_s · exp(latency_jitter · N(0, 1))`` real seconds;
* the reply text is padded to about ``reply_tokens`` tokens; usage is counted from the
  text's length (:func:`estimate_tokens`), as the backend estimates it.

Draws come from ``random.Random`` seeded with (seed, agent, round) — the request's
``seed`` field when sent — so answers do not depend on the order requests arrive in,
and a retried request gets the same answer.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from llmteams_lab.workloads.deliberation.codec import PromptFacts, estimate_tokens, parse_prompt
from llmteams_lab.spec import AgentSpec

__all__ = ["ChatReply", "answer_chat", "solve"]

_PRIME = re.compile(r"Which of these numbers is prime\? (.+?)\. Answer with the letter\.")
_SUM = re.compile(r"What is (\d+) × (\d+) \+ (\d+)\?")
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
        content, latency = _deliberate(facts, profile, seed, answers)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    if isinstance(limit, int) and limit > 0 and estimate_tokens(content) > limit:
        content, finish = content[: 4 * limit], "length"
    prompt = sum(3 + estimate_tokens(str(m.get("content") or "")) for m in messages if isinstance(m, dict)) + 3
    return ChatReply(content, latency, prompt, estimate_tokens(content), finish)


def _deliberate(facts: PromptFacts, profile: AgentSpec, seed: int,
                answers: Mapping[str, str] | None) -> tuple[str, float]:
    rng = random.Random(f"{seed}|{facts.agent}|{facts.round}")
    u_first, u_wrong, u_conform = rng.random(), rng.random(), rng.random()
    n_conf, n_latency = rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)
    options, truth = facts.options, solve(facts.question, facts.options, answers)
    answer = facts.previous if facts.previous in options else None
    if answer is None:
        answer = _first_answer(options, truth, profile.competence, u_first, u_wrong)
    elif facts.inbox and u_conform < profile.conformity:
        answer = _weighted_plurality(facts.inbox, options, None) or answer
    if facts.protocol == "leader" and facts.phase == "aggregate" and facts.role == "leader" and facts.inbox:
        answer = _weighted_plurality(facts.inbox, options, answer) or answer
    right = truth is not None and answer == truth
    shift = profile.calibration if right else -profile.calibration
    confidence = round(min(1.0, max(0.0, profile.confidence + shift + 0.05 * n_conf)), 2)
    latency = profile.latency_s * math.exp(profile.latency_jitter * n_latency)
    return json.dumps({"answer": answer, "confidence": confidence,
                       "message": _message(answer, facts, profile.reply_tokens)}), latency


def _first_answer(options: Sequence[str], truth: str | None, competence: float, u: float, v: float) -> str:
    if truth is None:
        return options[min(int(v * len(options)), len(options) - 1)]
    if u < competence:
        return truth
    wrong = [o for o in options if o != truth]
    return wrong[min(int(v * len(wrong)), len(wrong) - 1)]


def _weighted_plurality(inbox, options: Sequence[str], own: str | None) -> str | None:
    """The option with the most reported confidence (ties: the first option)."""
    weight = {o: 0.0 for o in options}
    for _sender, answer, confidence, _text in inbox:
        if answer in weight:
            weight[answer] += 0.5 if confidence is None else confidence
    if own in weight:
        weight[own] += 1.0
    best = max(options, key=lambda o: (weight[o], -options.index(o)))
    return best if weight[best] > 0 else None


def _message(answer: str, facts: PromptFacts, reply_tokens: int) -> str:
    heard = f" after reading {len(facts.inbox)} message(s)" if facts.inbox else ""
    text = f"My answer is {answer}{heard}."
    i = 0
    while estimate_tokens(text) < reply_tokens - 12:  # the JSON around the message costs ~12 tokens
        text += _FILLER[i % len(_FILLER)]
        i += 1
    return text


def _small_talk() -> str:
    return ("I am a simulated agent served by llmteams-lab; I answer the team prompts its openai backend "
            "sends (a 'Round: N' block with a question and options).")
