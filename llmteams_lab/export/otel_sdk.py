"""Planned spans through the OpenTelemetry SDK: emitted, then sent or written.

The only module that imports ``opentelemetry`` (``otel.py`` imports it lazily, so the
package stays importable without the ``[otel]`` extra). With a provider of its own the
export collects every span in memory first and then sends them in batches, synchronously:
a refused batch raises :class:`ExportError` naming the endpoint, where a background batch
processor would drop spans silently once its queue filled.
"""

from __future__ import annotations

import random
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmteams_lab.errors import ExportError
from llmteams_lab.export.otel import SpanPlan
from llmteams_lab.export.otlp_json import write_otlp_json

__all__ = ["SeededIds", "emit", "emit_and_write", "emit_to_provider"]

SCOPE = "llmteams_lab.export.otel"
BATCH = 512  # spans per OTLP request


def _version() -> str:
    """The installed distribution's version (the package façade sits above this level)."""
    try:
        return metadata.version("llmteams-lab")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree on sys.path only
        return ""


__version__ = _version()


class SeededIds(IdGenerator):
    """Span and trace ids from a generator reseeded per run (same log, same ids)."""

    def __init__(self) -> None:
        self._rng = random.Random(0)

    def reseed(self, key: str) -> None:
        self._rng = random.Random(key)

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


def emit(plans: Sequence[SpanPlan], tracer: Any, start_ns: int, ids: SeededIds | None = None) -> dict[str, str]:
    """Start and end every planned span on ``tracer``; run id -> trace id (hex)."""
    traces = {}
    for plan in plans:
        run_id = plan.attributes["llmteams.run_id"]
        if ids is not None:
            ids.reseed(f"{run_id}@{start_ns}")
        root = _emit(plan, tracer, Context(), start_ns)
        traces[run_id] = format(root.get_span_context().trace_id, "032x")
    return traces


def _emit(plan: SpanPlan, tracer: Any, parent: Context, start_ns: int) -> Any:
    span = tracer.start_span(plan.name, context=parent, kind=SpanKind.INTERNAL, attributes=plan.attributes,
                             start_time=_ns(start_ns, plan.start))
    for name, seconds, attributes in plan.events:
        span.add_event(name, attributes, timestamp=_ns(start_ns, seconds))
    inner = trace.set_span_in_context(span, parent)
    for child in plan.children:
        _emit(child, tracer, inner, start_ns)
    if plan.error is not None:
        span.set_status(Status(StatusCode.ERROR, plan.error))
    span.end(end_time=_ns(start_ns, plan.end))
    return span


def _ns(start_ns: int, seconds: float) -> int:
    """Run-clock seconds (on the microsecond grid) as Unix nanoseconds."""
    return start_ns + round(seconds * 1_000_000) * 1000


def emit_to_provider(plans: Sequence[SpanPlan], provider: Any, start_ns: int) -> dict[str, str]:
    """Through a caller's ``TracerProvider`` (its processors export; flushed, not shut down)."""
    traces = emit(plans, provider.get_tracer(SCOPE, __version__), start_ns)
    flush = getattr(provider, "force_flush", None)
    if flush is not None:
        flush()
    return traces


def emit_and_write(plans: Sequence[SpanPlan], start_ns: int, *, endpoint: str | None, path: Path | None,
                   headers: dict[str, str], timeout_s: float, service_name: str) -> dict[str, str]:
    """Through a provider of our own (unlimited events per span, seeded ids), then to
    ``endpoint`` (OTLP/HTTP protobuf) and/or ``path`` (OTLP/JSON lines)."""
    ids = SeededIds()
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name, "service.version": __version__}),
                              shutdown_on_exit=False, id_generator=ids,
                              span_limits=SpanLimits(max_events=SpanLimits.UNSET, max_attributes=SpanLimits.UNSET))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    try:
        traces = emit(plans, provider.get_tracer(SCOPE, __version__), start_ns, ids)
        spans = memory.get_finished_spans()
    finally:
        provider.shutdown()
    if path is not None:
        write_otlp_json(spans, path)
    if endpoint is not None:
        _send(spans, endpoint, headers, timeout_s)
    return traces


def _send(spans: Sequence[ReadableSpan], endpoint: str, headers: dict[str, str], timeout_s: float) -> None:
    exporter = OTLPSpanExporter(endpoint=endpoint, headers=headers, timeout=timeout_s)
    try:
        for i in range(0, len(spans), BATCH):
            if exporter.export(spans[i:i + BATCH]) is not SpanExportResult.SUCCESS:
                raise ExportError(f"the OTLP endpoint {endpoint} did not accept spans {i}..{i + BATCH - 1} of "
                                  f"{len(spans)} (see the log above for its answer); nothing after them was sent")
    finally:
        exporter.shutdown()
