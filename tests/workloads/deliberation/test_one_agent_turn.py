"""One agent's turn (an asynchronous run) computes its confidence on Python floats: the
same thousandths as the array path for every profile and draw, half-way cases included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import team
from llmteams_lab.workloads.deliberation.agents import AgentModel

_UNIT = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(confidence=_UNIT, calibration=_UNIT, right=st.booleans(),
       z=st.one_of(st.floats(-60, 60, allow_nan=False), st.integers(-80, 80).map(lambda k: k / 2)))
def test_one_agents_confidence_is_the_array_paths(confidence: float, calibration: float, right: bool,
                                                  z: float) -> None:
    model = AgentModel(team(3, seed=1, confidence=confidence, calibration=calibration).agents)
    conf = np.where(np.array([right]), model.confidence_right[1:2], model.confidence_wrong[1:2])
    conf += 0.05 * np.array([z])
    np.minimum(np.maximum(conf, 0.0, out=conf), 1.0, out=conf)
    conf *= 1000
    assert model._one_confidence(right, z, 1).tolist() == np.rint(conf).astype(np.int64).tolist()
