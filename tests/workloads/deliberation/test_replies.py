"""The tolerant reply parser on a corpus of chat-model replies (``replies.json``): prose
that states one choice is read (with its confidence), ambiguous or answerless replies
are refused — the replies a third of which the old parser threw away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmteams_lab.errors import MalformedOutputError
from llmteams_lab.workloads.deliberation.replies import parse_reply

CORPUS = json.loads((Path(__file__).parent / "replies.json").read_text(encoding="utf-8"))
ACCEPTED = [c for c in CORPUS if c["answer"] is not None]
REFUSED = [c for c in CORPUS if c["answer"] is None]


def label(case: dict) -> str:
    return " ".join(case["text"].split())[:50]


@pytest.mark.parametrize("case", ACCEPTED, ids=label)
def test_replies_stating_one_choice_are_read_with_their_confidence(case) -> None:
    fields = parse_reply(case["text"], case["options"])
    assert (fields.answer, fields.confidence) == (case["answer"], case["confidence"])


@pytest.mark.parametrize("case", REFUSED, ids=label)
def test_ambiguous_or_answerless_replies_are_refused_as_malformed(case) -> None:
    with pytest.raises(MalformedOutputError) as err:
        parse_reply(case["text"], case["options"])
    assert case["refused"] in str(err.value) and len(str(err.value)) < 300


def test_the_corpus_covers_the_ways_the_issue_names() -> None:
    texts = " ".join(c["text"] for c in CORPUS)
    for way in ("I'll go with C", "**Answer: B**", "The answer is (B)", "My final answer: B.", "85%", "0.7", "B or C"):
        assert way in texts, way
    assert len(ACCEPTED) >= 40 and len(REFUSED) >= 10
