"""The space-time (Lamport) diagram of a run: one lane per agent, time along the axis.

What is drawn, from the events alone (so any run works: asynchronous, synchronous —
where the rounds show as time slices — or a replay of the paper's runs):

* a bar on an agent's lane for each of its turns (``AgentReplied``: from the moment it
  started to its reply), coloured by the answer it gave;
* an arrow for each delivered message, from its send on the sender's lane to its
  delivery on the receiver's lane (the head is a triangle at the delivery); hovering or
  clicking it shows its text (``customdata`` holds the message's ``seq`` so a widget can
  look it up);
* a line ending in a cross for each message lost (dropped, sent to a down agent,
  overflowing a mailbox), labelled with why;
* heartbeats as faint lines (hidden until shown from the legend);
* crashes as grey spans on the lane, fault starts and ends as markers, the failure
  detector's suspicions (▲ on the suspecting lane) and withdrawals (○);
* round boundaries as dotted verticals (a synchronous round, an asynchronous slice);
* coordination roles: each leader's tenure as a band on its lane labelled "♛ t3" — from
  its election to when *it* stepped down or went down (its own view: a partitioned old
  leader's band runs on while a newer leader leads), candidates' elections ("? t4"),
  step-downs, and the commit protocol's turning points (the coordinator's decision, a
  blocked participant, a compensation, a backup taking over), each written on its lane.

Big runs: at most ``max_messages`` arrows are drawn (the first ones in time), and the
title says how many were left out.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.errors import ArgumentError
from llmteams_lab.plots._style import NO_ANSWER, answer_colors, base_layout

__all__ = ["spacetime_figure", "spacetime_segments"]

_LOST = "#7f7f7f"
_FATE_KINDS = ("MessageDelivered", "MessageDropped")
_LEAD = "#F0E442"  # Okabe–Ito yellow: the leader's band
# role-changing events -> how each is written on its lane
_ROLE_MARKS = {"ElectionStarted": "? t{value}", "SteppedDown": "↓ t{value}", "Decided": "⚑ {value}",
               "Blocked": "‖ blocked", "Compensated": "↺ undone", "BackupTookOver": "⇄ backup {peer}"}


def _one_run(events: pl.DataFrame) -> pl.DataFrame:
    runs = events["run_id"].unique(maintain_order=True).to_list() if events.height else []
    if len(runs) > 1:
        raise ArgumentError("events", f"must hold one run for a space-time diagram; filter it first "
                                      f"(pl.col('run_id') == ...; runs: {runs[:3]} ...)", len(runs), show_got=False)
    return events


def _lanes(events: pl.DataFrame) -> list[str]:
    """Agents in the team's order (from the recorded spec), else in order of appearance."""
    start = events.filter(pl.col("kind") == "RunStarted")["detail"].to_list()
    if start and start[0]:
        try:
            return [a["id"] for a in json.loads(start[0]).get("agents", [])]
        except (ValueError, TypeError, AttributeError):
            pass
    names = pl.concat([events["agent"], events["peer"]]).drop_nulls().unique(maintain_order=True)
    return names.to_list()


def spacetime_segments(events: pl.DataFrame, max_messages: int = 3000) -> dict[str, Any]:
    """The diagram's data: lanes, turns, messages (delivered, lost, heartbeats), marks.
    Shared by :func:`spacetime_figure` and the lab's live view."""
    events = _one_run(events)
    lanes = _lanes(events)
    sent = events.filter(pl.col("kind") == "MessageSent").select(
        sent_seq="seq", sent_t="t_start", text="detail", sent_fault="fault")
    fates = events.filter(pl.col("kind").is_in(_FATE_KINDS) & pl.col("cause").is_not_null()).join(
        sent, left_on="cause", right_on="sent_seq", how="left").sort("t_end", "seq")
    heartbeat = fates["text"].fill_null("") == "heartbeat"
    fates = fates.with_columns(heartbeat=heartbeat)
    shown = fates.filter(~pl.col("heartbeat")).head(max_messages)
    return {
        "lanes": lanes,
        "turns": events.filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed")) & pl.col("agent").is_not_null()
                               & (pl.col("fault").fill_null("").is_in(("crash", "crash_recover")).not_())),
        "delivered": shown.filter(pl.col("kind") == "MessageDelivered"),
        "lost": shown.filter(pl.col("kind") == "MessageDropped"),
        "heartbeats": fates.filter(pl.col("heartbeat")).head(max_messages),
        "left_out": fates.filter(~pl.col("heartbeat")).height - shown.height,
        "down": _down_spans(events),
        "faults": events.filter(pl.col("kind") == "FaultApplied"),
        "suspected": events.filter(pl.col("kind") == "Suspected"),
        "unsuspected": events.filter(pl.col("kind") == "Unsuspected"),
        "rounds": events.filter(pl.col("kind") == "RoundEnded")["t_end"].to_list(),
        "leads": _lead_spans(events),
        "roles": events.filter(pl.col("kind").is_in(list(_ROLE_MARKS)) & pl.col("agent").is_not_null()),
    }


def _lead_spans(events: pl.DataFrame) -> list[tuple[str, float, float, str]]:
    """(leader, from, to, term): from its election until it stepped down or went down (or
    the run's end) — the leader's own view of its tenure."""
    elected = events.filter(pl.col("kind") == "LeaderElected").sort("t_end", "seq")
    if not elected.height:
        return []
    last = float(events["t_end"].max())
    ends = events.filter((pl.col("kind") == "SteppedDown") | ((pl.col("kind") == "FaultApplied") & (
        pl.col("value") == "start") & pl.col("fault").is_in(("crash", "crash_recover")))).select("agent", "t_end")
    out = []
    for agent, t0, term in elected.select("agent", "t_end", "value").iter_rows():
        later = ends.filter((pl.col("agent") == agent) & (pl.col("t_end") >= t0))["t_end"]
        out.append((agent, float(t0), float(later.min()) if later.len() else last, str(term)))
    return out


def _down_spans(events: pl.DataFrame) -> pl.DataFrame:
    """(agent, t_start, t_end): when an agent was down — each round (or slice) it was, to
    the round's end, consecutive ones merged (one shape per outage, not per round: a
    crash early in a long run would otherwise cost a shape per round)."""
    down = events.filter((pl.col("kind") == "AgentFailed") & pl.col("fault").is_in(("crash", "crash_recover")))
    ends = events.filter(pl.col("kind") == "RoundEnded").select("round", round_end="t_end")
    last = events["t_end"].max() if events.height else 0.0
    spans = down.join(ends, on="round", how="left").select(
        "agent", "t_start", t_end=pl.col("round_end").fill_null(last)).sort("agent", "t_start")
    merged: list[list] = []
    for agent, t0, t1 in spans.iter_rows():
        if merged and merged[-1][0] == agent and t0 <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], t1)
        else:
            merged.append([agent, t0, t1])
    return pl.DataFrame(merged, schema={"agent": pl.String, "t_start": pl.Float64, "t_end": pl.Float64},
                        orient="row")


def _segments(rows: pl.DataFrame, y: dict[str, int], x0: str, a0: str, x1: str, a1: str):
    xs: list[Any] = []
    ys: list[Any] = []
    for t0, s, t1, r in rows.select(x0, a0, x1, a1).iter_rows():
        if s in y and r in y:
            xs += [t0, t1, None]
            ys += [y[s], y[r], None]
    return xs, ys


def spacetime_figure(events: pl.DataFrame, *, options: tuple[str, ...] | list[str] = (),
                     max_messages: int = 3000, title: str = "Space-time diagram") -> go.Figure:
    """The Lamport diagram of one run's events (see the module docstring)."""
    data = spacetime_segments(events, max_messages)
    lanes = data["lanes"]
    y = {a: i for i, a in enumerate(lanes)}
    fig = go.Figure()
    answers = [v for v in data["turns"]["value"].unique(maintain_order=True).to_list() if v is not None]
    colors = answer_colors(tuple(options) or tuple(sorted(answers)))
    _add_turns(fig, data["turns"], y, colors)
    _add_messages(fig, data, y, colors)
    shapes: list[dict[str, Any]] = []  # set once at the end: plotly re-checks every shape on each add_shape
    _add_marks(fig, data, y, shapes)
    _add_roles(fig, data, y, shapes)
    shapes += [{"type": "line", "xref": "x", "yref": "paper", "x0": t, "x1": t, "y0": 0, "y1": 1,
                "line": {"dash": "dot", "width": 1, "color": "#b0b4ba"}} for t in data["rounds"]]
    fig.update_layout(shapes=shapes)
    note = f" — first {max_messages} messages shown, {data['left_out']} left out" if data["left_out"] else ""
    fig.update_layout(**base_layout(title + note, height=max(260, 34 * len(lanes) + 110), hovermode="closest",
                                    legend={"orientation": "v", "x": 1.02, "y": 1.0}))
    fig.update_yaxes(tickvals=list(range(len(lanes))), ticktext=lanes, title="agent", showgrid=True,
                     zeroline=False, range=[len(lanes) - 0.4, -0.6])  # reversed, with room for the bands
    fig.update_xaxes(title="time on the run's clock (s)", zeroline=False)
    return fig


_LEGEND_TURNS, _LEGEND_CHARS = 6, 32  # turn values in the legend at most, and their length there


def _add_turns(fig: go.Figure, turns: pl.DataFrame, y: dict[str, int], colors: dict[str, str]) -> None:
    """One trace per value the turns gave. Role-playing workloads give a value per action
    (an elected leader's every assignment is one), so the legend lists the first few,
    shortened, and says how many more there are; hovering a turn shows its whole value."""
    groups = sorted(turns.group_by("value", maintain_order=True), key=lambda kv: str(kv[0][0]))
    for shown, (value, rows) in enumerate(groups):
        answer = value[0]
        xs, ys, text = [], [], []
        for agent, t0, t1, kind in rows.select("agent", "t_start", "t_end", "kind").iter_rows():
            if agent in y:
                xs += [t0, t1, None]
                ys += [y[agent], y[agent], None]
                label = f"{agent}: {'failed' if kind == 'AgentFailed' else answer}"
                text += [label, label, None]
        color = colors.get(answer, NO_ANSWER) if answer is not None else NO_ANSWER
        name = f"turn → {answer}" if answer is not None else "turn (no answer)"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 9, "color": color}, opacity=0.75,
                                 name=name if len(name) <= _LEGEND_CHARS else name[:_LEGEND_CHARS - 1] + "…",
                                 showlegend=shown < _LEGEND_TURNS, hovertext=text, hoverinfo="text+x"))
    if len(groups) > _LEGEND_TURNS:  # a legend entry only, saying what the legend leaves out
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line={"width": 9, "color": NO_ANSWER},
                                 name=f"… {len(groups) - _LEGEND_TURNS} more turn values (hover a turn)",
                                 hoverinfo="skip"))


def _add_messages(fig: go.Figure, data: dict[str, Any], y: dict[str, int], colors: dict[str, str]) -> None:
    delivered = data["delivered"]
    if delivered.height:
        for value, rows in sorted(delivered.group_by("value", maintain_order=True), key=lambda kv: str(kv[0][0])):
            color = colors.get(value[0], "#4c78a8") if value[0] is not None else "#4c78a8"
            xs, ys = _segments(rows, y, "sent_t", "agent", "t_end", "peer")
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 1.2, "color": color},
                                     name=f"message: {value[0]}", legendgroup="messages", hoverinfo="skip"))
            heads = rows.filter(pl.col("peer").is_in(list(y)))
            fig.add_trace(go.Scatter(
                x=heads["t_end"].to_list(), y=[y[p] for p in heads["peer"].to_list()], mode="markers",
                marker={"symbol": "triangle-right", "size": 8, "color": color}, showlegend=False,
                legendgroup="messages", customdata=heads["cause"].to_list(),
                hovertext=[f"{a} → {p}: {text or value[0]}" for a, p, text in
                           heads.select("agent", "peer", "text").iter_rows()], hoverinfo="text+x"))
    lost = data["lost"]
    if lost.height:
        xs, ys = _segments(lost, y, "sent_t", "agent", "t_end", "peer")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 1, "color": _LOST, "dash": "dot"},
                                 name="message lost", legendgroup="lost", hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=lost["t_end"].to_list(), y=[y.get(p) for p in lost["peer"].to_list()], mode="markers",
            marker={"symbol": "x", "size": 9, "color": _LOST}, showlegend=False, legendgroup="lost",
            customdata=lost["cause"].to_list(),
            hovertext=[f"{a} → {p} lost ({f})" for a, p, f in lost.select("agent", "peer", "fault").iter_rows()],
            hoverinfo="text+x"))
    beats = data["heartbeats"]
    if beats.height:
        xs, ys = _segments(beats, y, "sent_t", "agent", "t_end", "peer")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 0.6, "color": "#c7c7c7"},
                                 name="heartbeats", visible="legendonly", hoverinfo="skip"))


def _add_marks(fig: go.Figure, data: dict[str, Any], y: dict[str, int], shapes: list[dict[str, Any]]) -> None:
    for agent, t0, t1 in data["down"].select("agent", "t_start", "t_end").iter_rows():
        if agent in y and t1 > t0:
            shapes.append({"type": "rect", "x0": t0, "x1": t1, "y0": y[agent] - 0.35, "y1": y[agent] + 0.35,
                           "line": {"width": 0}, "fillcolor": "#9aa0a6", "opacity": 0.35, "layer": "below"})
    faults = data["faults"].filter(pl.col("agent").is_in(list(y)))
    if faults.height:
        fig.add_trace(go.Scatter(
            x=faults["t_end"].to_list(), y=[y[a] for a in faults["agent"].to_list()], mode="markers",
            marker={"symbol": "star", "size": 11, "color": "#D55E00", "line": {"width": 1, "color": "white"}},
            name="fault", hovertext=[f"{f} {v} on {a}" for f, v, a in faults.select("fault", "value", "agent")
                                     .iter_rows()], hoverinfo="text+x"))
    for rows, symbol, name in ((data["suspected"], "triangle-up", "suspected"),
                               (data["unsuspected"], "circle-open", "unsuspected")):
        rows = rows.filter(pl.col("agent").is_in(list(y)))
        if rows.height:
            fig.add_trace(go.Scatter(
                x=rows["t_end"].to_list(), y=[y[a] for a in rows["agent"].to_list()], mode="markers",
                marker={"symbol": symbol, "size": 9, "color": "#CC79A7"}, name=name,
                hovertext=[f"{a} {name} {p}" for a, p in rows.select("agent", "peer").iter_rows()],
                hoverinfo="text+x"))


def _add_roles(fig: go.Figure, data: dict[str, Any], y: dict[str, int], shapes: list[dict[str, Any]]) -> None:
    """Leaders' bands and crowns, and the role changes written on their lanes."""
    leads = [(a, t0, t1, term) for a, t0, t1, term in data["leads"] if a in y]
    shapes += [{"type": "rect", "x0": t0, "x1": max(t1, t0), "y0": y[a] - 0.45, "y1": y[a] + 0.45,
                "line": {"width": 0}, "fillcolor": _LEAD, "opacity": 0.45, "layer": "below"} for a, t0, t1, _ in leads]
    if leads:
        fig.add_trace(go.Scatter(
            x=[t0 for _, t0, _, _ in leads], y=[y[a] - 0.28 for a, *_ in leads], mode="text",
            text=[f"♛ t{term}" for *_, term in leads], textposition="middle right", name="leader (its own view)",
            textfont={"size": 12, "color": "#222"},
            hovertext=[f"{a} leads term {term} from {t0:.3f} s to {t1:.3f} s" for a, t0, t1, term in leads],
            hoverinfo="text"))
    roles = data["roles"].filter(pl.col("agent").is_in(list(y)))
    if roles.height:
        labels = [_ROLE_MARKS[k].format(value=v, peer=p or "") for k, v, p in
                  roles.select("kind", "value", "peer").iter_rows()]
        fig.add_trace(go.Scatter(
            x=roles["t_end"].to_list(), y=[y[a] + 0.32 for a in roles["agent"].to_list()], mode="text",
            text=labels, textposition="bottom center", textfont={"size": 10, "color": "#444"}, name="role changes",
            hovertext=[f"{a}: {label}" for a, label in zip(roles["agent"].to_list(), labels)], hoverinfo="text+x"))
