"""Inbox messages built through drafts are ordinary, frozen Message records."""

from __future__ import annotations

import dataclasses

import pytest

from llmteams_lab.messages import Message
from llmteams_lab.runtime.message_drafts import from_heads


def test_messages_from_heads_equal_constructed_ones_in_sender_order() -> None:
    heads = [(4, "a0", "B", 0.25, "because"), None, (4, "a2", None, 0.5, ""), (4, "a3", "C", 1.0, "sure")]
    got = from_heads(heads, [3, 1, 0, 2], "a9")  # a1 said nothing
    assert got == (Message(4, "a3", "a9", "C", 1.0, "sure"), Message(4, "a0", "a9", "B", 0.25, "because"),
                   Message(4, "a2", "a9", None, 0.5, ""))
    assert all(type(m) is Message and m.payload is None for m in got)
    assert hash(got[0]) == hash(Message(4, "a3", "a9", "C", 1.0, "sure"))
    assert dataclasses.replace(got[1], answer="A").answer == "A"
    with pytest.raises(dataclasses.FrozenInstanceError):
        got[0].answer = "A"
