"""The lab on the OpenAI backend: the same controller, over real loopback HTTP.

The endpoint is ``llmteams_lab.serve`` on 127.0.0.1 (an ephemeral port, stopped by the
test), answered through the real ``openai`` client — nothing is patched.
"""

from __future__ import annotations

import math

from llmteams_lab.ui import Lab
from tests.serve.servers import openai_team, serving
from tests.support import aio, no_stop
from tests.ui.helpers import until


@aio
async def test_steps_and_plays_an_openai_team_behind_the_same_controls():
    with serving(competence=0.9) as (server, url):
        lab = Lab(no_stop(openai_team(url, n=3, seed=2, max_rounds=3)), speed=math.inf)
        lab.controls.step.click()
        await until(lambda: lab.controller.round == 1 and not lab.controller.busy)
        replies = lab.events.filter(lab.events["kind"] == "AgentReplied")
        assert replies.height == 3 and lab.graph.round == 1
        assert all(a is not None for a in lab.graph.answers)
        assert "Messages of round 1" in lab.table.value
        lab.controls.play.click()
        await lab.wait()
        assert lab.controller.state == "finished" and lab.figures.rounds == [1, 2, 3]
        assert lab.errors.messages == [] and server.stats.requests == 9  # 3 agents x 3 rounds, over HTTP
        await lab.reset()  # closes the run's HTTP client before the next run opens its own
        assert lab.controller.round == 0


@aio
async def test_a_failing_endpoint_pauses_play_shows_the_error_and_keeps_the_events():
    with serving(competence=0.9) as (server, url):
        server.faults.add("server_error", round=2, times=None)
        spec = no_stop(openai_team(url, n=3, seed=2, max_rounds=6, endpoint={"max_retries": 0}))
        lab = Lab(spec, speed=math.inf)
        lab.controls.play.click()
        await lab.wait()
        assert lab.controller.round == 2 and lab.controller.state == "idle" and not lab.controller.run.done
        assert len(lab.errors.messages) == 1 and "server_error" in lab.errors.messages[0]
        kinds = lab.events["kind"].to_list()
        assert kinds.count("AgentFailed") == 3 and kinds.count("RoundEnded") == 2
        lab.controls.reset.click()
        await until(lambda: lab.controller.state == "idle" and lab.controller.round == 0)
        await lab.step()
        assert lab.controller.round == 1 and lab.events.filter(lab.events["kind"] == "AgentReplied").height == 3
        assert _key_filters()  # the open run's backend guards the SDK's loggers
        await lab.aclose()
        assert lab.controller.run.status == "closed" and not _key_filters()  # its client and filters are gone


@aio
async def test_an_unreachable_endpoint_stops_play_with_the_error_in_the_panel():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = no_stop(openai_team(f"http://127.0.0.1:{port}/v1", n=3, seed=2, max_rounds=6,
                               endpoint={"max_retries": 0}))
    lab = Lab(spec, speed=math.inf)
    lab.controls.play.click()
    await lab.wait()
    assert lab.controller.state == "error" and lab.controller.round == 1 and lab.controller.run.done
    assert len(lab.errors.messages) == 1
    message = lab.errors.messages[0]
    assert "every call failed to connect" in message and "connection refused" in message
    failed = lab.events.filter(lab.events["kind"] == "AgentFailed")
    assert failed["fault"].to_list() == ["connection"] * 3  # the round's events are kept and shown
    await lab.aclose()


@aio
async def test_an_asynchronous_openai_team_forks_from_a_past_slice_and_goes_on_in_real_time():
    with serving(competence=0.9) as (server, url):
        spec = no_stop(openai_team(url, n=3, seed=2, max_rounds=500)).replace(
            execution="asynchronous", network={"delay_s": 0.05, "tick_s": 0.2})
        # spacetime=False: under a pytest-xdist worker, a lab drawing the space-time view of a real-time
        # team never gets its openai calls to the server (they stay in flight; plain pytest is fine) — a
        # problem of the view, not of forks, reported to the lead
        lab = Lab(spec, speed=math.inf, spacetime=False)
        run = lab.controller.run
        while sum(e.kind == "AgentReplied" for e in run.events) < 6 and not run.done:  # real time: calls
            await lab.step()                                                             # return when they do
        assert not run.done, [(e.kind, e.agent, e.detail) for e in run.events if e.kind == "AgentFailed"][:3]
        k = lab.controller.round
        await lab.step()
        assert not lab.controls.fork.disabled
        await lab.fork(k)
        ctl = lab.controller
        assert ctl.round == k and ctl.run.execution.realtime and lab.errors.messages == []
        split, requests = ctl.run.clock, server.stats.requests
        while not any(e.kind == "AgentReplied" and e.t_start > split for e in ctl.run.events) and not ctl.run.done:
            await lab.step()  # a turn begun after the fork point: asked over HTTP
        assert not ctl.run.done and lab.errors.messages == [], (ctl.run.end_reason, lab.errors.messages)
        assert server.stats.requests > requests
        assert lab.errors.messages == [] and ctl.label == f"fork 1 @ slice {k}"
        await lab.reset()


def _key_filters() -> list:
    """The key filters an open openai backend keeps on the SDK's and transports' loggers."""
    import logging

    from llmteams_lab.backends.redaction import NAMESPACES, KeyFilter

    return [f for name in logging.root.manager.loggerDict if name.split(".")[0] in NAMESPACES
            for f in logging.getLogger(name).filters if isinstance(f, KeyFilter)]
