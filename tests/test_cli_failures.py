"""Every bad invocation of the command line: one line on stderr, exit 2 (usage) or 1
(runtime), never a traceback — each run in a subprocess, as a user would; and Ctrl-C
(exit 130 with the log flushed), SIGKILL (the log keeps every finished round) and
``--resume`` (the run finishes as if never interrupted, without asking the model twice)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from llmteams_lab.cli import _parser
from llmteams_lab.datasets import read_events
from llmteams_lab.serve import Background, Server
from tests.serve.servers import profile
from tests.support import ROOT

TEAM = "seed = 1\nsize = 4\n[protocol]\nstop_at_consensus = false\n[budgets]\nmax_rounds = 3\n"


def cli(*args: str, timeout: float = 60, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmteams_lab.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **popen)


def fails(proc: subprocess.CompletedProcess, status: int, *said: str) -> str:
    """The one stderr line of a failed invocation (its status and words checked)."""
    assert proc.returncode == status, (proc.returncode, proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmteams-lab: error: "), proc.stderr
    for words in said:
        assert words in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def spec_file(tmp_path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(TEAM, encoding="utf-8")
    return path


@pytest.mark.parametrize(("content", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "'spec' must be a UTF-8 text file"),                    # binary
    (TEAM.encode("utf-16"), "'spec' must be a UTF-8 text file"),                                      # UTF-16
    (b"seed = " + b"7" * 5_000 + b"\nsize = 2\n", "must be valid TOML: Exceeds the limit"),           # huge int
    (b"x = " + b"[" * 5_000 + b"]" * 5_000 + b"\n", "brackets nest more than 16 deep"),               # deep TOML
    (b"a" + b".a" * 100_000 + b" = 1\n", "a dotted key has more than 64 parts"),                      # quadratic
    (b"size = 2\n[agent]\npersona = \"" + b"x" * 1_000_000 + b"\"\ncompetence = 7\n", "(got 7)"),      # 1 MB value
], ids=["binary", "utf-16", "huge-int", "deep-toml", "dotted-key", "megabyte-string"])
def test_bad_spec_files_are_one_line_and_exit_2(tmp_path, content, words) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    line = fails(cli("run", str(path), "--out", str(tmp_path / "out")), 2, words)
    assert len(line) < 600 and not (tmp_path / "out" / "events.jsonl").exists()


def test_a_deeply_nested_json_spec_is_one_line(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"size": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    fails(cli("run", str(path), "--out", str(tmp_path / "out")), 2, "'<json>' must not nest")


def test_out_must_be_a_writable_directory(tmp_path, spec_file) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me", encoding="utf-8")
    fails(cli("run", str(spec_file), "--out", str(a_file)), 2, "'--out' must be a directory, not a file")
    assert a_file.read_text(encoding="utf-8") == "keep me"
    fails(cli("run", str(spec_file), "--out", str(a_file / "sub")), 2, "'--out' must be a directory this process "
          "can write to (Not a directory)")
    fails(cli("run", str(spec_file), "--out", "/proc/llmteams-lab-out"), 2, "'--out' must be a directory this "
          "process can write to")


@pytest.mark.parametrize(("args", "status", "words"), [
    (["run", "team.toml"], 2, "the following arguments are required: --out"),
    (["run", "team.toml", "--out", "o", "--rounds", "1" * 5_000], 2, "argument --rounds: invalid int value"),
    (["run", "team.toml", "--out", "o", "--seed", "-1"], 2, "'seed' must be an integer >= 0 (got -1)"),
    (["run", "team.toml", "--out", "o", "--resume", "--force"], 2, "not allowed with argument"),
    (["serve", "--port", "99999"], 2, "argument --port: must be an integer in [0, 65535] (got 99999)"),
    (["serve", "--host", "0.0.0.0"], 2, "'--host' is reachable from other machines; pass --allow-remote"),
    (["serve", "--host", "0.0.0.0", "--allow-remote"], 2, "'--allow-remote' needs --api-key-env"),
    (["proxy", "--upstream", "http://127.0.0.1:9/v1", "--host", "10.1.2.3"], 2, "'--host' is reachable"),
    (["serve", "--latency", "nan"], 2, "'latency_s' must be a number >= 0 (got nan)"),
    (["serve", "--max-body-bytes", "0"], 2, "max_body_bytes must be a positive integer"),
    (["nonsense"], 2, "invalid choice: 'nonsense'"),
], ids=["no-out", "huge-rounds", "negative-seed", "resume-and-force", "port-99999", "remote-host", "remote-no-key",
        "proxy-remote", "nan-latency", "zero-body-limit", "unknown-command"])
def test_bad_invocations_are_one_line(tmp_path, spec_file, args, status, words) -> None:
    argv = [str(spec_file) if a == "team.toml" else str(tmp_path / a) if a == "o" else a for a in args]
    fails(cli(*argv), status, words)


def test_a_port_already_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fails(cli("serve", "--port", str(port)), 2, f"cannot listen on 127.0.0.1:{port}: the port is already in use")


def test_version_and_help_texts_for_every_option() -> None:
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("llmteams-lab 0.") and version.stderr == ""
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) >= {"run", "demo", "serve", "proxy"}
    for name, command in [("llmteams-lab", parser), *commands.items()]:
        options = [a for a in command._actions if a.option_strings]
        undocumented = [a.option_strings for a in options if not a.help]
        assert options and not undocumented, (name, undocumented)
    assert "--resume" in cli("run", "--help").stdout


def test_an_unreachable_endpoint_stops_the_run_with_a_clear_error_and_exit_1(tmp_path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    spec = tmp_path / "team.toml"
    spec.write_text(TEAM + f"[agent]\nbackend = \"openai\"\n[endpoint]\nbase_url = \"http://127.0.0.1:{port}/v1\"\n"
                    "max_retries = 0\n", encoding="utf-8")
    started = time.monotonic()
    line = fails(cli("run", str(spec), "--out", str(tmp_path / "out")), 1, "round 1: every call failed to connect",
                 f"http://127.0.0.1:{port}/v1", "connection refused")
    assert time.monotonic() - started < 30, line
    events = read_events(tmp_path / "out" / "events.jsonl")
    failed = events.filter(pl.col("kind") == "AgentFailed")
    assert failed["fault"].unique().to_list() == ["connection"] and failed.height == 4
    assert events["kind"][-1] == "RunEnded" and events["detail"][-1] == "connection_failed"
    assert (tmp_path / "out" / "summary.csv").is_file() and (tmp_path / "out" / "events.parquet").is_file()


# --- interrupted runs: Ctrl-C, SIGKILL, --resume -----------------------------------------------
def slow_team(tmp_path: Path, url: str, rounds: int) -> Path:
    spec = tmp_path / "team.toml"
    spec.write_text(f"seed = 3\nsize = 3\n[agent]\nbackend = \"openai\"\n[protocol]\nstop_at_consensus = false\n"
                    f"[budgets]\nmax_rounds = {rounds}\n[endpoint]\nbase_url = \"{url}\"\n", encoding="utf-8")
    return spec


def start_run(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "llmteams_lab.cli", "run", str(spec), "--out", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rounds(jsonl: Path, rounds: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if jsonl.is_file() and jsonl.read_bytes().count(b'"kind":"RoundEnded"') >= rounds:
            return
        time.sleep(0.02)
    raise AssertionError(f"the run did not reach round {rounds}: {proc.poll()} {proc.stderr.read()[-500:]}")


def comparable(jsonl: Path) -> pl.DataFrame:
    """A log without the columns a second run against a real endpoint may change: the
    measured wall-clock times (see runtime.resume)."""
    return read_events(jsonl).drop("t_start", "t_end")


@pytest.mark.slow
def test_ctrl_c_exits_130_with_the_log_flushed_and_resume_finishes_it(tmp_path) -> None:
    server = Server(profile(latency_s=0.15))
    with Background(server) as url:
        spec, out = slow_team(tmp_path, url, 8), tmp_path / "out"
        proc = start_run(spec, out)
        wait_for_rounds(out / "events.jsonl", 2, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err
        assert "interrupted after round" in err and "--resume" in err
        log = read_events(out / "events.jsonl")
        assert log["kind"][-1] == "RunEnded" and log["detail"][-1] == "cancelled"
        assert read_events(out / "events.parquet").equals(log)  # parquet written on the way out
        assert (out / "summary.csv").is_file() and (out / "spec.toml").is_file()
        done = cli("run", str(spec), "--out", str(out), "--resume")
        assert done.returncode == 0, done.stderr
    final = read_events(out / "events.jsonl")
    assert final.filter(pl.col("kind") == "RoundEnded")["round"].to_list() == list(range(1, 9))
    assert final["seq"].to_list() == list(range(final.height)) and final["detail"][-1] == "max_rounds"
    assert final.filter(pl.col("kind") == "RunEnded").height == 1


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_log_without_asking_twice(tmp_path) -> None:
    server = Server(profile(latency_s=0.1))
    with Background(server) as url:
        spec = slow_team(tmp_path, url, 7)
        whole = cli("run", str(spec), "--out", str(tmp_path / "whole"))
        assert whole.returncode == 0, whole.stderr
        asked_for_whole = server.stats.requests
        out = tmp_path / "killed"
        proc = start_run(spec, out)
        wait_for_rounds(out / "events.jsonl", 3, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kept = read_events(out / "events.jsonl").filter(pl.col("kind") == "RoundEnded")["round"].max()
        before = server.stats.requests
        again = cli("run", str(spec), "--out", str(out))  # without --resume: refused, the log untouched
        fails(again, 2, "pass --resume to continue it or --force to overwrite it")
        resumed = cli("run", str(spec), "--out", str(out), "--resume")
        assert resumed.returncode == 0, resumed.stderr
        asked_again = server.stats.requests - before
    assert comparable(out / "events.jsonl").equals(comparable(tmp_path / "whole" / "events.jsonl"))
    assert read_events(out / "events.parquet").equals(read_events(out / "events.jsonl"))
    assert sorted(p.name for p in out.iterdir()) == ["events.jsonl", "events.parquet", "spec.toml", "summary.csv"]
    assert asked_again == 3 * (7 - kept) and asked_for_whole == 3 * 7  # finished rounds were not asked again


def test_resume_refuses_a_log_of_another_spec(tmp_path, spec_file) -> None:
    out = tmp_path / "out"
    assert cli("run", str(spec_file), "--out", str(out)).returncode == 0
    fails(cli("run", str(spec_file), "--out", str(out), "--resume", "--seed", "9"), 2,
          "'--resume' cannot continue", "was written by another spec")
    assert os.path.getsize(out / "events.jsonl") > 0


def test_serve_stops_on_ctrl_c_with_exit_0_and_no_traceback() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "llmteams_lab.cli", "serve", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout.readline().startswith("serving simulated agents on http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0 and err.strip() == "llmteams-lab: stopped"  # Ctrl-C is how a server stops


def test_resuming_a_finished_run_changes_nothing_but_rewrites_its_outputs(tmp_path, spec_file) -> None:
    out = tmp_path / "out"
    assert cli("run", str(spec_file), "--out", str(out)).returncode == 0
    before = (out / "events.jsonl").read_bytes()
    (out / "summary.csv").unlink()
    (out / "events.parquet").unlink()
    again = cli("run", str(spec_file), "--out", str(out), "--resume")
    assert again.returncode == 0 and again.stderr == ""
    assert (out / "events.jsonl").read_bytes() == before
    assert read_events(out / "events.parquet").equals(read_events(out / "events.jsonl"))
    assert (out / "summary.csv").is_file() and "max_rounds after 3 round(s)" in again.stdout
