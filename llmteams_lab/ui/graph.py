"""The team graph widget: agents as nodes, the topology as edges, messages in flight.

Python computes everything a user should see — layout, node colours, states, which
messages to animate — and the ESM front end (``widgets/team_graph.js``) only draws it.
That keeps the widget's behaviour testable without a browser (assert the traits) and
the JavaScript small. Clicks come back through the ``selected`` trait, which the lab's
fault panel observes; the widget itself never touches the engine.

Scale: up to :data:`SVG_MAX` agents every node and link is an SVG element; above, the
front end draws a canvas (a ring of answer-coloured points, hover labels, click on the
nearest point) and links beyond :data:`EDGES_MAX` are not sent at all — a 1,000-agent
complete graph has 999,000 — the graph notes how many are hidden instead. Answer-share
bars above the graph give the team's split at a glance, at any size.

Work-division teams are coloured by what each agent is doing (working, completed a task,
blocked, failed its tests, idle) instead of by answer. Coordination teams (election,
commit, gossip) carry each agent's role and badge: the leader wears a crown and its term
("♛ t3"), a candidate "? t4", the coordinator its phase, each participant its step's
state — drawn under the node, the leader or coordinator ringed, and nodes, legend and
share bars coloured by role (gossip teams, which have no roles, keep the value held).

Flow control: every view says hello when it renders and acknowledges each painted
frame. :attr:`TeamGraph.caught_up` tells the lab whether the browser has drawn the last
frame; while it has not, the lab keeps computing rounds and shows them all at once when
the browser is ready. So a fast Play never buries the browser under a backlog of
updates (which would make Pause look dead for seconds) and no round is lost.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import anywidget
import traitlets as t

from llmteams_lab.plots.style import FAULT_STYLE, NO_ANSWER, ROLE_COLORS, TASK_STATE_COLORS, answer_colors
from llmteams_lab.spec import TeamSpec
from llmteams_lab.ui._assets import asset
from llmteams_lab.ui.history import RoundState

__all__ = ["EDGES_MAX", "MAX_ANIMATED", "SVG_MAX", "TeamGraph", "layout_positions"]

MAX_ANIMATED = 160  # messages animated per round; beyond that an even sample (20² = 380)
SVG_MAX = 60  # agents drawn as SVG elements; larger teams are drawn on a canvas
EDGES_MAX = 3000  # links drawn; above, they are hidden and the graph says how many there are
CRASHED = "#8d949e"
RING_MAX = 240  # agents on one circle; more are laid out on concentric rings
# an asynchronous team's failure detector: a mark on every agent some peer suspects now
SUSPECTED = {"glyph": "?", "color": "#CC79A7", "dash": "none", "label": "suspected by a peer's failure detector"}


class TeamGraph(anywidget.AnyWidget):
    """The team graph. ``show(state)`` paints a round; ``selected`` reports clicks."""

    _esm = asset("team_graph.js")
    _css = asset("team_graph.css")

    agents = t.List(t.Unicode()).tag(sync=True)
    positions = t.List(t.List(t.Float())).tag(sync=True)
    edges = t.List(t.List()).tag(sync=True)  # [i, j, bidirectional] with i < j when both ways
    options = t.List(t.Unicode()).tag(sync=True)
    truth = t.Unicode(None, allow_none=True).tag(sync=True)
    palette = t.List(t.Unicode()).tag(sync=True)
    legend = t.List(t.List()).tag(sync=True)  # [label, colour] per legend entry
    colors = t.List(t.Unicode()).tag(sync=True)
    answers = t.List(t.Unicode(None, allow_none=True)).tag(sync=True)
    confidence = t.List(t.Float()).tag(sync=True)
    states = t.List(t.Unicode()).tag(sync=True)
    faults = t.List(t.List(t.Unicode())).tag(sync=True)
    fault_style = t.Dict().tag(sync=True)  # kind -> glyph, colour, dash, label (plots.style)
    partition = t.List(t.Int()).tag(sync=True)  # side of each agent in a partition (-1: none)
    shares = t.List(t.List()).tag(sync=True)  # [label, colour, agents] per answer (or activity)
    roles = t.List(t.Unicode()).tag(sync=True)  # coordination teams: each agent's role ([] otherwise)
    badges = t.List(t.Unicode()).tag(sync=True)  # ... and its badge: "♛ t3", "coordinator: prepare"
    messages = t.List(t.List()).tag(sync=True)  # [sender, receiver, status, colour, message index]
    link_faults = t.List(t.List()).tag(sync=True)  # [agent index, agent index, fault kind]
    note = t.Unicode("").tag(sync=True)
    round = t.Int(0).tag(sync=True)
    unit = t.Unicode("round").tag(sync=True)  # what ``round`` counts: "slice" for an asynchronous team
    frame = t.Int(0).tag(sync=True)  # bumped to (re)play the round's message animation
    anim_ms = t.Int(450).tag(sync=True)
    hold = t.Bool(False).tag(sync=True)  # leave message dots in place (to click them) after flying
    height = t.Int(340).tag(sync=True)
    svg_max = t.Int(SVG_MAX).tag(sync=True)
    selected = t.Dict().tag(sync=True)  # {"kind": "node" | "edge" | "message", ...} | {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.views = 0  # hellos from rendered views; 0: nobody is watching, never wait
        self.painted = 0  # the last frame a view reported painted
        self.work = False
        self.hidden_links = 0
        self._on_painted: list[Callable[[], None]] = []
        self.fault_style = {**FAULT_STYLE, "suspected": SUSPECTED}
        self.on_msg(self._from_view)

    def _from_view(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "view":
            self.views += 1
            self.painted = self.frame
        elif content.get("type") == "painted":
            self.painted = max(self.painted, int(content.get("frame", 0)))
        else:
            return
        for fn in list(self._on_painted):
            fn()

    @property
    def caught_up(self) -> bool:
        """Whether the browser has painted the last frame (always, with no view)."""
        return self.views == 0 or self.painted >= self.frame

    def on_painted(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` whenever a view reports a painted frame (or a new view appears)."""
        self._on_painted.append(fn)

    def set_team(self, spec: TeamSpec, options: Sequence[str] = (), truth: str | None = None) -> None:
        """Lay out ``spec``'s team and reset every per-round trait."""
        palette = answer_colors(tuple(options))
        self.work = spec.task.kind == "work_division"
        edges, self.hidden_links = _edges(spec)
        with self.hold_sync():
            self.selected = {}
            self.agents = list(spec.ids)
            self.positions = layout_positions(spec)
            self.edges = edges
            self.options = list(options)
            self.truth = truth
            self.palette = [palette[o] for o in options]
            self.legend = ([[k, c] for k, c in TASK_STATE_COLORS.items()] if self.work else
                           [[f"{o} ✓" if o == truth else o, palette[o]] for o in options] + [["crashed", CRASHED]])
            self.show(RoundState.initial(spec.ids), animate=False)

    def show(self, state: RoundState, *, animate: bool = True, sample: int | None = None) -> None:
        """Paint the team as it was after ``state.round``; fly that round's messages."""
        palette = dict(zip(self.options, self.palette))
        with self.hold_sync():
            self.answers = list(state.answers)
            self.confidence = [float(c) for c in state.confidence]
            self.states = list(state.states)
            self.faults = _marks(state)
            self.colors = self._colors(state, palette)
            index = {a: i for i, a in enumerate(self.agents)}
            self.link_faults = [[index[a], index[b], kind] for a, b, kind in state.links
                                if a in index and b in index]
            self.partition = list(state.sides) if state.sides else []
            self.roles, self.badges = list(state.roles), list(state.badges)
            if any(state.roles):
                self.colors = [CRASHED if s == "crashed" else ROLE_COLORS.get(r, NO_ANSWER)
                               for r, s in zip(state.roles, state.states)]
                legend = [[r, c] for r, c in ROLE_COLORS.items() if r in state.roles] + [["crashed", CRASHED]]
                if legend != self.legend:
                    self.legend = legend
            self.shares = self._shares(state, palette)
            self.note = self._note(state)
            self.round = state.round
            self.messages = self._flights(state, palette, sample or MAX_ANIMATED) if animate else []
            self.frame += 1

    def _colors(self, state: RoundState, palette: dict[str, str]) -> list[str]:
        if self.work:
            return [CRASHED if s == "crashed" else TASK_STATE_COLORS.get(a, TASK_STATE_COLORS["idle"])
                    for a, s in zip(state.activity or ("idle",) * len(state.states), state.states)]
        return [CRASHED if s == "crashed" else (NO_ANSWER if a is None else palette.get(a, NO_ANSWER))
                for a, s in zip(state.answers, state.states)]

    def _shares(self, state: RoundState, palette: dict[str, str]) -> list[list]:
        """Agents per answer (work teams: per activity), crashed and silent ones last."""
        counts: dict[str, int] = {}
        if any(state.roles):
            for role, s in zip(state.roles, state.states):
                label = "crashed" if s == "crashed" else role
                counts[label] = counts.get(label, 0) + 1
            return [[k, CRASHED if k == "crashed" else ROLE_COLORS.get(k, NO_ANSWER), v] for k, v in
                    sorted(counts.items(), key=lambda kv: list(ROLE_COLORS).index(kv[0]) if kv[0] in ROLE_COLORS
                           else len(ROLE_COLORS))]
        keys = state.activity if self.work and state.activity else state.answers
        for value, s in zip(keys, state.states):
            label = "crashed" if s == "crashed" else ("no answer" if value is None else value)
            counts[label] = counts.get(label, 0) + 1
        order = list(TASK_STATE_COLORS) if self.work else list(self.options)
        colours = TASK_STATE_COLORS if self.work else palette
        out = [[k, colours[k], counts.pop(k)] for k in order if k in counts]
        out += [[k, colours.get(k, NO_ANSWER), v] for k, v in counts.items() if k not in ("crashed", "no answer")]
        out += [[k, CRASHED if k == "crashed" else NO_ANSWER, counts[k]] for k in ("no answer", "crashed")
                if k in counts]
        return out

    def _note(self, state: RoundState) -> str:
        parts = []
        if self.hidden_links:
            parts.append(f"{self.hidden_links:,} links not drawn (too many to read)")
        if len(self.agents) > SVG_MAX:
            parts.append("hover for an agent's answer, click it for its actions")
        else:
            parts.append("click an agent or a link for fault actions; a message dot to read it")
        return " · ".join(parts)

    def _flights(self, state: RoundState, palette: dict[str, str], limit: int = MAX_ANIMATED) -> list[list]:
        index = {a: i for i, a in enumerate(self.agents)}
        flights = [[index[m.sender], index[m.receiver], m.status, _message_colour(m.content, palette), k]
                   for k, m in enumerate(state.messages) if m.sender in index and m.receiver in index]
        if not flights and state.aggregated_messages:  # aggregated logging: every arc between live agents
            live = [s != "crashed" for s in state.states]
            colour = {i: palette.get(a or "", NO_ANSWER) for i, a in enumerate(state.answers)}
            flights = [[x, y, "delivered", colour[x], -1] for a, b, both in self.edges if live[a] and live[b]
                       for x, y in ([(a, b), (b, a)] if both else [(a, b)])]
            if not self.edges:  # links not sent: fly a sample between live agents around the ring
                alive = [i for i, ok in enumerate(live) if ok]
                flights = [[i, alive[(k * 37 + 11) % len(alive)], "delivered", colour[i], -1]
                           for k, i in enumerate(alive)] if len(alive) > 1 else []
        if len(flights) > limit:
            stride = len(flights) / limit
            flights = [flights[int(i * stride)] for i in range(limit)]
        return flights


def _marks(state: RoundState) -> list[list[str]]:
    """Each agent's fault marks, plus ``suspected`` while a peer's detector suspects it."""
    marks = [list(f) for f in state.faults]
    for i, count in enumerate(state.suspected):
        if count and i < len(marks):
            marks[i].append("suspected")
    return marks


def _message_colour(content: str, palette: dict[str, str]) -> str:
    """The colour of the answer a message carries ("answer: B" → B's colour)."""
    if content.startswith("answer: "):
        return palette.get(content[8:].split(" ", 1)[0], "#555555")
    for option, colour in palette.items():
        if f"answer is {option}" in content or content.strip() == option:
            return colour
    return "#555555"


def _edges(spec: TeamSpec) -> tuple[list[list], int]:
    """The links to draw, and how many are left out (see :data:`EDGES_MAX`)."""
    n = len(spec.agents)
    if spec.topology.kind == "complete" and n * (n - 1) // 2 > EDGES_MAX:
        return [], n * (n - 1) // 2
    arcs = spec.arcs()
    arc_set = set(arcs)
    both = sorted({(min(a, b), max(a, b)) for a, b in arcs if (b, a) in arc_set})
    one_way = sorted((a, b) for a, b in arcs if (b, a) not in arc_set)
    if len(both) + len(one_way) > EDGES_MAX:
        return [], len(both) + len(one_way)
    return [[a, b, True] for a, b in both] + [[a, b, False] for a, b in one_way], 0


def layout_positions(spec: TeamSpec) -> list[list[float]]:
    """Node positions in [0, 1]²: a circle (concentric rings above :data:`RING_MAX`); a
    star's hub in the centre; a tree in layers."""
    n = len(spec.agents)
    kind = spec.topology.kind
    if n == 1:
        return [[0.5, 0.5]]
    if kind == "star":
        hub = spec.ids.index(spec.topology.leader or spec.leader)
        rim = [i for i in range(n) if i != hub]
        pos = {hub: [0.5, 0.5]}
        pos.update({i: _on_circle(k, len(rim)) for k, i in enumerate(rim)})
        return [pos[i] for i in range(n)]
    if kind == "tree":
        return _layers(spec)
    if n > RING_MAX:
        return _rings(n)
    return [_on_circle(i, n) for i in range(n)]


def _rings(n: int) -> list[list[float]]:
    """Concentric rings, each holding agents in proportion to its length, so neighbours stay
    a few pixels apart (one ring of 1,000 would put them a pixel apart: not clickable)."""
    radii = [0.46 - 0.06 * k for k in range(7)]
    per = [max(1, round(n * r / sum(radii))) for r in radii]
    per[0] += n - sum(per)
    out: list[list[float]] = []
    for r, count in zip(radii, per):
        for k in range(count):
            angle = -math.pi / 2 + 2 * math.pi * k / count
            out.append([round(0.5 + r * math.cos(angle), 4), round(0.5 + r * math.sin(angle), 4)])
    return out[:n]


def _on_circle(k: int, count: int) -> list[float]:
    angle = -math.pi / 2 + 2 * math.pi * k / max(count, 1)
    return [round(0.5 + 0.46 * math.cos(angle), 4), round(0.5 + 0.46 * math.sin(angle), 4)]


def _layers(spec: TeamSpec) -> list[list[float]]:
    """Breadth-first depth from the root; nodes spread evenly within each layer."""
    n = len(spec.agents)
    root = spec.ids.index(spec.topology.leader or spec.leader)
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in spec.arcs():
        nbrs[a].append(b)
    depth = {root: 0}
    order = [root]
    for i in order:
        for j in sorted(nbrs[i]):
            if j not in depth:
                depth[j] = depth[i] + 1
                order.append(j)
    for i in range(n):
        depth.setdefault(i, max(depth.values()) + 1)
    levels = max(depth.values()) + 1
    rows: dict[int, list[int]] = {}
    for i in order + [i for i in range(n) if i not in order]:
        rows.setdefault(depth[i], []).append(i)
    pos = {}
    for d, row in rows.items():
        for k, i in enumerate(row):
            pos[i] = [round((k + 1) / (len(row) + 1), 4), round(0.04 + 0.92 * d / max(levels - 1, 1), 4)]
    return [pos[i] for i in range(n)]
