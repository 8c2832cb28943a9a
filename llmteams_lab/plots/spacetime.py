"""A space-time diagram: agents as horizontal lines, each message a segment from its
sender at the time it was sent to its receiver at the time it was delivered.

The classic picture of a distributed execution (Lamport's): a dropped message ends in
a cross, a delayed one is a long slanted line, a partition shows as missing segments.
Built from per-message events (``logging = "messages"``); aggregated logs have none.
Long runs are cut to the first ``max_messages`` messages so the figure stays light.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.plots._style import ANSWER_PALETTE, base_layout

__all__ = ["space_time_figure"]


def space_time_figure(events: pl.DataFrame, *, max_messages: int = 2000,
                      title: str = "Space-time diagram (messages)") -> go.Figure:
    """Messages of ``events`` (one run) as sender→receiver segments on the run's clock."""
    sent = events.filter(pl.col("kind") == "MessageSent").head(max_messages)
    fates = events.filter(pl.col("kind").is_in(["MessageDelivered", "MessageDropped"])).select(
        "round", "agent", "peer", "kind", t_arrive=pl.col("t_end"))
    joined = sent.select("round", "agent", "peer", "t_start").join(
        fates.unique(["round", "agent", "peer", "kind"], keep="first", maintain_order=True),
        on=["round", "agent", "peer"], how="left")
    agents = sorted(set(events["agent"].drop_nulls().to_list()) | set(events["peer"].drop_nulls().to_list()),
                    key=lambda a: (len(a), a))
    row = {a: i for i, a in enumerate(agents)}
    fig = go.Figure(layout=base_layout(title, hovermode="closest", height=max(260, 22 * len(agents) + 110)))
    for kind, color, name in (("MessageDelivered", ANSWER_PALETTE[0], "delivered"),
                              ("MessageDropped", ANSWER_PALETTE[5], "dropped")):
        part = joined.filter(pl.col("kind") == kind)
        xs: list[float | None] = []
        ys: list[float | None] = []
        for sender, peer, t0, t1 in part.select("agent", "peer", "t_start", "t_arrive").iter_rows():
            xs += [t0, t1, None]
            ys += [row[sender], row[peer], None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line={"color": color, "width": 1},
                                     opacity=0.55))
    ends = events.filter(pl.col("kind") == "RoundEnded")
    for t in ends["t_end"].to_list():
        fig.add_vline(x=t, line={"color": "#bbb", "width": 1, "dash": "dot"})
    fig.update_layout(xaxis={"title": {"text": "run clock (s)"}},
                      yaxis={"tickmode": "array", "tickvals": list(range(len(agents))), "ticktext": agents,
                             "autorange": "reversed", "title": {"text": "agent"}})
    return fig
