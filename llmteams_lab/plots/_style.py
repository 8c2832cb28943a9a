"""Shared look of every figure: the answer palette, metric colours, base layout.

Why one module: the team graph (a widget) and the plots must agree on colours — the
answer "B" is the same colour on a node and in a legend — so both read them here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ANSWER_PALETTE", "METRIC_COLORS", "NO_ANSWER", "answer_colors", "base_layout"]

# Colour-blind-friendly (Okabe–Ito first, then Tableau); cycled beyond its length.
ANSWER_PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#EDC948", "#FF9DA7", "#9C755F",
)
NO_ANSWER = "#d0d4da"  # no answer yet, or the agent is crashed

METRIC_COLORS: dict[str, str] = {
    "agreement": "#0072B2",
    "entropy": "#CC79A7",
    "accuracy": "#E69F00",
    "team_accuracy": "#009E73",
    "messages": "#0072B2",
    "tokens": "#E69F00",
    "ref_n": "#7f7f7f",
    "ref_n2": "#D55E00",
}


def answer_colors(options: tuple[str, ...] | list[str]) -> dict[str, str]:
    """A colour for each answer option, in option order (stable across runs)."""
    return {opt: ANSWER_PALETTE[i % len(ANSWER_PALETTE)] for i, opt in enumerate(options)}


def base_layout(title: str, **extra: Any) -> dict[str, Any]:
    """Compact layout for notebook cells: small margins, legend below the plot."""
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.02, "font": {"size": 15}},
        "template": "plotly_white",
        "margin": {"l": 55, "r": 55, "t": 45, "b": 40},
        "height": 330,
        "legend": {"orientation": "h", "y": -0.18, "x": 0.0},
        "hovermode": "x unified",
    }
    layout.update(extra)
    return layout
