"""``TeamSpec.reseeded`` gives exactly ``replace(seed=s)``, JSON included."""

from __future__ import annotations

import pytest

from llmteams_lab import SpecError, team
from llmteams_lab.spec import FaultSpec

from .test_roundtrip import SPECS

WITH_FAULTS = team(6, seed=4).replace(faults=(FaultSpec(kind="crash", agent="a1", at_round=2),
                                              FaultSpec(kind="drop", probability=0.1)))


@pytest.mark.parametrize("spec", [*SPECS.values(), WITH_FAULTS], ids=[*SPECS, "faults"])
def test_each_copy_equals_replace_and_serialises_the_same(spec) -> None:
    seeds = [0, 1, 7, 2**40, 123_456_789]
    copies = list(spec.reseeded(seeds))
    for seed, copy in zip(seeds, copies):
        fresh = spec.replace(seed=seed)
        assert copy == fresh and copy.seed == seed
        assert copy.to_json() == fresh.to_json() == fresh.to_json(indent=None)
        assert copy.fingerprint() == fresh.fingerprint()
        assert type(copy).from_json(copy.to_json()) == fresh


def test_a_spec_whose_text_holds_the_marker_is_serialised_the_long_way() -> None:
    spec = team(3).replace(name="odd \x00seed\x00 name")
    (copy,) = spec.reseeded([5])
    assert copy.to_json() == spec.replace(seed=5).to_json()


def test_a_bad_seed_is_refused_as_replace_refuses_it() -> None:
    with pytest.raises(SpecError):
        list(team(3).reseeded([-1]))
