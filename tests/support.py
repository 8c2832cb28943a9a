"""Helpers shared by the tests: scripted backends, canonical logs, the golden runs.

Why a module and not fixtures: golden specs are plain values that the golden test,
the determinism test (in a subprocess) and the regeneration flag all need by name.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any, Awaitable, Callable

from hypothesis import strategies as st

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import RateLimitedError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.spec import TeamSpec, commit_team, election_team, gossip_team


def aio(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test on a fresh event loop (no pytest async plugin needed;
    ``functools.wraps`` keeps the signature, so fixtures still work)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def run_all(spec: TeamSpec, backend: Any = None) -> tuple[Run, list]:
    """Run ``spec`` to its end on a fresh loop; the closed run and its events."""

    async def main() -> tuple[Run, list]:
        async with Run(spec, backends=backend) as run:
            await run.run()
            return run, list(run.events)

    return asyncio.run(main())


def checks_failed(events: list, properties: Any = None) -> list:
    """``(check, detail)`` of every property check that fails on ``events`` (``metrics.check_run``)."""
    from llmteams_lab.metrics import check_run, events_frame

    verdicts = check_run(events_frame(events), properties=properties)
    return verdicts.filter(~verdicts["ok"]).select("check", "detail").rows()


def agent_fault(draw: Callable, kind: str, ids: list[str], start: int, heal_within: int) -> dict | None:
    """A Hypothesis-drawn fault on the team ``ids`` from round ``start``: a ``crash`` or a
    ``crash_recover`` of one agent, or a ``partition`` healed within ``heal_within`` rounds
    (``None`` for other kinds, and for a partition of one agent)."""
    if kind == "crash":
        return {"kind": "crash", "agent": draw(st.sampled_from(ids)), "at_round": start}
    if kind == "crash_recover":
        return {"kind": "crash_recover", "agent": draw(st.sampled_from(ids)), "start_round": start,
                "end_round": start + draw(st.integers(1, 30))}
    if kind == "partition" and len(ids) > 1:
        cut = draw(st.integers(1, len(ids) - 1))
        return {"kind": "partition", "groups": [ids[:cut]], "at_round": start,
                "heal_round": start + draw(st.integers(1, heal_within))}
    return None


def of(events: list, kind: str, **match: Any) -> list:
    """The events of ``kind`` whose fields equal ``match``."""
    return [e for e in events if e.kind == kind and all(getattr(e, k) == v for k, v in match.items())]


def no_stop(spec: TeamSpec) -> TeamSpec:
    """The spec with ``stop_at_consensus`` off, so it runs its whole round budget."""
    return spec.replace(protocol=spec.protocol.replace(stop_at_consensus=False))


def flaky_script(request: AgentRequest) -> Any:
    """A scripted team: a2 is rate-limited in round 2; a3 answers the first option
    until it has heard two messages; everyone else answers the truth."""
    question = request.question
    assert question is not None
    if request.agent == "a2" and request.round == 2:
        return RateLimitedError("429 from the scripted server")
    if request.agent == "a3" and len(request.inbox) < 2:
        return AgentReply("a3", question.options[0], 0.4, "I am not sure.", 30 + len(request.inbox), 7, 0.5)
    return AgentReply(request.agent, question.answer, 0.9, f"{request.agent} says {question.answer}",
                      20 + 5 * len(request.inbox), 9, 0.1 * (1 + int(request.agent[1:])))


def _directed_edges_spec() -> TeamSpec:
    base = team(5, protocol="debate", task="arithmetic", options=5, competence=0.35, conformity=0.7,
                seed=9, max_rounds=6)
    edges = [["a0", "a1"], ["a1", "a2"], ["a2", "a3"], ["a3", "a4"], ["a4", "a0"], ["a0", "a2"]]
    return base.replace(topology={"kind": "edges", "edges": edges, "directed": True})


def _failing_saga() -> TeamSpec:
    steps = [{"name": "draft", "compensation": "withdraw the draft"},
             {"name": "review", "compensation": "retract the review"},
             {"name": "publish", "compensation": "unpublish", "fails": True}]
    return commit_team(steps, protocol="saga", seed=3, max_rounds=60)


# the coordination patterns (issue 12): one run of each, with the faults that make it interesting
COORDINATION_GOLDEN: dict[str, TeamSpec] = {
    "election_leader_crash": election_team(5, seed=0, max_rounds=80, decisions=2).replace(
        faults=[{"kind": "drop", "probability": 0.1}, {"kind": "crash", "agent": "a0", "at_round": 20}]),
    "election_sync_rounds": election_team(3, seed=1, max_rounds=40, decisions=1, execution="synchronous"),
    # the leader assigning work (issue 12 item 1): its first leader a0 crashes mid-project; the new leader
    # continues from the committed log and re-assigns the task it held itself
    "election_assign_leader_crash": election_team(3, seed=7, max_rounds=120, duty="assign",
                                                  work={"parallel_fraction": 0.5, "size": 6}).replace(
        faults=[{"kind": "drop", "probability": 0.1}, {"kind": "crash", "agent": "a0", "at_round": 33}]),
    "commit_two_phase_blocked": commit_team(3, protocol="two_phase", seed=2, timeout_s=10.0, max_rounds=120).replace(
        faults=[{"kind": "crash_recover", "agent": "a0", "start_round": 3, "end_round": 40}]),
    "commit_saga_compensation": _failing_saga(),
    "commit_primary_backup": commit_team(2, protocol="two_phase", backup=True, seed=3, timeout_s=8.0,
                                         max_rounds=60).replace(faults=[{"kind": "crash", "agent": "a1",
                                                                         "at_round": 1}]),
    "commit_n_version": commit_team(2, protocol="saga", replicas=3, failure_rate=0.3, seed=4, max_rounds=40,
                                    execution="synchronous"),
    "gossip_push_complete": gossip_team(24, seed=5),
    "gossip_push_pull_async": gossip_team(12, seed=6, mode="push_pull", fanout=2, topology="small_world",
                                          execution="asynchronous"),
}

# name -> (spec, backends factory or None). Each log is committed as tests/golden/<name>.jsonl.
GOLDEN: dict[str, tuple[TeamSpec, Any]] = {
    "debate_complete": (team(6, protocol="debate", competence=0.4, conformity=0.5, seed=4, max_rounds=8), None),
    "majority_ring": (team(5, topology="ring", protocol="majority", competence=0.5, seed=6), None),
    "weighted_complete": (team(5, protocol="weighted", competence=0.5, calibration=0.3, seed=3), None),
    "leader_star": (team(6, topology="star", protocol="leader", competence=0.5, seed=6), None),
    "quorum_small_world": (team(7, topology="small_world", protocol="quorum", competence=0.45,
                                conformity=0.4, seed=5, max_rounds=8), None),
    "debate_rounds_logging": (team(8, topology="ring", protocol="debate", logging="rounds", competence=0.4,
                                   seed=6, max_rounds=5), None),
    "debate_directed_arithmetic": (_directed_edges_spec(), None),
    "mock_flaky_tree": (no_stop(team(5, topology="tree", protocol="debate", backend="mock", seed=1,
                                     max_rounds=3)), lambda: MockBackend(flaky_script)),
    # asynchronous: link delays, a crash, message loss on a reliable network, a failure detector
    "async_debate_detector": (team(6, protocol="debate", competence=0.45, conformity=0.5, seed=7, max_rounds=8)
                              .replace(execution="asynchronous",
                                       network={"delay_s": 0.1, "jitter": 0.4, "reliable": True},
                                       detector={"timeout_s": 2.0},
                                       faults=[{"kind": "crash", "agent": "a2", "at_round": 2},
                                               {"kind": "drop", "probability": 0.15}]), None),
    # partially synchronous quorum: random fanout, bounded mailboxes (overflow drops)
    "async_quorum_mailboxes": (team(7, protocol="quorum", competence=0.4, conformity=0.6, seed=9, max_rounds=10,
                                    fanout=3).replace(execution="partially_synchronous",
                                                      network={"delay_s": 0.02, "jitter": 0.5, "mailbox": 2,
                                                               "gst_s": 2.0, "delta_s": 0.4}), None),
    **{name: (spec, None) for name, spec in COORDINATION_GOLDEN.items()},
}


def run_events(spec: TeamSpec, backends: Any = None, sinks=()) -> list:
    """Run ``spec`` to the end on a fresh event loop; return its typed events."""

    async def main() -> list:
        async with Run(spec, backends=backends, sinks=sinks) as run:
            await run.run()
            return list(run.events)

    return asyncio.run(main())


def golden_jsonl(name: str) -> str:
    """The canonical JSONL text of golden run ``name``, computed now."""
    spec, factory = GOLDEN[name]
    return events_to_jsonl(run_events(spec, factory() if factory else None))


ROOT = Path(__file__).resolve().parents[1]  # the project root (tests/ is one level below it)
PAPER_DATA = ROOT / ".." / "shared" / "data" / "paper-2603.12229"  # the paper's released runs, beside the project


def build_wheel(tmp_path: Path) -> Path:
    """A wheel built as pip builds it (isolated), from a copy of the project's sources."""
    import shutil
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("llmteams_lab", "widgets"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                           str(src)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return next((tmp_path / "dist").glob("*.whl"))
