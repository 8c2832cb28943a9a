"""The lab's status line and the scrubber's clock: what the run is doing, in one line.

Why a module: the status line is what a user (and a browser test) reads to know where the
run stands — round or slice, of how many, its state, its decision (a work team's
progress), which round is on screen and on which timeline — and its ``data-*`` attributes
are what the browser tests wait on. It is a pure function of the controller and the
view state, so it is the same wherever the lab redraws it.
"""

from __future__ import annotations

from html import escape

from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.history import RoundState
from llmteams_lab.ui.view_state import ViewState
from llmteams_lab.ui.work_figures import shows_work

__all__ = ["status_html", "time_label"]


def status_html(ctl: LabController, view: ViewState, *, edited: bool = False) -> str:
    """The status line of ``ctl``'s run as ``view`` shows it (``edited``: the builder holds
    a spec other than the run's)."""
    last = ctl.history[-1]
    work = shows_work(ctl.spec)  # a work team's decision is its progress, judged when it ends
    done = ctl.run.done
    mark = "" if work and not done else {True: " ✓", False: " ✗"}.get(last.correct, "")
    word = "progress" if work else "decision"
    decision = f" · {word} <b>{escape(str(last.decision))}</b>{mark}" if last.decision else ""
    end = f" ({escape(ctl.run.end_reason)})" if done and ctl.run.end_reason else ""
    changed = (" · <span class='ltl-invalid-text'>spec edited — press Reset to run it (or Fork from here)</span>"
               if edited else "")
    shown = view.shown(last.round)
    unit = "slice" if ctl.asynchronous else "round"
    where = "" if view.live else f" · <b class='ltl-warning'>viewing {unit} {shown}</b>"
    timeline = f" · {escape(ctl.label)}" if ctl.timelines else ""
    clock = f" · virtual time <b>t = {last.time:.3f} s</b>" if ctl.asynchronous else ""
    return (f"<span class='ltl-status-line' data-round='{last.round}' data-state='{ctl.state}' "
            f"data-shown='{shown}' data-live='{int(view.live)}' data-time='{last.time:.6f}'>"
            f"{unit} <b>{last.round}</b> of {ctl.spec.budgets.max_rounds}{clock} · {ctl.state}{end}{decision}"
            f"{where}{timeline}{changed}</span>")


def time_label(ctl: LabController, state: RoundState) -> str:
    """The scrubber's clock for an asynchronous team (its slices are virtual time)."""
    return f"t = {state.time:.3f} s" if ctl.asynchronous else ""
