"""Fault actions for the agent or link clicked in the team graph, and the fault log.

Clicking a node offers crash / straggle / make Byzantine / sycophant / stubborn;
clicking an edge offers dropping the link (with probability p), delaying it, or
partitioning the team there. A fault stacked on a crashed agent is injected with a
warning (it acts only once the agent recovers); a crashed agent offers Recover. The
:class:`FaultLog` lists one line per fault with a recover / heal / undo button. Every action builds a
:class:`~llmteams_lab.spec.faults.FaultSpec` (faults are data) and hands it to the
controller, which injects it between rounds — so a fault clicked while a slow round
is in flight waits for that round to end. An invalid fault is refused with the spec's
own message, shown here.

"Partition here" splits the team along the clicked link: each agent joins the side of
the endpoint it is closer to in the topology (ties go to the smaller side), so cutting
a ring or a tree edge separates the two halves a user would expect.
"""

from __future__ import annotations

from collections import deque
from html import escape
from typing import Any, Callable

import ipywidgets as w

from llmteams_lab.errors import ArgumentError
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.plots.style import fault_style
from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.tables import FaultGroup, fault_groups

__all__ = ["FaultLog", "FaultPanel", "split_at"]

_NODE_ACTIONS = (("crash", "Crash"), ("straggler", "Straggle"), ("byzantine", "Byzantine liar"),
                 ("sycophant", "Sycophant"), ("stubborn", "Stubborn"), ("recover", "Recover"))
_LINK_ACTIONS = (("drop", "Drop link"), ("delay", "Delay 1 round"), ("partition", "Partition here"))


def split_at(spec: TeamSpec, a: str, b: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two groups for a partition along the link a—b (see the module docstring)."""
    ids = spec.ids
    nbrs: list[set[int]] = [set() for _ in ids]
    for x, y in spec.arcs():
        nbrs[x].add(y)
        nbrs[y].add(x)
    da, db = _distances(nbrs, ids.index(a)), _distances(nbrs, ids.index(b))
    left, right = [ids.index(a)], [ids.index(b)]
    for i in range(len(ids)):
        if i in (left[0], right[0]):
            continue
        ai, bi = da.get(i, len(ids)), db.get(i, len(ids))
        side = left if ai < bi or (ai == bi and len(left) <= len(right)) else right
        side.append(i)
    return tuple(ids[i] for i in sorted(left)), tuple(ids[i] for i in sorted(right))


def _distances(nbrs: list[set[int]], start: int) -> dict[int, int]:
    dist, queue = {start: 0}, deque([start])
    while queue:
        i = queue.popleft()
        for j in sorted(nbrs[i]):
            if j not in dist:
                dist[j] = dist[i] + 1
                queue.append(j)
    return dist


def _now(fn: Callable[..., Any], *args: Any) -> None:
    fn(*args)


class FaultPanel(w.VBox):
    """Buttons for the selected agent or link; actions go through ``controller``."""

    def __init__(self, controller: LabController, report: Callable[[BaseException], None],
                 recover: Callable[[str], None] | None = None, call: Callable[..., None] | None = None):
        self.controller = controller
        self._call = call or _now  # how a click reaches act() (the lab: on its own loop, see ui.home)
        self._report = report
        self._recover = recover  # the lab's "end the crash of this agent" (a fork, see ui.forking)
        self.selection: dict[str, Any] = {}
        self.title = w.HTML("<div class='ltl-table-title'>Fault actions</div>"
                            "<div class='ltl-muted'>click an agent or a link in the graph</div>")
        self.message = w.HTML()
        wide = {"description_width": "70px"}
        self.factor = w.FloatText(4.0, description="× slower", layout=w.Layout(width="160px"), style=wide)
        self.probability = w.FloatText(1.0, description="p (drop)", layout=w.Layout(width="160px"), style=wide,
                                       tooltip="probability that each message on the link is dropped")
        self.heal_after = w.IntText(0, description="heal after", layout=w.Layout(width="160px"), style=wide,
                                    tooltip="rounds until the partition heals (0: never)")
        self.buttons = {name: self._button(name, label) for name, label in _NODE_ACTIONS + _LINK_ACTIONS}
        b = self.buttons
        self.node_box = w.VBox([w.HBox([b["crash"], b["byzantine"]]), w.HBox([b["straggler"], self.factor]),
                                w.HBox([b["sycophant"], b["stubborn"]]), w.HBox([b["recover"]])])
        self.edge_box = w.VBox([w.HBox([b["drop"], self.probability]), w.HBox([b["delay"]]),
                                w.HBox([b["partition"], self.heal_after])])
        super().__init__(children=[self.title, self.message])
        self.add_class("ltl-fault-panel")

    def _button(self, name: str, label: str) -> w.Button:
        style = fault_style(name)
        tip = style["label"] if name in ("crash", "straggler", "byzantine", "sycophant", "stubborn", "drop",
                                         "delay", "partition") else "bring the crashed agent back from the next round"
        button = w.Button(description=label, layout=w.Layout(width="130px"), tooltip=tip)
        button.add_class(f"ltl-fault-{name}")
        button.on_click(lambda _b: self._call(self.act, name))
        return button

    def select(self, selection: dict[str, Any]) -> None:
        """Show the actions for ``selection`` (the graph's ``selected`` trait)."""
        self.selection = dict(selection or {})
        self.message.value = ""
        kind = self.selection.get("kind")
        if kind == "node":
            agent = self.selection["agent"]
            down = self._down(agent)
            can_end = self.controller.can_fork  # recovering forks the run
            self.buttons["recover"].layout.display = "" if down and can_end else "none"
            head = f"Agent <b>{escape(agent)}</b>" + (" <span class='ltl-warning'>(down)</span>" if down else "")
            body = [self.node_box]
        elif kind == "edge":
            a, b = self.selection["agents"]
            head, body = f"Link <b>{escape(a)} — {escape(b)}</b>", [self.edge_box]
        else:
            head, body = "<span class='ltl-muted'>click an agent or a link in the graph</span>", []
        self.title.value = f"<div class='ltl-table-title'>Fault actions</div><div>{head}</div>"
        self.children = [self.title, *body, self.message]

    def _down(self, agent: str) -> bool:
        state = self.controller.history[-1]
        ids = self.controller.spec.ids
        return agent in ids and state.states[ids.index(agent)] == "crashed"

    def act(self, action: str) -> list[Any]:
        """Build and inject the fault(s) for ``action`` on the selection; returns them."""
        try:
            if action == "recover":
                if self._recover is None:
                    raise ArgumentError("action", "needs the lab (recover forks the run)", action)
                self._recover(self.selection.get("agent", ""))
                self.message.value = "<span class='ltl-ok'>recovering — back from the next round</span>"
                return []
            faults = self._faults(action)
            effective = [self.controller.inject(fault) for fault in faults]
        except Exception as err:  # shown here and in the lab's error panel
            self.message.value = f"<span class='ltl-invalid-text'>{escape(str(err))}</span>"
            self._report(err)
            return []
        unit = "slice" if self.controller.asynchronous else "round"  # an async team's rounds are slices of time
        when = (f"after the {unit} in flight ends" if None in effective else
                f"in {unit} {min(f.first_round for f in effective)}")
        warn = ""
        agent = self.selection.get("agent")
        if agent and action != "crash" and self._down(agent):
            warn = (f"<br><span class='ltl-warning'>⚠ {escape(agent)} is down (crashed): this {escape(action)} "
                    "has no effect until it recovers</span>")
        self.message.value = (f"<span class='ltl-ok'>{escape(action)} injected — takes effect "
                              f"{escape(when)}</span>{warn}")
        return faults

    def _faults(self, action: str) -> list[Any]:
        sel, next_round = self.selection, self.controller.round + 1
        if action in ("crash", "straggler", "byzantine", "sycophant", "stubborn"):
            if sel.get("kind") != "node":
                raise ArgumentError("selection", f"must be an agent for {action!r}: click a node first", show_got=False)
            extra = {"crash": {"at_round": next_round}, "straggler": {"factor": self.factor.value}}.get(action, {})
            return [FaultSpec(kind=action, agent=sel["agent"], **extra)]
        if sel.get("kind") != "edge":
            raise ArgumentError("selection", f"must be a link for {action!r}: click an edge first", show_got=False)
        a, b = sel["agents"]
        if action == "drop":  # a link fault covers both directions of the edge
            return [FaultSpec(kind="drop", link=(a, b), probability=self.probability.value)]
        if action == "delay":
            return [FaultSpec(kind="delay", link=(a, b), rounds=1)]
        heal = self.heal_after.value
        return [FaultSpec(kind="partition", groups=split_at(self.controller.spec, a, b), at_round=next_round,
                          heal_round=next_round + heal if heal > 0 else None)]


class FaultLog(w.VBox):
    """One line per fault (with recover / heal / undo for faults in force), then failures.

    ``on_end(fn)``: ``fn(fault)`` is called when a fault's button is clicked.
    """

    def __init__(self) -> None:
        self.title = w.HTML("<div class='ltl-table-title'>Fault log</div>")
        self.groups: list[FaultGroup] = []
        self._on_end: list[Callable[[FaultSpec], None]] = []
        self.can_end = True  # false when the run cannot fork (ending a fault forks it: LabController.can_fork)
        self.unit = "round"  # "slice" for an asynchronous team
        self._shown_can_end = True
        super().__init__(children=[self.title])
        self.add_class("ltl-fault-log")
        self.show((), (), 0)

    def on_end(self, fn: Callable[[FaultSpec], None]) -> None:
        self._on_end.append(fn)

    def show(self, notes: Any, in_force: Any, round: int) -> None:
        groups = fault_groups(notes, in_force, round, self.unit)
        if [(g.key, g.text, g.action) for g in groups] == [(g.key, g.text, g.action) for g in self.groups] \
                and len(self.children) > 1 and self._shown_can_end == self.can_end:
            return
        self.groups, self._shown_can_end = groups, self.can_end
        rows: list[w.Widget] = [self.title]
        if not groups:
            rows.append(w.HTML("<div class='ltl-muted'>no faults yet</div>"))
        for g in groups[:40]:
            text = w.HTML(f"<span class='ltl-log-line'>{escape(g.text)}</span>")
            if g.fault is None or not self.can_end:
                rows.append(text)
                continue
            button = w.Button(description=g.action, layout=w.Layout(width="80px"),
                              tooltip=f"{g.action} this fault from the next {self.unit}")
            button.add_class(f"ltl-end-{g.action}")
            button.on_click(lambda _b, fault=g.fault: [fn(fault) for fn in list(self._on_end)])
            row = w.HBox([button, text])
            row.add_class("ltl-fault-row")
            rows.append(row)
        self.children = rows

    @property
    def value(self) -> str:
        """The log as text (what the page shows)."""
        return "\n".join(g.text for g in self.groups)
