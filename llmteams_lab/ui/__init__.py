"""The notebook lab (level 9): ``Lab(spec)`` and the widgets it is made of.

Importing this package loads ipywidgets, anywidget and plotly; ``import llmteams_lab``
alone never does.
"""

from llmteams_lab.ui.builder import TeamBuilder
from llmteams_lab.ui.compare import Compare
from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.errors import ErrorPanel
from llmteams_lab.ui.faults import FaultPanel
from llmteams_lab.ui.figures import LiveFigures
from llmteams_lab.ui.graph import TeamGraph
from llmteams_lab.ui.history import RoundState
from llmteams_lab.ui.lab import Lab

__all__ = ["Compare", "ErrorPanel", "FaultPanel", "Lab", "LabController", "LiveFigures", "RoundState", "TeamBuilder",
           "TeamGraph"]
