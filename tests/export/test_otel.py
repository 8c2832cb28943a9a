"""OpenTelemetry export: spans checked against the events frame they come from.

Spans go through the real SDK (a ``TracerProvider`` with the SDK's in-memory exporter),
into an OTLP/JSON file read back, and over real HTTP to an OTLP receiver on 127.0.0.1
that decodes the protobuf requests — for a live run with faults, a saved log, a replay,
an ``openai`` team answered by ``serve`` (whose key must appear nowhere) and the paper's runs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import polars as pl
import pytest
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from llmteams_lab import FaultSpec, ProtocolSpec, Run, team
from llmteams_lab.datasets import replay_trace
from llmteams_lab.errors import (
    ArgumentError,
    DatasetError,
    ExportError,
    MissingExtraError,
)
from llmteams_lab.export import events_of, export_otel, plan_spans
from llmteams_lab.serve import Server
from llmteams_lab.serve.faults import FaultPlan
from tests.serve.servers import openai_team, profile, run_team, serving
from tests.support import PAPER_DATA

START = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in Unix nanoseconds
CONSUMED = ("RunStarted", "RunEnded", "RoundStarted", "RoundEnded", "AgentReplied", "AgentFailed")


def faulty_spec():
    return team(5, protocol="debate", max_rounds=4, seed=3, competence=0.4).replace(
        protocol=ProtocolSpec(kind="debate", stop_at_consensus=False),
        faults=[FaultSpec(kind="drop", probability=0.3), FaultSpec(kind="crash", agent="a4", at_round=2),
                FaultSpec(kind="byzantine", agent="a0", lie="B"), FaultSpec(kind="timeout", agent="a3",
                                                                             probability=0.6)],
        failure_policy={"on_error": "retry", "retries": 1, "backoff_s": 0.5})


@pytest.fixture(scope="module")
def result():
    return run_team(faulty_spec())


def in_memory() -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False, span_limits=SpanLimits(max_events=SpanLimits.UNSET))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def exported(source, **kwargs):
    provider, memory = in_memory()
    try:
        out = export_otel(source, tracer_provider=provider, start_ns=START, **kwargs)
        return out, memory.get_finished_spans()
    finally:
        provider.shutdown()


def ns(seconds: float) -> int:
    return START + round(seconds * 1_000_000) * 1000


def check_against_frame(spans, events: pl.DataFrame, *, messages: bool = True) -> None:
    """Span counts, parents, times and attributes of one run's trace, from its events."""
    by_id = {s.context.span_id: s for s in spans}
    [run] = [s for s in spans if s.parent is None]
    assert run.name.startswith("invoke_workflow ") and run.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert {s.context.trace_id for s in spans} == {run.context.trace_id}
    rounds = {s.attributes["llmteams.round"]: s for s in spans if s.name.startswith("round ")}
    assert sorted(rounds) == sorted(events.filter(pl.col("kind") == "RoundStarted")["round"].to_list())
    assert all(by_id[s.parent.span_id] is run for s in rounds.values())
    calls = events.filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed")))
    agent_spans = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert len(spans) == 1 + len(rounds) + len(agent_spans) and len(agent_spans) == calls.height
    for span, row in zip(agent_spans, calls.sort("seq").iter_rows(named=True)):  # emitted in log order
        assert span.name == f"invoke_agent {row['agent']}" and span.attributes["gen_ai.agent.id"] == row["agent"]
        assert by_id[span.parent.span_id] is rounds[row["round"]]
        assert (span.start_time, span.end_time) == (ns(row["t_start"]), ns(row["t_end"]))
        assert span.attributes.get("gen_ai.usage.input_tokens", 0) == row["tokens_in"]
        assert span.attributes.get("gen_ai.usage.output_tokens", 0) == row["tokens_out"]
        assert span.attributes.get("llmteams.cost_usd") == row["cost_usd"]
        assert span.attributes.get("llmteams.answer") == row["value"]
        failed = row["kind"] == "AgentFailed"
        assert (span.status.status_code is StatusCode.ERROR) == failed
        assert span.attributes.get("error.type") == (row["fault"] if failed else None)
    ended = events.filter(pl.col("kind") == "RunEnded")["tokens_in"].sum()  # the paper's per-run totals
    assert run.attributes.get("gen_ai.usage.input_tokens", 0) == (calls["tokens_in"].sum() or ended)
    kinds = [e.name for s in spans for e in s.events]
    expected = events.filter(~pl.col("kind").is_in(CONSUMED))
    if not messages:
        expected = expected.filter(~pl.col("kind").str.starts_with("Message"))
    assert sorted(kinds) == sorted(expected["kind"].to_list()), "every other event is a span event, once"
    seqs = sorted(e.attributes["llmteams.seq"] for s in spans for e in s.events)
    assert seqs == sorted(expected["seq"].to_list())


def test_a_live_run_with_faults_becomes_one_trace_matching_its_events(result) -> None:
    events = result.events
    assert events.filter(pl.col("kind") == "AgentFailed").height > 0, "the run must exercise failures"
    assert events.filter(pl.col("kind") == "AgentRetried").height > 0
    out, spans = exported(result)
    check_against_frame(spans, events)
    assert out.traces == {result.run_id: format(spans[0].context.trace_id, "032x")}
    assert out.spans == len(spans) and out.events == sum(len(s.events) for s in spans)
    rounds = {s.attributes["llmteams.round"]: s for s in spans if s.name.startswith("round ")}
    faults = events.filter(pl.col("kind") == "FaultApplied")
    for row in faults.iter_rows(named=True):  # faults hang on their round's span
        assert any(e.name == "FaultApplied" and e.attributes["llmteams.seq"] == row["seq"]
                   and e.attributes["llmteams.fault"] == row["fault"] for e in rounds[row["round"]].events)
    for span in spans:  # retries hang on the call they retried; messages on their sender's call
        for e in span.events:
            if e.name == "AgentRetried" or e.name.startswith("Message") and span.name.startswith("invoke_agent"):
                assert span.attributes["gen_ai.agent.id"] == e.attributes["llmteams.agent"]
    sent = events.filter(pl.col("kind") == "MessageSent").group_by("round").agg(pl.col("count").sum())
    for r, n in sent.iter_rows():
        assert rounds[r].attributes["llmteams.messages.sent"] == n


def test_message_events_can_be_left_out(result) -> None:
    _, spans = exported(result, messages=False)
    check_against_frame(spans, result.events, messages=False)


def test_saved_logs_replays_and_frames_export_the_same_trace(result, tmp_path: Path) -> None:
    jsonl, parquet = tmp_path / "events.jsonl", tmp_path / "events.parquet"
    result.to_jsonl(jsonl)
    result.events.write_parquet(parquet)
    reference = plan_spans(result)

    async def replayed():
        replay = replay_trace(jsonl)
        await replay.run()
        return replay

    for source in (jsonl, str(parquet), result.events, result.records, asyncio.run(replayed())):
        assert plan_spans(source) == reference, type(source)


def test_the_otlp_json_file_holds_one_trace_per_run_and_is_reproducible(result, tmp_path: Path) -> None:
    other = run_team(team(3, max_rounds=2, seed=9))
    both = pl.concat([result.events, other.events])
    first = export_otel(both, path=tmp_path / "a" / "spans.json", start_ns=START)
    again = export_otel(both, path=tmp_path / "spans2.json", start_ns=START)
    lines = (tmp_path / "a" / "spans.json").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and first.traces == again.traces
    _, spans = exported(result)
    request = json.loads(lines[0])
    [resource] = request["resourceSpans"]
    [scope] = resource["scopeSpans"]
    written = scope["spans"]
    assert scope["scope"]["name"] == "llmteams_lab.export.otel" and len(written) == len(spans)
    assert {s["traceId"] for s in written} == {first.traces[result.run_id]}
    root = [s for s in written if "parentSpanId" not in s]
    assert len(root) == 1 and root[0]["name"] == spans[-1].name
    assert [s["name"] for s in written] == [s.name for s in spans]
    for mine, sdk in zip(written, spans):
        assert mine["startTimeUnixNano"] == str(sdk.start_time) and mine["kind"] == 1
        assert len(mine["events"]) == len(sdk.events)
        keys = {a["key"]: a["value"] for a in mine["attributes"]}
        assert keys.keys() == sdk.attributes.keys()
        if "gen_ai.usage.input_tokens" in keys:
            assert keys["gen_ai.usage.input_tokens"] == {"intValue": str(sdk.attributes["gen_ai.usage.input_tokens"])}
    again_lines = (tmp_path / "spans2.json").read_text(encoding="utf-8").splitlines()
    ids = [[(s["traceId"], s["spanId"]) for s in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]]
           for line in lines]
    assert ids == [[(s["traceId"], s["spanId"]) for s in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]
                    ["spans"]] for line in again_lines], "same log, same start: same ids"


class OtlpReceiver:
    """An OTLP/HTTP traces receiver on 127.0.0.1 that decodes what it is sent."""

    def __init__(self, status: int = 200):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.requests: list = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.requests.append((self.path, dict(self.headers), request))
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "OtlpReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_spans_reach_an_otlp_endpoint_over_http(result) -> None:
    with OtlpReceiver() as receiver:
        out = export_otel(result, endpoint=receiver.url, start_ns=START, headers={"x-ingest": "lesson"})
    spans = [span for _, _, request in receiver.requests for rs in request.resource_spans
             for ss in rs.scope_spans for span in ss.spans]
    assert receiver.requests[0][0] == "/v1/traces" and receiver.requests[0][1]["x-ingest"] == "lesson"
    assert len(spans) == out.spans and {s.trace_id.hex() for s in spans} == set(out.traces.values())
    calls = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert len(calls) == result.events.filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed"))).height
    attributes = {a.key: a.value for a in calls[0].attributes}
    assert attributes["gen_ai.operation.name"].string_value == "invoke_agent"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0


def test_a_refusing_endpoint_is_an_export_error_naming_it(result, caplog) -> None:
    with OtlpReceiver(status=400) as receiver, pytest.raises(ExportError) as err:
        export_otel(result, endpoint=receiver.url + "/v1/traces", timeout_s=2)
    assert receiver.url in str(err.value) and "did not accept" in str(err.value)
    assert isinstance(err.value, OSError)


KEY = "sk-otel-test-" + "Qx7" * 10


def test_an_openai_team_exports_model_usage_and_cost_and_never_its_key(monkeypatch) -> None:
    monkeypatch.setenv("LLMTEAMS_OTEL_KEY", KEY)
    plan = FaultPlan(seed=1)
    plan.add("rate_limit", times=1, retry_after_s=0.001)
    with serving(Server(profile(), api_key=KEY, faults=plan)) as (_, url):
        spec = openai_team(url, 3, max_rounds=2, endpoint={"model": "gpt-4o-mini", "api_key_env": "LLMTEAMS_OTEL_KEY"})
        result = run_team(spec)
    _, spans = exported(result)
    check_against_frame(spans, result.events)
    calls = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert {s.attributes["gen_ai.request.model"] for s in calls} == {"gpt-4o-mini"}
    assert {s.attributes["gen_ai.provider.name"] for s in calls} == {"openai"}
    assert all(s.attributes["llmteams.cost_usd"] > 0 for s in calls)
    run = [s for s in spans if s.parent is None][0]
    assert run.attributes["llmteams.cost_usd"] == pytest.approx(sum(s.attributes["llmteams.cost_usd"] for s in calls))
    assert any(e.name == "AgentRetried" for s in calls for e in s.events), "the 429 is on its call's span"
    text = json.dumps([[dict(s.attributes), [dict(e.attributes) for e in s.events]] for s in spans])
    assert KEY not in text and "LLMTEAMS_OTEL_KEY" in text  # the variable's name, never its value


def test_a_key_that_reached_a_text_is_redacted(result, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    leaked = result.events.with_columns(
        detail=pl.when(pl.col("kind") == "MessageSent").then(pl.lit(f"use {KEY} now")).otherwise(pl.col("detail")))
    _, spans = exported(leaked)
    text = json.dumps([[e.attributes.get("llmteams.detail") for e in s.events] for s in spans])
    assert KEY not in text and "use [redacted] now" in text


def test_the_papers_runs_carry_their_model_and_run_totals() -> None:
    if not (PAPER_DATA / "runs.parquet").is_file():
        pytest.skip(f"the paper's data is not at {PAPER_DATA}")
    from llmteams_lab.datasets import load_paper_dataset

    ds = load_paper_dataset(PAPER_DATA)
    rid = ds.runs.filter(pl.col("n_agents") == 3)["run_id"][0]
    events = ds.events.filter(pl.col("run_id") == rid)
    _, spans = exported(events)
    check_against_frame(spans, events)
    row = ds.run(rid)
    run = [s for s in spans if s.parent is None][0]
    assert run.attributes["gen_ai.usage.input_tokens"] == row["total_input_tokens"]
    assert run.attributes["llmteams.correct"] == row["success"]
    calls = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert {s.attributes["gen_ai.request.model"] for s in calls} == {row["model"]}
    assert not any("gen_ai.usage.input_tokens" in s.attributes for s in calls), "per-reply usage was not released"
    assert run.end_time == ns(row["wall_clock_seconds"])


@pytest.fixture
def live_events() -> Iterator[pl.DataFrame]:
    async def partial():
        async with Run(team(3, max_rounds=5, seed=2)) as run:
            await run.step()
            await run.step()
            return run

    yield events_of(asyncio.run(partial()))


def test_a_run_stopped_mid_way_exports_what_it_has(live_events) -> None:
    _, spans = exported(live_events)
    check_against_frame(spans, live_events)


def test_bad_input_gets_clear_errors(result, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ArgumentError, match="'endpoint' or path= or tracer_provider= must be given"):
        export_otel(result)
    with pytest.raises(ArgumentError, match="'endpoint' must be an http"):
        export_otel(result, endpoint="127.0.0.1:4318")
    with pytest.raises(ArgumentError, match="'tracer_provider' cannot be combined"):
        export_otel(result, tracer_provider=in_memory()[0], path=tmp_path / "x.json")
    with pytest.raises(ArgumentError, match="'source' must be a Run"):
        export_otel(42, path=tmp_path / "x.json")
    with pytest.raises(ArgumentError, match="'start_ns' must be Unix nanoseconds"):
        export_otel(result, path=tmp_path / "x.json", start_ns=-1)
    with pytest.raises(DatasetError, match="lacks columns"):
        export_otel(pl.DataFrame({"kind": ["RunStarted"]}), path=tmp_path / "x.json")
    with pytest.raises(DatasetError, match="no events file"):
        export_otel(tmp_path / "missing.jsonl", path=tmp_path / "x.json")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(ExportError, match="could not write the spans to"):
        export_otel(result, path=tmp_path / "dir.json")


def test_without_the_extra_the_error_names_the_pip_command(result, tmp_path: Path, monkeypatch) -> None:
    import llmteams_lab.export

    monkeypatch.delitem(sys.modules, "llmteams_lab.export.otel_sdk", raising=False)
    monkeypatch.delattr(llmteams_lab.export, "otel_sdk", raising=False)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'llmteams-lab\[otel\]'") as err:
        export_otel(result, path=tmp_path / "x.json")
    assert isinstance(err.value, ImportError)
