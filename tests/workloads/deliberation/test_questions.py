"""Generated questions: real, checkable, reproducible."""

from __future__ import annotations

import re

import pytest

from llmteams_lab.spec import TaskSpec
from llmteams_lab.workloads.deliberation import make_question


def is_prime(x: int) -> bool:
    return x > 1 and all(x % d for d in range(2, x))


@pytest.mark.parametrize("seed", range(5))
def test_multiple_choice_has_exactly_one_prime(seed: int) -> None:
    q = make_question(TaskSpec(options=5), seed)
    numbers = [int(x) for x in re.findall(r"[A-Z]\) (\d+)", q.prompt)]
    assert q.options == ("A", "B", "C", "D", "E") and len(numbers) == 5
    assert [is_prime(x) for x in numbers].count(True) == 1
    assert is_prime(numbers[q.options.index(q.answer)])


@pytest.mark.parametrize("seed", range(5))
def test_arithmetic_answer_is_the_true_value(seed: int) -> None:
    q = make_question(TaskSpec(kind="arithmetic", options=6), seed)
    a, b, c = map(int, re.findall(r"What is (\d+) × (\d+) \+ (\d+)\?", q.prompt)[0])
    assert q.answer == str(a * b + c) and q.answer in q.options and len(set(q.options)) == 6


def test_questions_are_reproducible_and_vary_with_seed_and_index() -> None:
    task = TaskSpec()
    assert make_question(task, 3) == make_question(task, 3)
    prompts = {make_question(task, s).prompt for s in range(6)} | {make_question(task.replace(index=i), 0).prompt
                                                                   for i in range(1, 6)}
    assert len(prompts) >= 10


def test_custom_question_is_taken_verbatim() -> None:
    q = make_question(TaskSpec(kind="custom", prompt="2+2?", choices=("3", "4"), answer="4"), 0)
    assert (q.prompt, q.options, q.answer, q.kind) == ("2+2?", ("3", "4"), "4", "custom")
