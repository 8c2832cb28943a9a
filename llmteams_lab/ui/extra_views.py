"""Extra views beside the team graph: the space-time diagram, and any a notebook adds.

Why a slot: some runs offer views others do not (the live space-time diagram belongs to
asynchronous teams unless asked for), and a notebook may add its own
(``Lab.add_view``). Each view is a factory asked at every reset — ``factory(controller)``
returns a widget for the current run, or ``None`` when the run does not offer it — so a
reset to another kind of team shows the views that team offers, and only those.
"""

from __future__ import annotations

from typing import Any, Callable

import ipywidgets as w

from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.spacetime_view import SpacetimeView

__all__ = ["ViewSlot"]


class ViewSlot:
    """The views offered for the current run, in ``widget`` (hidden when there are none).

    spacetime  show the live space-time diagram: ``None`` for asynchronous teams only,
               ``True`` always, ``False`` never
    """

    def __init__(self, spacetime: bool | None = None):
        self.widget = w.VBox(layout=w.Layout(display="none"))
        self._views: list[Callable[[LabController], Any]] = [self._spacetime_for]
        self._spacetime_choice = spacetime
        self.spacetime: SpacetimeView | None = None  # built when first shown

    def add(self, factory: Callable[[LabController], Any], controller: LabController) -> None:
        """Offer ``factory``'s view from now on (see the module docstring)."""
        self._views.append(factory)
        self.offer(controller)

    def _spacetime_for(self, controller: LabController) -> SpacetimeView | None:
        """The built-in view: the live space-time diagram (asynchronous teams, by default)."""
        wanted = self._spacetime_choice if self._spacetime_choice is not None else controller.asynchronous
        if self.spacetime is not None:
            self.spacetime.active = bool(wanted)  # hidden: it stops following the run
        if not wanted:
            return None
        if self.spacetime is None:
            self.spacetime = SpacetimeView(controller)
        self.spacetime.refresh(force=True)
        return self.spacetime

    def offer(self, controller: LabController) -> None:
        """Ask every factory again (a new run) and show the views they return."""
        shown = [v for v in (f(controller) for f in self._views) if v is not None]
        self.widget.children = tuple(shown)
        self.widget.layout.display = "" if shown else "none"
