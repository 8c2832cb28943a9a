"""Where the front-end sources of our anywidgets live, installed or not.

The ESM and CSS files are kept in the repository's top-level ``widgets/`` (one place to
edit, no npm build). A wheel ships them as package data in ``llmteams_lab/ui/_widgets/``
(``setup.py`` copies them at build time); an editable install or a source checkout
reads them straight from ``widgets/``, so an edit shows up on the next widget display.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["asset", "asset_dir"]

_PACKAGED = Path(__file__).resolve().parent / "_widgets"
_SOURCE = Path(__file__).resolve().parents[2] / "widgets"


def asset_dir() -> Path:
    """The directory holding the widget sources (packaged copy first)."""
    for candidate in (_PACKAGED, _SOURCE):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"widget sources not found in {_PACKAGED} nor {_SOURCE}; "
                            "reinstall llmteams-lab (the wheel ships them as package data)")


def asset(name: str) -> Path:
    """The path of one widget source file, e.g. ``asset("team_graph.js")``."""
    path = asset_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"widget source {name!r} is missing from {path.parent}")
    return path
