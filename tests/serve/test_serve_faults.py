"""Fault plans (shared by serve and proxy), and ``llmteams-lab serve`` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from llmteams_lab.cli import main
from llmteams_lab.errors import SpecError
from llmteams_lab.serve import FaultPlan, FaultRule

ROOT = Path(__file__).resolve().parents[2]


def test_scheduled_rules_skip_then_fire_a_number_of_times_for_their_target() -> None:
    plan = FaultPlan([{"kind": "rate_limit", "agent": "a1", "after": 1, "times": 2}])
    fired = [plan.pick(f"body{i}".encode(), agent) for i, agent in enumerate(["a1", "a0", "a1", "a1", "a1", "a1"])]
    assert [f.kind if f else None for f in fired] == [None, None, "rate_limit", "rate_limit", None, None]
    assert plan.fired == {"rate_limit": 2}


def test_rules_can_target_a_round_and_the_first_matching_rule_wins() -> None:
    plan = FaultPlan()
    plan.add("server_error", round=2, times=None)
    plan.add("slow_reply", times=None, wait_s=0.1)
    assert plan.pick(b"x", "a0", 1).kind == "slow_reply"
    assert plan.pick(b"y", "a0", 2).kind == "server_error"


def test_probabilities_follow_the_request_body_not_the_arrival_order() -> None:
    bodies = [f"request {i}".encode() for i in range(200)]
    forward = FaultPlan([FaultRule("reset", probability=0.3, times=None)], seed=7)
    backward = FaultPlan([FaultRule("reset", probability=0.3, times=None)], seed=7)
    a = [forward.pick(b) is not None for b in bodies]
    b = [backward.pick(x) is not None for x in reversed(bodies)][::-1]
    assert a == b and 40 < sum(a) < 80
    retry = [forward.pick(b) is not None for b in bodies]  # the same bodies again: fresh draws
    assert retry != a
    other_seed = FaultPlan([FaultRule("reset", probability=0.3, times=None)], seed=8)
    assert [other_seed.pick(b) is not None for b in bodies] != a


def test_structured_only_faults_ignore_plain_requests() -> None:
    plan = FaultPlan([FaultRule("reject_structured", times=None)])
    assert plan.pick(b"a", structured=False) is None and plan.pick(b"b", structured=True) is not None


@pytest.mark.parametrize(("rule", "error"), [
    ({"kind": "gremlins"}, "'kind' must be one of"),
    ({"kind": "slow_reply", "probability": 1.5}, "'probability' must be in [0, 1] (got 1.5)"),
    ({"kind": "server_error", "status": 200}, "'status' must be an HTTP error status 400..599 (got 200)"),
    ({"kind": "slow_reply", "when": "now"}, "'when' is not a fault rule field"),
    ({"kind": "slow_reply", "times": -1}, "'times' must be an integer >= 0 or None (got -1)"),
])
def test_bad_rules_are_refused_with_the_field_named(rule, error) -> None:
    with pytest.raises(ValueError) as err:
        FaultPlan([rule])
    assert error in str(err.value)


def test_the_serve_command_prints_its_url_and_answers(tmp_path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text('[[faults]]\nkind = "server_error"\nstatus = 502\n')
    proc = subprocess.Popen([sys.executable, "-m", "llmteams_lab.cli", "serve", "--port", "0", "--latency", "0.001",
                             "--faults", str(faults)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving simulated agents on http://127.0.0.1:")
        url = line.split(" on ")[1].strip()
        with urllib.request.urlopen(url + "/models", timeout=10) as response:
            assert b'"llmteams-sim"' in response.read()
        request = urllib.request.Request(url + "/chat/completions", method="POST",
                                         data=b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        err.value.close()
        assert err.value.code == 502
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize(("argv", "error"), [
    (["serve", "--competence", "1.5"], "'competence' must be in [0, 1] (got 1.5)"),
    (["serve", "--rate-limit", "2"], "'--rate-limit' must be a probability in [0, 1] (got 2.0)"),
    (["serve", "--api-key-env", "LLMTEAMS_UNSET_VARIABLE"], "'--api-key-env' must name a set environment variable"),
    (["proxy", "--upstream", "ftp://example.com"], "'upstream' must be an http(s) URL"),
    (["serve", "--faults", "missing.toml"], "'--faults' must be an existing TOML file"),
    (["serve", "--provider-rpm", "-60"], "'--provider-rpm' must be a number in (0, 1e9] (got -60.0)"),
    (["proxy", "--upstream", "http://127.0.0.1:9/v1", "--provider-rpm", "60", "--provider-burst-s", "0"],
     "'--provider-burst-s' must be a number in (0, 1e9] (got 0.0)"),
])
def test_bad_command_lines_exit_2_with_the_flag_named(capsys, argv, error) -> None:
    assert main(argv) == 2
    assert error in capsys.readouterr().err


def test_a_providers_rate_limit_refuses_requests_beyond_its_bucket_and_says_when_to_retry() -> None:
    plan = FaultPlan([FaultRule("rate_limit", rpm=60, burst_s=2.0)])  # a bucket of two, one a second
    assert plan.pick(b"a") is None and plan.pick(b"b") is None
    refused = plan.pick(b"c")
    assert refused is not None and refused.kind == "rate_limit" and 0 < refused.retry_after_s <= 1.0
    assert plan.fired["rate_limit"] == 1
    plan.clear()
    plan.add("rate_limit", rpm=60, burst_s=2.0)
    assert plan.pick(b"d") is None  # a fresh bucket


@pytest.mark.parametrize(("fields", "message"), [
    ({"kind": "server_error", "rpm": 60}, "'rpm' is a provider's limit: only for kind 'rate_limit' (got kind "
                                          "'server_error') (got 60)"),
    ({"kind": "rate_limit", "rpm": -5}, "'rpm' must be a number in (0, 1e9] (got -5)"),
    ({"kind": "rate_limit", "rpm": 60, "burst_s": 0}, "'burst_s' must be a number in (0, 1e9] (got 0)"),
])
def test_bad_provider_limits_name_the_field(fields: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        FaultRule.from_dict(fields)
    assert str(err.value) == message


def test_the_provider_flags_add_a_providers_rate_limit() -> None:
    import argparse

    from llmteams_lab.serve.cli import add_fault_arguments, fault_plan

    parser = argparse.ArgumentParser()
    add_fault_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    plan = fault_plan(parser.parse_args(["--provider-rpm", "120", "--provider-burst-s", "1"]))
    assert plan.rules == (FaultRule("rate_limit", rpm=120.0, burst_s=1.0),)
    assert plan.pick(b"a") is None and plan.pick(b"b") is None and plan.pick(b"c").kind == "rate_limit"
    assert fault_plan(parser.parse_args([])).rules == ()
