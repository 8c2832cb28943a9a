"""Fault actions for the agent or link clicked in the team graph.

Clicking a node offers crash / straggle / make Byzantine; clicking an edge offers
dropping the link or partitioning the team there. Every action builds a
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
from llmteams_lab.ui.controller import LabController

__all__ = ["FaultPanel", "split_at"]


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


class FaultPanel(w.VBox):
    """Buttons for the selected agent or link; actions go through ``controller``."""

    def __init__(self, controller: LabController, report: Callable[[BaseException], None]):
        self.controller = controller
        self._report = report
        self.selection: dict[str, Any] = {}
        self.title = w.HTML("<div class='ltl-table-title'>Fault actions</div>"
                            "<div class='ltl-muted'>click an agent or a link in the graph</div>")
        self.message = w.HTML()
        self.factor = w.FloatText(4.0, description="× slower", layout=w.Layout(width="140px"))
        self.probability = w.FloatText(1.0, description="p", layout=w.Layout(width="110px"))
        self.heal_after = w.IntText(0, description="heal after", layout=w.Layout(width="140px"),
                                    tooltip="rounds until the partition heals (0: never)")
        self.buttons = {name: self._button(name, label) for name, label in (
            ("crash", "Crash"), ("straggler", "Straggle"), ("byzantine", "Make Byzantine"),
            ("drop", "Drop link"), ("partition", "Partition here"))}
        b = self.buttons
        self.node_box = w.VBox([w.HBox([b["crash"], b["byzantine"]]), w.HBox([b["straggler"], self.factor])])
        self.edge_box = w.VBox([w.HBox([b["drop"], self.probability]), w.HBox([b["partition"], self.heal_after])])
        super().__init__(children=[self.title, self.message])
        self.add_class("ltl-fault-panel")

    def _button(self, name: str, label: str) -> w.Button:
        button = w.Button(description=label, layout=w.Layout(width="130px"))
        button.add_class(f"ltl-fault-{name}")
        button.on_click(lambda _b: self.act(name))
        return button

    def select(self, selection: dict[str, Any]) -> None:
        """Show the actions for ``selection`` (the graph's ``selected`` trait)."""
        self.selection = dict(selection or {})
        self.message.value = ""
        kind = self.selection.get("kind")
        if kind == "node":
            head, body = f"Agent <b>{escape(self.selection['agent'])}</b>", [self.node_box]
        elif kind == "edge":
            a, b = self.selection["agents"]
            head, body = f"Link <b>{escape(a)} — {escape(b)}</b>", [self.edge_box]
        else:
            head, body = "<span class='ltl-muted'>click an agent or a link in the graph</span>", []
        self.title.value = f"<div class='ltl-table-title'>Fault actions</div><div>{head}</div>"
        self.children = [self.title, *body, self.message]

    def act(self, action: str) -> list[Any]:
        """Build and inject the fault(s) for ``action`` on the selection; returns them."""
        try:
            faults = self._faults(action)
            for fault in faults:
                self.controller.inject(fault)
        except Exception as err:  # shown here and in the lab's error panel
            self.message.value = f"<span class='ltl-invalid-text'>{escape(str(err))}</span>"
            self._report(err)
            return []
        when = self.controller.round + 1
        self.message.value = (f"<span class='ltl-ok'>{escape(action)} injected — takes effect in round "
                              f"{when}</span>")
        return faults

    def _faults(self, action: str) -> list[Any]:
        sel, next_round = self.selection, self.controller.round + 1
        if action in ("crash", "straggler", "byzantine"):
            if sel.get("kind") != "node":
                raise ArgumentError("selection", f"must be an agent for {action!r}: click a node first", show_got=False)
            extra = {"crash": {"at_round": next_round}, "straggler": {"factor": self.factor.value},
                     "byzantine": {}}[action]
            return [FaultSpec(kind=action, agent=sel["agent"], **extra)]
        if sel.get("kind") != "edge":
            raise ArgumentError("selection", f"must be a link for {action!r}: click an edge first", show_got=False)
        a, b = sel["agents"]
        if action == "drop":  # a link fault covers both directions of the edge
            return [FaultSpec(kind="drop", link=(a, b), probability=self.probability.value)]
        heal = self.heal_after.value
        return [FaultSpec(kind="partition", groups=split_at(self.controller.spec, a, b), at_round=next_round,
                          heal_round=next_round + heal if heal > 0 else None)]
