"""How the lab's parts sit on the page: graph and plots side by side, using the full width.

Why a grid: the graph and the plots must be on screen together on a laptop (the first
edition stacked them, so one was always scrolled away, and used half the output width).
Rows, top to bottom: header (title, presets, export), the preset's explanation, errors,
the builder (folded), controls; then the main grid — left: the team graph and below it a
*slot* for extra views a run may offer (the space-time diagram of an asynchronous run:
``Lab.add_view``), right: the two live plots; then the lower grid — the message table
with the message reader, and the fault actions with the fault log. Each panel carries a
line of help text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as w

from llmteams_lab.ui._assets import asset

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.ui.lab import Lab

__all__ = ["HELP", "compose"]

HELP = {
    "graph": ("<b>Team graph.</b> One node per agent, coloured by its answer (work teams: by what it is doing), "
              "sized by confidence; the bar above shows the team's split. Fault glyphs: ✕ crashed, S straggler, "
              "B Byzantine, Y sycophant, T stubborn; halos mark the sides of a partition. Message dots carry "
              "their answer's colour — click one to read it."),
    "plots": ("<b>Live plots.</b> Deliberation: agreement, individual and team accuracy, entropy; messages and "
              "tokens against O(n) and O(n²). Work teams (and an elected leader's that assigns tasks): tasks "
              "done against the speedup bounds, and who did what — a star marks a re-assigned task. A dotted "
              "line marks the round on screen; after a fork the old timeline is drawn faint."),
    "messages": ("<b>Messages</b> of the round on screen: when each was sent (seconds into the round) and how "
                 "long it was in flight. Click a row to read it."),
    "faults": ("<b>Faults.</b> Click an agent or a link for actions (they act from the next round). The log "
               "has one line per fault, with recover / heal / undo."),
    "controls": ("Keys (click the lab first): <b>space</b> Play/Pause, <b>→</b> Step; on the round slider "
                 "Home/End/←/→. Scrubbing back detaches the view; Step, Play or “back to live” return. "
                 "<b>Fork from here</b> continues the team from the round on screen as a new timeline. "
                 "Reloaded the page? A saved notebook shows the lab again; otherwise run <code>lab</code> in a "
                 "cell to show the same live lab."),
}


def _help(key: str) -> w.HTML:
    box = w.HTML(f"<div class='ltl-help'>{HELP[key]}</div>")
    box.add_class(f"ltl-help-{key}")
    return box


def compose(lab: "Lab") -> w.VBox:
    """The lab's panel (also sets ``lab.plots_box``, which holds the live plots)."""
    style = w.HTML(f"<style>{asset('lab.css').read_text(encoding='utf-8')}</style>")
    header = w.HBox([w.HTML("<div class='ltl-lab-title'>llmteams lab</div>"), lab.presets, lab.export])
    header.add_class("ltl-header")
    builder = w.Accordion(children=[lab.builder], titles=("Team builder",))
    builder.selected_index = None
    lab.plots_box = w.VBox(list(lab.figures.views))
    lab.plots_box.add_class("ltl-plots")
    left = w.VBox([lab.graph, _help("graph"), lab.slot])
    right = w.VBox([lab.plots_box, _help("plots")])
    main = w.GridBox([left, right])
    main.add_class("ltl-main")
    messages = w.VBox([lab.table, lab.message, _help("messages")])
    side = w.VBox([lab.faults, lab.fault_log, _help("faults")])
    lower = w.GridBox([messages, side])
    lower.add_class("ltl-lower")
    box = w.VBox([style, header, lab.preset_info, lab.errors, builder, lab.controls, _help("controls"), main,
                  lower])
    box.add_class("ltl-lab")
    return box
