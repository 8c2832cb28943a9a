"""Kept for imports written before :mod:`llmteams_lab.plots.style` (the shared look)."""

from llmteams_lab.plots.style import ANSWER_PALETTE, METRIC_COLORS, NO_ANSWER, answer_colors, base_layout

__all__ = ["ANSWER_PALETTE", "METRIC_COLORS", "NO_ANSWER", "answer_colors", "base_layout"]
