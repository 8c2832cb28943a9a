"""Plots (level 7): plotly figures built from metrics frames by pure functions.

Every builder takes a metrics frame (``metrics.convergence``, ``metrics.overhead`` or a
sweep table) and returns a ``plotly.graph_objects.Figure``; the ``*_series`` halves
give the arrays the live FigureWidgets of the lab re-assign round by round.
"""

from llmteams_lab.plots.style import ANSWER_PALETTE, NO_ANSWER, answer_colors
from llmteams_lab.plots.convergence import (
    CONVERGENCE_TRACES,
    carry_final_state,
    convergence_figure,
    convergence_series,
)
from llmteams_lab.plots.designs import (
    design_names,
    gains_figure,
    pareto_figure,
    robustness_figure,
    scaling_figure,
)
from llmteams_lab.plots.overhead import (
    OVERHEAD_TRACES,
    overhead_figure,
    overhead_series,
    reference_messages,
)
from llmteams_lab.plots.scheduling import policy_figure, speculation_figure
from llmteams_lab.plots.spacetime import spacetime_figure, spacetime_segments
from llmteams_lab.plots.strategies import strategies_figure
from llmteams_lab.plots.sweeps import sweep_figure

__all__ = [
    "ANSWER_PALETTE",
    "CONVERGENCE_TRACES",
    "NO_ANSWER",
    "OVERHEAD_TRACES",
    "answer_colors",
    "carry_final_state",
    "convergence_figure",
    "convergence_series",
    "design_names",
    "gains_figure",
    "overhead_figure",
    "overhead_series",
    "pareto_figure",
    "policy_figure",
    "reference_messages",
    "robustness_figure",
    "scaling_figure",
    "spacetime_figure",
    "spacetime_segments",
    "speculation_figure",
    "strategies_figure",
    "sweep_figure",
]
