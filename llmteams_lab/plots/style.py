"""The one look of every figure: palette, line styles, markers, ticks, light/dark templates.

Why one module: the team graph (a widget), the lab's live plots and the lessons' static
figures must agree — the answer "B" is the same colour on a node and in a legend, a
crashed agent has the same glyph in the graph and in the fault log, and two series that
can coincide (agreement and individual accuracy) never look alike. Figure builders apply
this module's styles; they never pick colours of their own.

Rules kept here:

* one colour-blind-safe palette (Okabe & Ito, 2008) and no red/green pair anywhere;
* series that may overlap differ in *three* ways — colour, dash and marker symbol — so
  one hidden under the other is still seen at its markers;
* every axis gets nice tick values (1, 2, 2.5 or 5 × 10^k), secondary axes included
  (plotly would otherwise sync them to the primary's grid: 710/1430);
* reference curves are drawn as wide translucent bands, so a series lying exactly on
  a reference (a complete graph on O(n²)) stays visible;
* a light and a dark template; the lab's plots switch with JupyterLab's theme, lessons
  call :func:`use` once to make the light one the default of their static figures.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["ANSWER_PALETTE", "FAULT_STYLE", "METRIC_COLORS", "NO_ANSWER", "OKABE_ITO", "PALETTE", "ROLE_COLORS",
           "SERIES", "TASK_STATE_COLORS", "answer_colors", "apply", "bar_labels", "base_layout", "fault_style",
           "nice_dtick", "nice_ticks", "reference_line", "series_style", "template", "use"]

# Okabe & Ito's colour-blind-safe palette (black last: it is the text colour).
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2", "orange": "#E69F00", "bluish_green": "#009E73", "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9", "vermillion": "#D55E00", "yellow": "#F0E442", "black": "#000000",
}
# The order series take colours in: no red/green pair among the first six, and the two
# colours a colour-blind reader confuses most (orange/yellow) are far apart.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
                            "#F0E442")
# Answers: Okabe–Ito first, then lighter Tableau tones without its red/green pair; cycled.
ANSWER_PALETTE: tuple[str, ...] = PALETTE[:6] + ("#F0E442", "#000000", "#4E79A7", "#F28E2B", "#B07AA1",
                                                 "#76B7B2", "#EDC948", "#9C755F", "#BAB0AC", "#FF9DA7")
NO_ANSWER = "#d0d4da"  # no answer yet, or the agent is crashed
GRID_LIGHT, GRID_DARK = "#e6e8eb", "#3a3f46"

# key -> colour, dash, marker symbol, width: the live figures' and the lessons' series
SERIES: dict[str, dict[str, Any]] = {
    "agreement": {"color": "#0072B2", "dash": "solid", "symbol": "circle", "width": 3},
    "accuracy": {"color": "#E69F00", "dash": "dash", "symbol": "diamond", "width": 2},
    "team_accuracy": {"color": "#009E73", "dash": "solid", "symbol": "square", "width": 2},
    "entropy": {"color": "#CC79A7", "dash": "dot", "symbol": "triangle-up", "width": 2},
    "messages": {"color": "#0072B2", "dash": "solid", "symbol": "circle", "width": 2},
    "tokens": {"color": "#E69F00", "dash": "dot", "symbol": "diamond", "width": 2},
    "ref_n": {"color": "#56B4E9", "dash": "solid", "symbol": "line-ew", "width": 7},
    "ref_n2": {"color": "#CC79A7", "dash": "solid", "symbol": "line-ew", "width": 7},
    "tasks_done": {"color": "#0072B2", "dash": "solid", "symbol": "circle", "width": 3},
    "bound": {"color": "#009E73", "dash": "dash", "symbol": "line-ew", "width": 2},
    "reference": {"color": "#E69F00", "dash": "dot", "symbol": "line-ew", "width": 2},
    "serial": {"color": "#7f7f7f", "dash": "dashdot", "symbol": "line-ew", "width": 1.5},
}
METRIC_COLORS: dict[str, str] = {key: s["color"] for key, s in SERIES.items()}
REFERENCE_OPACITY = 0.35

# Fault kind -> glyph (one letter or sign drawn on the node or link), colour and ring dash.
FAULT_STYLE: dict[str, dict[str, str]] = {
    "crash": {"glyph": "✕", "color": "#555555", "dash": "none", "label": "crashed"},
    "crash_recover": {"glyph": "↻", "color": "#555555", "dash": "2 2", "label": "down, will recover"},
    "straggler": {"glyph": "S", "color": "#E69F00", "dash": "4 2", "label": "straggler (slow)"},
    "byzantine": {"glyph": "B", "color": "#D55E00", "dash": "none", "label": "Byzantine liar"},
    "equivocator": {"glyph": "E", "color": "#CC79A7", "dash": "none", "label": "equivocator"},
    "sycophant": {"glyph": "Y", "color": "#56B4E9", "dash": "1 2", "label": "sycophant"},
    "stubborn": {"glyph": "T", "color": "#0072B2", "dash": "6 2", "label": "stubborn"},
    "prompt_injection": {"glyph": "P", "color": "#D55E00", "dash": "1 2", "label": "prompt injector"},
    "drop": {"glyph": "×", "color": "#D55E00", "dash": "2 3", "label": "link drops messages"},
    "delay": {"glyph": "…", "color": "#E69F00", "dash": "8 4", "label": "link delays messages"},
    "duplicate": {"glyph": "2", "color": "#56B4E9", "dash": "6 2 1 2", "label": "link duplicates"},
    "reorder": {"glyph": "⇄", "color": "#CC79A7", "dash": "6 2 1 2", "label": "link reorders"},
    "corrupt": {"glyph": "?", "color": "#CC79A7", "dash": "1 3", "label": "link corrupts"},
    "partition": {"glyph": "|", "color": "#7a4fa3", "dash": "10 4", "label": "partition (cut)"},
    "timeout": {"glyph": "⌛", "color": "#E69F00", "dash": "3 3", "label": "backend timeouts"},
    "rate_limit": {"glyph": "R", "color": "#E69F00", "dash": "3 3", "label": "rate-limited (429)"},
    "server_error": {"glyph": "5", "color": "#D55E00", "dash": "3 3", "label": "server errors (5xx)"},
    "malformed": {"glyph": "M", "color": "#CC79A7", "dash": "3 3", "label": "malformed replies"},
    "empty": {"glyph": "∅", "color": "#CC79A7", "dash": "3 3", "label": "empty replies"},
}
# Coordination teams (election, commit): each agent's role — the lead roles in the warm
# colours, the roles that follow in the cool ones (no red/green pair)
ROLE_COLORS: dict[str, str] = {"leader": "#E69F00", "candidate": "#CC79A7", "follower": "#56B4E9",
                               "coordinator": "#E69F00", "participant": "#56B4E9", "replica": "#56B4E9",
                               "primary": "#0072B2", "backup": "#009E73"}

# Work division: what an agent is doing this round
TASK_STATE_COLORS: dict[str, str] = {"working": "#0072B2", "completed": "#009E73", "blocked": "#E69F00",
                                     "failed": "#D55E00", "idle": "#c9ced6"}


def answer_colors(options: tuple[str, ...] | list[str]) -> dict[str, str]:
    """A colour for each answer option, in option order (stable across runs)."""
    return {opt: ANSWER_PALETTE[i % len(ANSWER_PALETTE)] for i, opt in enumerate(options)}


def fault_style(kind: str) -> dict[str, str]:
    """Glyph, colour, ring dash and label of a fault kind (unknown kinds get a neutral one)."""
    return FAULT_STYLE.get(kind, {"glyph": "!", "color": "#555555", "dash": "none", "label": kind})


def series_style(key: str, *, markers: bool = True) -> dict[str, Any]:
    """``line`` and ``marker`` arguments of a scatter trace for series ``key``."""
    s = SERIES[key]
    return {"line": {"color": s["color"], "dash": s["dash"], "width": s["width"]},
            "marker": {"color": s["color"], "symbol": s["symbol"], "size": 7 if markers else 0,
                       "line": {"width": 1, "color": "#ffffff"}}}


def reference_line(key: str) -> dict[str, Any]:
    """``line`` and ``opacity`` of a reference curve: a wide translucent band, so a data
    series lying exactly on it stays visible."""
    s = SERIES[key]
    return {"line": {"color": s["color"], "width": s["width"], "dash": s["dash"]}, "opacity": REFERENCE_OPACITY}


# --- ticks -------------------------------------------------------------------------------
def nice_dtick(span: float, target: int = 5) -> float:
    """A tick step of 1, 2, 2.5 or 5 × 10^k giving about ``target`` ticks over ``span``."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(target, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Nice tick values from at or below ``lo`` to at or above ``hi`` (0, 500, 1000, 1500 — never 710, 1430)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + 1.0
    step = nice_dtick(hi - lo, target)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


# --- templates ---------------------------------------------------------------------------
def template(dark: bool = False) -> dict[str, Any]:
    """A plotly template (as a plain dict): fonts, grid, palette, for light or dark pages."""
    fg, bg, grid = ("#e6e6e6", "#111418", GRID_DARK) if dark else ("#222222", "#ffffff", GRID_LIGHT)
    axis = {"gridcolor": grid, "linecolor": grid, "zerolinecolor": grid, "ticks": "outside", "tickcolor": grid,
            "automargin": True, "title": {"standoff": 8}}
    return {"layout": {
        "colorway": list(PALETTE), "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif",
                                            "size": 12, "color": fg},
        "paper_bgcolor": bg, "plot_bgcolor": bg, "xaxis": axis, "yaxis": axis,
        "legend": {"bgcolor": "rgba(0,0,0,0)"}, "hoverlabel": {"font": {"size": 12}},
        "title": {"font": {"size": 15}}, "bargap": 0.2,
    }}


def base_layout(title: str, **extra: Any) -> dict[str, Any]:
    """Compact layout for notebook cells: small margins, legend below the plot."""
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.02, "font": {"size": 15}},
        "template": template(),
        "margin": {"l": 55, "r": 55, "t": 45, "b": 40},
        "height": 330,
        "legend": {"orientation": "h", "y": -0.28, "x": 0.0, "yanchor": "top"},
        "hovermode": "x unified",
    }
    layout.update(extra)
    return layout


def apply(fig: Any, *, dark: bool = False) -> Any:
    """Give a figure built elsewhere (a lesson's own) the shared look; returns it.

    Applies the template and, on secondary (overlaying) axes, automatic tick placement
    instead of ticks synced to the primary grid.
    """
    fig.update_layout(template=template(dark))
    for name in [k for k in fig.layout.to_plotly_json() if k.startswith("yaxis")]:
        axis = fig.layout[name]
        if axis.overlaying:
            axis.update(tickmode="auto", nticks=6, showgrid=False)
    return fig


def bar_labels(fig: Any, fmt: str = "%{y:.2f}") -> Any:
    """Label every bar with its value, so a zero-height bar is still seen (as "0")."""
    fig.update_traces(texttemplate=fmt, textposition="outside", cliponaxis=False, selector={"type": "bar"})
    return fig


def use() -> None:
    """Make the light template plotly's default for figures made from now on.

    Explicit on purpose: importing this module changes nothing; a lesson calls ``use()``
    in its setup cell so its own ``go.Figure()`` figures share the lab's look.
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    pio.templates["llmteams"] = go.layout.Template(template())
    pio.templates.default = "llmteams"
