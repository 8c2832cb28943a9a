"""Question generators with ground truth, seeded by the team's seed and task index.

Generated questions are real (an LLM can answer them), checkable and reproducible:

* ``multiple_choice``: "Which of these numbers is prime?" — one prime among
  composites, options labelled A, B, C ...;
* ``arithmetic``: "What is a × b + c?" — the options are the true value and nearby
  distractors (the options are the numbers themselves).
"""

from __future__ import annotations

import random

from llmteams_lab.messages import Question
from llmteams_lab.spec import TaskSpec

__all__ = ["make_question"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def make_question(task: TaskSpec, seed: int) -> Question:
    """The question a team with this task and seed deliberates on."""
    rng = random.Random(seed * 1_000_003 + task.index)
    qid = f"{task.kind}-{seed}-{task.index}"
    if task.kind == "custom":
        return Question(qid, task.prompt or "", tuple(task.choices), task.answer or "", "custom")
    if task.kind == "arithmetic":
        return _arithmetic(qid, task.options, rng)
    return _prime(qid, task.options, rng)


def _is_prime(x: int) -> bool:
    return x > 1 and all(x % d for d in range(2, int(x**0.5) + 1))


# the candidates, computed once (a sweep makes a question per run; these lists were a
# third of a 10-agent run's set-up); the draws below read them exactly as before
_PRIMES = tuple(x for x in range(11, 200) if _is_prime(x))
_ODD_COMPOSITES = tuple(x for x in range(10, 200) if not _is_prime(x) and x % 2)


def _prime(qid: str, k: int, rng: random.Random) -> Question:
    prime = rng.choice(_PRIMES)
    composites = rng.sample(_ODD_COMPOSITES, k - 1)
    numbers = composites + [prime]
    rng.shuffle(numbers)
    labels = tuple(_LETTERS[:k])
    listing = "; ".join(f"{label}) {num}" for label, num in zip(labels, numbers))
    prompt = f"Which of these numbers is prime? {listing}. Answer with the letter."
    return Question(qid, prompt, labels, labels[numbers.index(prime)], "multiple_choice")


def _arithmetic(qid: str, k: int, rng: random.Random) -> Question:
    a, b, c = rng.randint(12, 99), rng.randint(3, 19), rng.randint(1, 99)
    truth = a * b + c
    offsets = rng.sample([d for d in range(-3 * k, 3 * k + 1) if d], k - 1)
    numbers = [truth + d for d in offsets] + [truth]
    rng.shuffle(numbers)
    options = tuple(str(x) for x in numbers)
    prompt = f"What is {a} × {b} + {c}? Options: {', '.join(options)}."
    return Question(qid, prompt, options, str(truth), "arithmetic")
