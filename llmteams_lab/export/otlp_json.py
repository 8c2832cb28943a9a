"""Finished spans as OTLP/JSON: the file format of the OpenTelemetry Collector.

One ``ExportTraceServiceRequest`` per line, one line per trace (a run), in the OTLP/JSON
encoding the specification fixes — ids as hex strings, 64-bit integers and times as
decimal strings, enums as numbers, attribute values as ``{"stringValue": ...}`` — so the
Collector's ``otlpjsonfile`` receiver, or any OTLP/JSON reader, takes the file as it is.
Works on the SDK's ``ReadableSpan`` attributes only (no protobuf needed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from llmteams_lab.errors import ExportError

__all__ = ["any_value", "otlp_requests", "write_otlp_json"]


def any_value(value: Any) -> dict[str, Any]:
    """An attribute value as an OTLP ``AnyValue``."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _attributes(attributes: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(v)} for k, v in (attributes or {}).items()]


def _span(span: Any) -> dict[str, Any]:
    context = span.get_span_context()
    out: dict[str, Any] = {"traceId": format(context.trace_id, "032x"), "spanId": format(context.span_id, "016x")}
    if span.parent is not None:
        out["parentSpanId"] = format(span.parent.span_id, "016x")
    out.update({
        "name": span.name, "kind": span.kind.value + 1,  # OTLP counts SPAN_KIND_UNSPECIFIED as 0
        "startTimeUnixNano": str(span.start_time), "endTimeUnixNano": str(span.end_time),
        "attributes": _attributes(span.attributes),
        "events": [{"timeUnixNano": str(e.timestamp), "name": e.name, "attributes": _attributes(e.attributes)}
                   for e in span.events],
        "status": {"code": span.status.status_code.value, **({"message": span.status.description}
                                                            if span.status.description else {})},
    })
    return out


def otlp_requests(spans: Sequence[Any]) -> list[dict[str, Any]]:
    """One ``ExportTraceServiceRequest`` per trace, traces in the order they first appear."""
    by_trace: dict[int, list[Any]] = {}
    for span in spans:
        by_trace.setdefault(span.get_span_context().trace_id, []).append(span)
    requests = []
    for members in by_trace.values():
        first = members[0]
        scope = first.instrumentation_scope
        requests.append({"resourceSpans": [{
            "resource": {"attributes": _attributes(first.resource.attributes)},
            "scopeSpans": [{"scope": {"name": scope.name, "version": scope.version or ""},
                            "spans": [_span(s) for s in members]}],
        }]})
    return requests


def write_otlp_json(spans: Sequence[Any], path: str | os.PathLike) -> Path:
    """Write ``spans`` to ``path`` as OTLP/JSON lines (see the module docstring)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for request in otlp_requests(spans):
                fh.write(json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n")
    except OSError as err:
        raise ExportError(f"could not write the spans to {str(path)!r}: {err.strerror or err}") from None
    return path
