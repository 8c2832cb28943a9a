"""The engine from 10 to 2,000 agents (issue 18, part 8): each figure beside a reference
measured in the same run. Prints JSON.

* ``n1000_complete_run``: a whole 10-round debate of 1,000 agents on a complete graph
  with aggregated logging, team built and run (target ≤ 0.2 s); reference: the same run
  with the network built from the spec's arc pairs (``TeamSpec.arcs``), as before arcs
  became arrays.
* ``voter_vs_mesa``: seconds per agent-step of a 10-agent debate (simulated agents, many
  rounds, per-message and aggregated logging) against Mesa's voter model (each agent
  copies a random other agent's opinion; Mesa 3's ``AgentSet.shuffle_do``) in the same
  run — target: at least as fast as Mesa. Needs ``pip install mesa`` (the ``bench``
  extra); without it the row says so. ``stream_seeding_us``: what seeding each round's
  random stream costs per agent-step — ``PCG64(SeedSequence([seed, round, stream]))``,
  the simulated agents' per-round stream that makes forks and replays exact, as they
  seed it (``llmteams_lab.streams``, in blocks of rounds) and one at a time by numpy
  (``..._numpy_us``): a floor under our agent-step. ``ours_lockstep_us``: the same
  design's agent-step when a batch of 1,000 seeds runs in lockstep
  (``experiments.lockstep``, what a sweep does with it: the same rows as the engine).
* ``jsonl``: events per second written to JSONL by ``JsonlSink`` (columnar: per-kind
  templates formatted by polars and written by its CSV writer) for
  a 200-agent all-to-all run's log, against one ``Event.to_json`` per event (target
  ≥ 1 M events/s).
* ``memory_per_event``: bytes the columnar store keeps per event of that log (target
  ≤ 100 B).

    python bench/engine_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import emit, full_budget

from llmteams_lab import Run, run_sync, team
from llmteams_lab.experiments.lockstep import lockstep_refusal, lockstep_rows
from llmteams_lab.runtime.network import Network
from llmteams_lab.runtime.sinks import JsonlSink
from llmteams_lab.streams import RoundStreams


def _best(fn, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of ``repeats`` calls."""
    best = None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        got = (time.perf_counter() - t, time.process_time() - c)
        best = got if best is None or got[0] < best[0] else best
    return best


def n1000_complete_run(repeats: int) -> dict:
    def build():
        return team(1000, topology="complete", protocol="debate", logging="rounds", max_rounds=10,
                    competence=0.4, conformity=0.3, seed=1)

    def arrays():
        result = run_sync(full_budget(build()))
        assert result.rounds == 10

    def pairs():  # the reference: the network from a tuple per arc
        spec = full_budget(build())
        run = Run(spec)
        run.network = Network(spec.ids, spec.arcs(), len(run.workload.options), run.mode)

    wall, cpu = _best(arrays, repeats)
    ref_wall, ref_cpu = _best(pairs, max(1, repeats // 2))
    return {"what": "1,000 agents, complete, aggregated, 10 rounds, setup included", "seconds": round(wall, 4),
            "cpu_seconds": round(cpu, 4), "target_s": 0.2, "met": wall <= 0.2,
            "reference": "network setup alone from arc pairs", "reference_seconds": round(ref_wall, 4),
            "reference_cpu_seconds": round(ref_cpu, 4), "reference_over_whole_run": round(ref_wall / wall, 2)}


def _ours_per_agent_step(logging: str, rounds: int) -> float:
    spec = full_budget(team(10, topology="complete", protocol="debate", logging=logging, max_rounds=rounds,
                            competence=0.4, conformity=0.3, seed=2))

    async def go() -> float:
        run = Run(spec)
        t = time.perf_counter()
        await run.run()
        took = time.perf_counter() - t
        await run.aclose()
        return took

    return min(asyncio.run(go()) for _ in range(3)) / (10 * rounds)


def _mesa_per_agent_step(steps: int) -> float | None:
    try:
        import mesa
    except ImportError:
        return None

    class Voter(mesa.Agent):
        def __init__(self, model, opinion: int):
            super().__init__(model)
            self.opinion = opinion

        def step(self) -> None:
            other = self.random.choice(self.model.voters)
            if other is not self:
                self.opinion = other.opinion

    class VoterModel(mesa.Model):
        def __init__(self, n: int, seed: int):
            super().__init__(seed=seed)
            self.voters = [Voter(self, random.Random(seed + i).randrange(4)) for i in range(n)]

        def step(self) -> None:
            self.agents.shuffle_do("step")

    def go() -> float:
        model = VoterModel(10, 2)
        t = time.perf_counter()
        for _ in range(steps):
            model.step()
        return time.perf_counter() - t

    return min(go() for _ in range(3)) / (10 * steps)


def _stream_seeding_per_agent_step(rounds: int, blocks: bool) -> float:
    """Seconds per agent-step (10 agents) of seeding each round's stream, nothing else:
    as the simulated agents do (``blocks``) or one round at a time by numpy."""
    def go() -> float:
        t = time.perf_counter()
        if blocks:
            streams = RoundStreams((2,), (0x51A7,), rounds)
            for r in range(1, rounds + 1):
                streams.generator(r)
        else:
            for r in range(1, rounds + 1):
                np.random.Generator(np.random.PCG64([2, r, 0x51A7]))
        return time.perf_counter() - t

    return min(go() for _ in range(3)) / (10 * rounds)


def voter_vs_mesa(rounds: int) -> dict:
    mesa_s = _mesa_per_agent_step(rounds)
    row = {"what": "10 agents, per agent-step (one agent answering in one round)", "rounds": rounds,
           "mesa_voter_us": round(mesa_s * 1e6, 3) if mesa_s else "mesa not installed (pip install mesa)",
           "stream_seeding_us": round(_stream_seeding_per_agent_step(rounds, True) * 1e6, 3),
           "stream_seeding_numpy_us": round(_stream_seeding_per_agent_step(rounds, False) * 1e6, 3)}
    for logging in ("messages", "rounds"):
        ours = _ours_per_agent_step(logging, rounds)
        row[f"ours_{logging}_us"] = round(ours * 1e6, 3)
        if mesa_s:
            row[f"ours_{logging}_over_mesa"] = round(ours / mesa_s, 2)
    lockstep = _lockstep_per_agent_step(seeds=1_000, rounds=20)
    row["ours_lockstep_us"] = round(lockstep * 1e6, 3)
    row["lockstep"] = "1,000 seeds of the same design (20 rounds each) at once, as a sweep runs them"
    if mesa_s:
        row["ours_lockstep_over_mesa"] = round(lockstep / mesa_s, 2)
        row["met_single_run"] = row["ours_rounds_over_mesa"] <= 1.0
        row["met_lockstep"] = row["ours_lockstep_over_mesa"] <= 1.0
    return row


def _lockstep_per_agent_step(seeds: int, rounds: int) -> float:
    """Seconds per agent-step of ``experiments.lockstep`` (the sweep's path for a batch of
    seeds of a simulated debate): the same 10-agent design, rows included."""
    spec = full_budget(team(10, topology="complete", protocol="debate", max_rounds=rounds, competence=0.4,
                            conformity=0.3, seed=2))
    assert lockstep_refusal(spec) is None

    def go() -> float:
        t = time.perf_counter()
        lockstep_rows(spec, range(seeds))
        return time.perf_counter() - t

    return min(go() for _ in range(3)) / (10 * rounds * seeds)


def jsonl_and_memory(n: int, rounds: int) -> list[dict]:
    result = run_sync(full_budget(team(n, topology="complete", protocol="debate", logging="messages",
                                       max_rounds=rounds, competence=0.4, conformity=0.3, seed=3)))
    run = Run(full_budget(team(n, topology="complete", protocol="debate", logging="messages", max_rounds=rounds,
                               competence=0.4, conformity=0.3, seed=3)))
    asyncio.run(run.run())
    view = run.log.events
    count = len(view)
    with tempfile.TemporaryDirectory() as tmp:
        def columnar() -> None:
            (Path(tmp) / "a.jsonl").unlink(missing_ok=True)  # the sink appends
            sink = JsonlSink(Path(tmp) / "a.jsonl")
            sink.write(view)
            sink.close()

        def one_by_one() -> None:
            with open(Path(tmp) / "b.jsonl", "w", encoding="utf-8") as f:
                f.write("".join(e.to_json() + "\n" for e in result.records))

        wall, _ = _best(columnar, 3)
        ref, _ = _best(one_by_one, 1)
        same = (Path(tmp) / "a.jsonl").read_bytes() == (Path(tmp) / "b.jsonl").read_bytes()
    store = run.log.store
    asyncio.run(run.aclose())
    return [{"what": f"JSONL of a {n}-agent all-to-all log", "events": count, "seconds": round(wall, 4),
             "events_per_s": round(count / wall), "target_events_per_s": 1_000_000, "met": count / wall >= 1e6,
             "reference": "Event.to_json per event", "reference_events_per_s": round(count / ref),
             "speedup": round(ref / wall, 1), "same_bytes": same},
            {"what": "memory kept per event (columnar store)", "events": count,
             "bytes_per_event": round(store.nbytes() / count, 1), "target_bytes": 100,
             "met": store.nbytes() / count <= 100}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and rounds (smoke run)")
    args = parser.parse_args()
    rows = [n1000_complete_run(2 if args.quick else 5), voter_vs_mesa(200 if args.quick else 2000)]
    rows += jsonl_and_memory(80 if args.quick else 200, 5)
    emit("engine_scale", rows)


if __name__ == "__main__":
    main()
