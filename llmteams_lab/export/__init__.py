"""Exports (level 9): what leaves the lab, in the formats other tools and people read.

otel    OpenTelemetry spans (a trace per run) to an OTLP endpoint, an OTLP/JSON file or
        your own tracer provider; needs the ``[otel]`` extra
source  what every exporter accepts: a run, a result, a replay, the lab, an events
        frame, a list of events or a saved ``.jsonl``/``.parquet`` log
report  one-file HTML reports of a run, a comparison or a sweep (plotly.js inside, opens
        offline): ``write_report``, ``run_report``, ``compare_report``, ``sweep_report``

Names are imported on first use (PEP 562): ``import llmteams_lab.export`` loads neither
polars nor OpenTelemetry nor plotly.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["OtelExport", "SpanPlan", "compare_report", "events_of", "export_otel", "plan_spans", "run_report",
           "sweep_report", "write_report"]

_WHERE = {
    "OtelExport": "otel", "SpanPlan": "otel", "export_otel": "otel", "plan_spans": "otel",
    "events_of": "source",
    "compare_report": "report", "run_report": "report", "sweep_report": "report", "write_report": "report",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'llmteams_lab.export' has no attribute {name!r}")
    return getattr(importlib.import_module(f"llmteams_lab.export.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
