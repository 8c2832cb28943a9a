"""Inbox messages built through drafts are ordinary, frozen Message records."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from llmteams_lab.messages import Message
from llmteams_lab.rounds import from_heads, new_message, stream


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


def test_fast_message_constructor_builds_equal_messages() -> None:
    fields = (3, "a1", "a2", "B", 0.25, "because", None)
    fast, slow = new_message(*fields), Message(*fields)
    assert fast == slow and type(fast) is Message and hash(fast) == hash(slow)
    with pytest.raises(AttributeError):
        fast.answer = "C"  # still frozen


@pytest.mark.parametrize("key", [(0,), (1, 0x11C5, 3, 7), (2**32 - 1, 0, 2**31), (2**32, 5, 1), (7, 2**40, 0),
                                 (2**63 - 1, 2, 0x51A7)])
def test_a_stream_is_numpys_pcg64_seeded_with_the_key_as_a_list(key) -> None:
    expected = np.random.Generator(np.random.PCG64(list(key)))
    got = stream(*key)
    assert got.bit_generator.state == expected.bit_generator.state
    assert got.standard_normal(5).tolist() == expected.standard_normal(5).tolist()
