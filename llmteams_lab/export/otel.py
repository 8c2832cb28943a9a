"""A run's events as OpenTelemetry spans, for the tools engineers already use for agent traces.

AutoGen, Microsoft Agent Framework, Phoenix and Langfuse all read OpenTelemetry with the
GenAI semantic conventions; :func:`export_otel` writes any run's events that way — a live
run's records, a saved JSONL/parquet log, a replay, the paper's runs — one trace per run::

    invoke_workflow <spec name>     the run (spec, end reason, decision, totals)
    └── round <r>                   one per round (decision so far, messages, tokens)
        └── invoke_agent <agent>    one per agent call: ``AgentReplied``, or ``AgentFailed``
                                    (status ERROR, ``error.type`` = the failure kind)

Attributes follow the GenAI conventions where one exists — ``gen_ai.operation.name``
(``invoke_workflow`` / ``invoke_agent``), ``gen_ai.workflow.name``, ``gen_ai.conversation.id``
(the run id), ``gen_ai.agent.id``/``.name``, ``gen_ai.provider.name`` (``openai`` for the
``openai`` backend, else ``llmteams_lab.<backend>``), ``gen_ai.request.model`` and
``.temperature`` (when the spec names them), ``gen_ai.usage.input_tokens``/``.output_tokens``
— and are ``llmteams.*`` otherwise: ``llmteams.cost_usd`` (only when known: an unknown
price is never sent as 0), the answer, its truth, the confidence, the round, the protocol.
A call's usage is omitted when the log has none for it (the paper released per-run totals
only: they sit on the run span). Everything else in the log becomes a **span event**
named after its kind, with its non-empty columns as ``llmteams.<column>`` attributes, on
the span it belongs to: messages (sent, delivered, dropped, delayed) and task-board
actions on the acting agent's call span of that round, retries on the call they retried,
faults (``FaultApplied``) on their round's span (run-level ones on the run span).

**Time.** A span's time is ``start_ns`` plus its run-clock seconds (``t_start``/``t_end``),
in whole microseconds. For simulated agents the run clock is virtual — a span lasts what
the simulated latency says, not the milliseconds of CPU it took — and for real backends it
is the measured wall time since the run began. ``start_ns`` defaults to the moment of the
export, so traces show up among a tool's recent ones; pass the run's real start to place
it in history. With a provider of its own the export draws span ids from a generator
seeded by the run id and ``start_ns``: the same log exported twice gives the same ids.

**Secrets.** Events never hold an API key; as a second line of defence, any attribute
text containing the value of the key variable the spec names (and ``$OPENAI_API_KEY``)
is replaced by ``[redacted]``. Texts are capped at :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from llmteams_lab.errors import ArgumentError, MissingExtraError
from llmteams_lab.export.source import events_of

__all__ = ["MAX_TEXT", "OtelExport", "SpanPlan", "export_otel", "plan_spans"]

MAX_TEXT = 8192  # characters of one text attribute; longer ones end with " … (truncated)"
CALL_KINDS = ("AgentReplied", "AgentFailed")
MESSAGE_KINDS = ("MessageSent", "MessageDelivered", "MessageDropped", "MessageDelayed")
_COUNTED = {"MessageSent": "sent", "MessageDelivered": "delivered", "MessageDropped": "dropped"}
_EVENT_COLUMNS = ("agent", "peer", "value", "correct", "tokens_in", "tokens_out", "cost_usd", "fault", "detail",
                  "count")


@dataclass
class SpanPlan:
    """One span to emit: times in run-clock seconds, attributes, span events
    ``(name, seconds, attributes)``, child spans, and an error description if it failed."""

    name: str
    start: float
    end: float
    attributes: dict[str, Any]
    events: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    children: list["SpanPlan"] = field(default_factory=list)
    error: str | None = None

    def walk(self) -> Iterable["SpanPlan"]:
        """This span and every span below it, parents first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class OtelExport:
    """What an export wrote: ``traces`` maps each run id to its trace id (32 hex digits)."""

    traces: dict[str, str]
    spans: int
    events: int
    destinations: tuple[str, ...]


def plan_spans(source: Any, *, messages: bool = True) -> list[SpanPlan]:
    """The spans :func:`export_otel` would write for ``source``, one root per run, in the
    order the runs first appear; needs no OpenTelemetry package (see the module docstring).
    ``messages=False`` leaves out the message span events (a 64-agent all-to-all round has
    ~8,000)."""
    frame = events_of(source)
    runs: dict[str, list[dict[str, Any]]] = {}
    for row in frame.sort("run_id", "seq", maintain_order=True).iter_rows(named=True):
        runs.setdefault(row["run_id"], []).append(row)
    order = list(dict.fromkeys(frame["run_id"].to_list()))
    return [_RunPlanner(runs[rid], messages).plan() for rid in order]


def export_otel(source: Any, *, endpoint: str | None = None, path: str | os.PathLike | None = None,
                tracer_provider: Any = None, start_ns: int | None = None, messages: bool = True,
                headers: Mapping[str, str] | None = None, timeout_s: float = 10.0,
                service_name: str = "llmteams_lab") -> OtelExport:
    """Write ``source``'s events as OpenTelemetry spans (see the module docstring).

    endpoint         an OTLP/HTTP traces URL (``http://127.0.0.1:4318/v1/traces``; a bare
                     ``http://host:4318`` gets ``/v1/traces``), sent as protobuf
    path             a file of OTLP/JSON: one ``ExportTraceServiceRequest`` per line, one
                     line per run (what the OpenTelemetry Collector's file exporter writes)
    tracer_provider  your own SDK ``TracerProvider`` (Phoenix, Langfuse, an in-memory
                     exporter ...): spans go through its processors; it is flushed, not shut
                     down. Its span limits apply (the SDK keeps 128 events per span by default).
    start_ns         the run clock's zero as Unix nanoseconds (default: now)
    headers          extra HTTP headers for ``endpoint`` (e.g. an ingestion key)

    Give ``endpoint`` and/or ``path``, or ``tracer_provider`` alone. Needs the ``[otel]``
    extra; a refused export raises :class:`~llmteams_lab.errors.ExportError`.
    """
    if tracer_provider is not None and (endpoint or path):
        raise ArgumentError("tracer_provider", "cannot be combined with endpoint= or path=; its own exporters "
                            "decide where spans go", type(tracer_provider).__name__)
    if tracer_provider is None and not endpoint and not path:
        raise ArgumentError("endpoint", "or path= or tracer_provider= must be given: where should the spans go?",
                            endpoint)
    if endpoint:
        endpoint = _traces_url(endpoint)
    if start_ns is None:
        start_ns = time.time_ns() // 1000 * 1000
    elif not isinstance(start_ns, int) or isinstance(start_ns, bool) or start_ns < 0:
        raise ArgumentError("start_ns", "must be Unix nanoseconds, an integer >= 0", start_ns)
    plans = plan_spans(source, messages=messages)
    try:
        from llmteams_lab.export import otel_sdk
    except ImportError as err:
        raise MissingExtraError(f"export_otel needs OpenTelemetry ({err.name or err}): "
                                "pip install 'llmteams-lab[otel]'") from None
    if tracer_provider is not None:
        traces = otel_sdk.emit_to_provider(plans, tracer_provider, start_ns)
        destinations: tuple[str, ...] = (type(tracer_provider).__name__,)
    else:
        traces = otel_sdk.emit_and_write(plans, start_ns, endpoint=endpoint, path=Path(path) if path else None,
                                         headers=dict(headers or {}), timeout_s=timeout_s, service_name=service_name)
        destinations = tuple(str(d) for d in (endpoint, path) if d)
    spans = [s for plan in plans for s in plan.walk()]
    return OtelExport(traces, len(spans), sum(len(s.events) for s in spans), destinations)


def _traces_url(endpoint: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(str(endpoint))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ArgumentError("endpoint", "must be an http(s) URL such as http://127.0.0.1:4318/v1/traces",
                            str(endpoint)[:80])
    return endpoint.rstrip("/") + "/v1/traces" if parts.path in ("", "/") else endpoint


class _RunPlanner:
    """Turns one run's rows (in ``seq`` order) into its span tree."""

    def __init__(self, rows: list[dict[str, Any]], messages: bool):
        self.rows, self.messages = rows, messages
        self.spec = _spec_of(rows)
        self.agents = {a.get("id"): a for a in self.spec.get("agents", []) if isinstance(a, dict)}
        self.endpoint = self.spec.get("endpoint") or {}
        self.secrets = _secrets(self.spec)
        self.rounds: dict[int, SpanPlan] = {}
        self.calls: dict[tuple[int, str], SpanPlan] = {}
        self.retries: dict[tuple[int, str], list[tuple[str, float, dict[str, Any]]]] = {}
        self.usage: list[tuple[int, int, float | None]] = []
        self.run_end_tokens = (0, 0)

    def plan(self) -> SpanPlan:
        rows = self.rows
        run_id = rows[0]["run_id"]
        name = str(self.spec.get("name") or "team")
        self.run = SpanPlan(f"invoke_workflow {name}", min(r["t_start"] for r in rows),
                            max(r["t_end"] for r in rows), self._clean({
                                "gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": name,
                                "gen_ai.conversation.id": run_id, "llmteams.run_id": run_id, **self._spec_facts()}))
        for row in rows:
            self._add(row)
        for (r, _), pending in self.retries.items():  # retries with no call after them
            self._round(r, pending[0][1]).events.extend(pending)
        self.run.children = [self._closed(self.rounds[r]) for r in sorted(self.rounds)]
        self.run.attributes.update(self._totals())
        return self.run

    def _add(self, row: dict[str, Any]) -> None:
        kind, r, agent = row["kind"], row["round"], row["agent"]
        if kind == "RunStarted":
            return
        if kind == "RunEnded":
            self.run.attributes.update(self._clean({
                "llmteams.end_reason": row["detail"], "llmteams.decision": row["value"],
                "llmteams.correct": row["correct"], "llmteams.rounds": r}))
            self.run_end_tokens = (row["tokens_in"], row["tokens_out"])
        elif r <= 0:
            self.run.events.append(self._event(row))
        elif kind == "RoundStarted":
            self._round(r, row["t_start"]).start = row["t_start"]
        elif kind == "RoundEnded":
            span = self._round(r, row["t_start"])
            span.end = row["t_end"]
            span.attributes.update(self._clean({"llmteams.decision": row["value"], "llmteams.correct": row["correct"],
                                                "llmteams.round_end": row["detail"]}))
        elif kind in CALL_KINDS:
            self._call(row)
        elif kind == "AgentRetried":
            self.retries.setdefault((r, agent), []).append(self._event(row))
        elif kind in MESSAGE_KINDS:
            span = self._round(r, row["t_start"])
            if kind in _COUNTED:
                key = f"llmteams.messages.{_COUNTED[kind]}"
                span.attributes[key] = span.attributes.get(key, 0) + row["count"]
            if self.messages:
                self.calls.get((r, agent), span).events.append(self._event(row))
        else:
            home = self._round(r, row["t_start"]) if kind == "FaultApplied" else \
                self.calls.get((r, agent)) or self._round(r, row["t_start"])
            home.events.append(self._event(row))

    def _round(self, r: int, t: float) -> SpanPlan:
        span = self.rounds.get(r)
        if span is None:
            span = self.rounds[r] = SpanPlan(f"round {r}", t, t, {"llmteams.round": r})
        return span

    def _call(self, row: dict[str, Any]) -> None:
        r, agent = row["round"], row["agent"]
        profile = self.agents.get(agent, {})
        backend = profile.get("backend") or "simulated"
        tokens_in, tokens_out = row["tokens_in"] or 0, row["tokens_out"] or 0
        self.usage.append((tokens_in, tokens_out, row["cost_usd"]))
        attributes = self._clean({
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": agent, "gen_ai.agent.name": agent,
            "gen_ai.provider.name": "openai" if backend == "openai" else f"llmteams_lab.{backend}",
            "gen_ai.request.model": profile.get("model") or (self.endpoint.get("model") if backend == "openai"
                                                             else None),
            "gen_ai.request.temperature": profile.get("temperature"),
            "gen_ai.usage.input_tokens": tokens_in if tokens_in or tokens_out else None,
            "gen_ai.usage.output_tokens": tokens_out if tokens_in or tokens_out else None,
            "llmteams.cost_usd": row["cost_usd"], "llmteams.round": r, "llmteams.agent.role": profile.get("role"),
            "llmteams.answer": row["value"], "llmteams.correct": row["correct"],
            "llmteams.confidence": _confidence(row["detail"]),
            "error.type": row["fault"] if row["kind"] == "AgentFailed" else None,
            "llmteams.detail": row["detail"] if row["kind"] == "AgentFailed" else None,
        })
        span = SpanPlan(f"invoke_agent {agent}", row["t_start"], row["t_end"], attributes,
                        events=self.retries.pop((r, agent), []))
        if row["kind"] == "AgentFailed":
            span.error = str(row["fault"] or "failed")
        self._round(r, row["t_start"]).children.append(span)
        self.calls[(r, agent)] = span

    def _closed(self, span: SpanPlan) -> SpanPlan:
        """A round's span covers its calls, and carries their summed usage."""
        calls = span.children
        if calls:
            span.start = min(span.start, *(c.start for c in calls))
            span.end = max(span.end, *(c.end for c in calls))
            tokens_in = sum(c.attributes.get("gen_ai.usage.input_tokens", 0) for c in calls)
            tokens_out = sum(c.attributes.get("gen_ai.usage.output_tokens", 0) for c in calls)
            if tokens_in or tokens_out:
                span.attributes.update({"gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out})
        return span

    def _totals(self) -> dict[str, Any]:
        tokens_in = sum(u[0] for u in self.usage)
        tokens_out = sum(u[1] for u in self.usage)
        if not (tokens_in or tokens_out):  # per-call usage not recorded: the run's own totals
            tokens_in, tokens_out = self.run_end_tokens
        totals: dict[str, Any] = {}
        if tokens_in or tokens_out:
            totals.update({"gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out})
        if self.usage and all(u[2] is not None for u in self.usage):
            totals["llmteams.cost_usd"] = round(sum(u[2] for u in self.usage), 12)
        return totals

    def _spec_facts(self) -> dict[str, Any]:
        spec = self.spec
        facts = {"llmteams.agents": len(self.agents) or None, "llmteams.seed": spec.get("seed"),
                 "llmteams.task.kind": (spec.get("task") or {}).get("kind"),
                 "llmteams.protocol": (spec.get("protocol") or {}).get("kind"),
                 "llmteams.topology": (spec.get("topology") or {}).get("kind"),
                 "llmteams.spec": json.dumps(spec, sort_keys=True) if spec else None}
        return facts

    def _event(self, row: dict[str, Any]) -> tuple[str, float, dict[str, Any]]:
        attributes = {f"llmteams.{c}": row[c] for c in _EVENT_COLUMNS
                      if row[c] is not None and not (c in ("tokens_in", "tokens_out") and row[c] == 0)
                      and not (c == "count" and row[c] == 1) and row[c] != ""}
        attributes["llmteams.seq"] = row["seq"]
        return row["kind"], row["t_end"], self._clean(attributes)

    def _clean(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """Drop unknowns (OTel has no null), cap and redact texts."""
        out = {}
        for key, value in attributes.items():
            if value is None:
                continue
            if isinstance(value, str):
                for secret in self.secrets:
                    value = value.replace(secret, "[redacted]")
                if len(value) > MAX_TEXT:
                    value = value[:MAX_TEXT] + " … (truncated)"
            out[key] = value
        return out


def _spec_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec a ``RunStarted`` event carries as JSON (``{}`` for a log that lacks one)."""
    for row in rows:
        if row["kind"] == "RunStarted" and row["detail"]:
            try:
                spec = json.loads(row["detail"])
            except json.JSONDecodeError:
                return {}
            return spec if isinstance(spec, dict) else {}
    return {}


def _secrets(spec: dict[str, Any]) -> tuple[str, ...]:
    """Values of the key variables this run may have used (never sent, if found in a text)."""
    names = {"OPENAI_API_KEY", str((spec.get("endpoint") or {}).get("api_key_env") or "OPENAI_API_KEY")}
    values = (os.environ.get(n, "") for n in sorted(names))
    return tuple(v for v in values if len(v) >= 8)


def _confidence(detail: str | None) -> float | None:
    if not detail or not detail.startswith("{"):
        return None
    try:
        value = json.loads(detail).get("confidence")
    except (json.JSONDecodeError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
