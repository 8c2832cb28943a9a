"""Export (level 10): what leaves the lab — one-file HTML reports of a run, a comparison
or a sweep (``export.report``). Imports are lazy: ``import llmteams_lab.export`` costs
nothing until a report is built (plotly and polars load then)."""

from __future__ import annotations

from typing import Any

__all__ = ["compare_report", "run_report", "sweep_report", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("llmteams_lab.export.report"), name)
    raise AttributeError(f"module 'llmteams_lab.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
