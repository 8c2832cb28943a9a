"""Exports (level 9): a run's events in the formats other tools read.

otel    OpenTelemetry spans (a trace per run) to an OTLP endpoint, an OTLP/JSON file or
        your own tracer provider; needs the ``[otel]`` extra
source  what every exporter accepts: a run, a result, a replay, the lab, an events
        frame, a list of events or a saved ``.jsonl``/``.parquet`` log

Names are imported on first use (PEP 562): ``import llmteams_lab.export`` loads neither
polars nor OpenTelemetry.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["OtelExport", "SpanPlan", "events_of", "export_otel", "plan_spans"]

_WHERE = {
    "OtelExport": "otel", "SpanPlan": "otel", "export_otel": "otel", "plan_spans": "otel",
    "events_of": "source",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'llmteams_lab.export' has no attribute {name!r}")
    return getattr(importlib.import_module(f"llmteams_lab.export.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
