"""``Compare``: 2–4 team designs on the same seed, side by side, one scrubber (A/B).

Why: a sweep says *that* two designs differ on average; the comparison shows *where*
one run of each goes apart. Every design runs on the same seed — the same question and
the same fault draws — so up to the first round where the teams' answers (or the
team's decision) differ, the runs agree, and that round is where the designs start to
matter. It is found from the per-round states (``ui.history``, built from the events),
announced above the panels and highlighted when the scrubber reaches it.

Pieces are the lab's own: one :class:`~llmteams_lab.ui.controller.LabController` and
one :class:`~llmteams_lab.ui.graph.TeamGraph` per design, the lab's error panel. From a
notebook::

    cmp = Compare({"debate": team(7, seed=3), "leader": team(7, protocol="leader", topology="star")})
    await cmp.run(); cmp              # then drag the scrubber; cmp.divergence; cmp.export_html(path)
    await cmp.reseed(4)               # the same designs on another seed
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any, Mapping, Sequence

import ipywidgets as w

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics import events_frame
from llmteams_lab.spec import TeamSpec
from llmteams_lab.ui._assets import asset
from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.errors import ErrorPanel
from llmteams_lab.ui.graph import TeamGraph
from llmteams_lab.ui.history import RoundState

__all__ = ["Compare", "first_divergence"]

_CSS = """
.ltl-compare-panel{border:2px solid transparent;border-radius:6px;padding:4px;min-width:0}
.ltl-compare-panel.ltl-diverged{border-color:#D55E00;background:#fff6ef}
.ltl-compare-banner{font-size:13px;margin:4px 0}
.ltl-compare-caption{font-size:12px;line-height:1.4}
"""


def first_divergence(histories: Sequence[Sequence[RoundState]]) -> int | None:
    """The first round (>= 1) in which the runs' states differ — each agent's answer, or
    the team's decision — or ``None`` if they never do (over the rounds all of them ran;
    a run that stops earlier than another diverges in the first round it is missing)."""
    last = max(len(h) for h in histories) - 1
    for r in range(1, last + 1):
        states = [h[r] if r < len(h) else None for h in histories]
        if any(s is None for s in states):
            return r
        if len({(s.answers, s.decision) for s in states}) > 1:  # type: ignore[union-attr]
            return r
    return None


class Compare:
    """2–4 designs (``{name: spec}`` or a list) on one seed (default: the first design's)."""

    def __init__(self, designs: Mapping[str, TeamSpec] | Sequence[TeamSpec], *, seed: int | None = None,
                 backends: Any = None):
        named = dict(designs) if isinstance(designs, Mapping) else {f"design {chr(65 + i)}": s
                                                                     for i, s in enumerate(designs)}
        if not 2 <= len(named) <= 4:
            raise ArgumentError("designs", "must hold 2 to 4 team specs", len(named))
        for name, spec in named.items():
            if not isinstance(spec, TeamSpec):
                raise ArgumentError(f"designs[{name!r}]", "must be a TeamSpec", spec)
        self.seed = seed if seed is not None else next(iter(named.values())).seed
        self.controllers = {name: LabController(spec.replace(seed=self.seed), backends=backends, speed=math.inf)
                            for name, spec in named.items()}
        self.divergence: int | None = None
        self.errors = ErrorPanel()
        self.graphs = {name: TeamGraph(height=250) for name in named}
        self.captions = {name: w.HTML() for name in named}
        self.panels = {name: self._panel(name) for name in named}
        self.scrubber = w.IntSlider(value=0, min=0, max=0, description="round", continuous_update=True,
                                    layout=w.Layout(width="520px"), style={"description_width": "initial"})
        self.scrubber.add_class("ltl-compare-scrubber")
        self.jump = w.Button(description="go to divergence", disabled=True, layout=w.Layout(width="150px"))
        self.jump.add_class("ltl-compare-jump")
        self.banner = w.HTML("<div class='ltl-compare-banner'>Not run yet: <code>await cmp.run()</code></div>")
        for ctl in self.controllers.values():
            ctl.subscribe("error", self.errors.show)
        self.scrubber.observe(self._guard(lambda change: self.show(change["new"])), "value")
        self.jump.on_click(self._guard(lambda _: self._go_to_divergence()))
        self.widget = self._compose()
        for name, ctl in self.controllers.items():
            q = ctl.run.question
            self.graphs[name].set_team(ctl.spec, q.options if q else (), q.answer if q else None)
        self.show(0)

    def _panel(self, name: str) -> w.VBox:
        title = w.HTML(f"<b>{escape(name)}</b>")
        panel = w.VBox([title, self.graphs[name], self.captions[name]], layout=w.Layout(flex="1 1 0"))
        panel.add_class("ltl-compare-panel")
        self.captions[name].add_class("ltl-compare-caption")
        return panel

    def _compose(self) -> w.VBox:
        style = w.HTML(f"<style>{asset('lab.css').read_text(encoding='utf-8')}{_CSS}</style>")
        self.head = w.HTML(self._head_html())
        box = w.VBox([style, self.head, self.errors, self.banner, w.HBox([self.scrubber, self.jump]),
                      w.HBox(list(self.panels.values()))])
        box.add_class("ltl-compare")
        return box

    def _head_html(self) -> str:
        return (f"<div class='ltl-lab-title'>compare · seed {self.seed} (same question and fault draws for every "
                "design)</div>")

    def _guard(self, fn: Any) -> Any:
        def handler(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as err:  # shown in the panel, never lost in the kernel log
                self.errors.show(err)
        return handler

    # --- running and showing ---------------------------------------------------------------
    async def reseed(self, seed: int, rounds: int | None = None) -> int | None:
        """Run every design again on another seed (another question, other fault draws);
        return the first divergence there."""
        self.seed = seed
        for name, ctl in self.controllers.items():
            await ctl.reset(ctl.spec.replace(seed=seed))
            q = ctl.run.question
            self.graphs[name].set_team(ctl.spec, q.options if q else (), q.answer if q else None)
        self.head.value = self._head_html()
        return await self.run(rounds)

    async def run(self, rounds: int | None = None) -> int | None:
        """Run every design to its end (or ``rounds`` rounds); return the first divergence."""
        for ctl in self.controllers.values():
            if not ctl.run.done:
                await ctl.run_rounds(rounds)
        histories = [ctl.history for ctl in self.controllers.values()]
        self.divergence = first_divergence(histories)
        self.scrubber.max = max(len(h) for h in histories) - 1
        self._announce()
        self.scrubber.value = self.scrubber.max
        self.show(self.scrubber.value)
        return self.divergence

    def show(self, round: int) -> None:
        """Every design as it was after ``round`` (a design that ended earlier: its last round)."""
        for name, ctl in self.controllers.items():
            state = ctl.history[min(round, len(ctl.history) - 1)]
            self.graphs[name].show(state, animate=state.round == round)
            self.captions[name].value = self._caption(ctl, state, round)
            diverged = self.divergence is not None and round == self.divergence
            if diverged:
                self.panels[name].add_class("ltl-diverged")
            else:
                self.panels[name].remove_class("ltl-diverged")

    def _caption(self, ctl: LabController, state: RoundState, round: int) -> str:
        given = [a for a in state.answers if a is not None]
        top = max((given.count(a) for a in set(given)), default=0)
        agreement = f"{top / len(given):.0%}" if given else "–"
        mark = {True: " ✓", False: " ✗"}.get(state.correct, "") if state.decision else ""
        decision = f"decision <b>{escape(str(state.decision))}</b>{mark}" if state.decision else "no decision"
        ended = f" · ended after round {state.round} ({escape(ctl.run.end_reason or '')})" \
            if ctl.run.done and state.round < round else ""
        return (f"<div data-round='{state.round}'>round {state.round} · {decision} · agreement {agreement}"
                f"{ended}</div>")

    def _announce(self) -> None:
        d = self.divergence
        if d is None:
            text = "The designs never diverge on this seed: same answers and decisions in every round."
        else:
            parts = []
            for name, ctl in self.controllers.items():
                state = ctl.history[d] if d < len(ctl.history) else None
                parts.append(f"{escape(name)}: " + ("ended" if state is None else _tally(state)))
            text = f"First divergence: <b>round {d}</b> — " + "; ".join(parts)
        self.banner.value = f"<div class='ltl-compare-banner' data-divergence='{d or ''}'>{text}</div>"
        self.jump.disabled = d is None

    def _go_to_divergence(self) -> None:
        """Scrub every panel to the first divergence."""
        if self.divergence is not None:
            self.scrubber.value = self.divergence

    # --- exporting -------------------------------------------------------------------------
    def export_html(self, path: str | Path) -> Path:
        """A one-file HTML report of the compared runs (``export.compare_report``)."""
        from llmteams_lab.export.report import compare_report

        runs = {name: events_frame(ctl.run.events) for name, ctl in self.controllers.items()}
        return compare_report(runs, path, specs={n: c.spec for n, c in self.controllers.items()},
                              title=f"Comparison on seed {self.seed}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Compare {list(self.controllers)} seed={self.seed} divergence={self.divergence}>"


def _tally(state: RoundState) -> str:
    """``A×5 C×1 → decision A`` for a round's answers and decision."""
    given = [a for a in state.answers if a is not None]
    counts = " ".join(f"{escape(str(a))}×{given.count(a)}" for a in sorted(set(given)))
    return f"{counts or 'no answers'} → decision {escape(str(state.decision or '–'))}"
