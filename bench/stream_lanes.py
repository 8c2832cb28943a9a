"""Many streams' first draws at once (``llmteams_lab.stream_lanes``) vs numpy one stream at a time.

A lockstep sweep of 1,000 runs × 20 rounds starts 20,000 streams ``PCG64([seed, round,
stream])`` and draws 30 uniforms then 20 normals from each (a 10-agent team's round).
Measured in the same run: ``lane_draws`` over all lanes (their PCG64 states included),
and the loop it replaces — one numpy generator whose state is set per lane (the state
dict reused, ``random(out=)``, ``standard_normal(out=)``), with the lanes' ``(state, inc)``
made beforehand by ``streams.pcg_state`` (timed apart: the loop's total is both). Both
give the same numbers (checked here too). Best of ``--repeats``, wall and CPU seconds,
µs per lane; the load average when each row ended. Prints JSON.

    python bench/stream_lanes.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
from _timing import emit

from llmteams_lab.stream_lanes import lane_draws
from llmteams_lab.streams import pcg_state, seed_words

UNIFORMS, NORMALS, STREAM = 30, 20, 0x51A7


def lane_words(lanes: int) -> np.ndarray:
    """Seed words of runs (seeds 0, 1, ...) × rounds 1-20: ``lanes`` streams."""
    runs = -(-lanes // 20)
    seeds, rounds = np.repeat(np.arange(runs), 20)[:lanes], np.tile(np.arange(1, 21), runs)[:lanes]
    entropy = np.stack([seeds, rounds, np.full(lanes, STREAM)]).astype(np.uint32)
    return seed_words(entropy).T.copy()


def numpy_loop(states: list[tuple[int, int]], u: np.ndarray, z: np.ndarray) -> None:
    bits = np.random.PCG64(0)
    generator = np.random.Generator(bits)
    state = {"bit_generator": "PCG64", "state": {"state": 0, "inc": 1}, "has_uint32": 0, "uinteger": 0}
    inner = state["state"]
    for lane, (s, inc) in enumerate(states):
        inner["state"], inner["inc"] = s, inc
        bits.state = state
        generator.random(out=u[lane])
        generator.standard_normal(out=z[lane])


def best(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` (wall, CPU) seconds."""
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def measure(lanes: int, repeats: int) -> dict:
    words = lane_words(lanes)
    lane_draws(words[:1], UNIFORMS, NORMALS)  # first use: the ziggurat tables read off numpy
    u, z = np.empty((lanes, UNIFORMS)), np.empty((lanes, NORMALS))
    rows = words.tolist()
    states = [pcg_state(row) for row in rows]
    numpy_loop(states, u, z)
    got_u, got_z = lane_draws(words, UNIFORMS, NORMALS)
    assert np.array_equal(got_u, u) and np.array_equal(got_z, z), "lane_draws differs from numpy"
    lanes_wall, lanes_cpu = best(lambda: lane_draws(words, UNIFORMS, NORMALS), repeats)
    loop_wall, loop_cpu = best(lambda: numpy_loop(states, u, z), repeats)
    _, state_cpu = best(lambda: [pcg_state(row) for row in rows], repeats)
    per_lane = 1e6 / lanes
    return {
        "lanes": lanes, "uniforms": UNIFORMS, "normals": NORMALS, "repeats": repeats,
        "lane_draws": {"seconds": round(lanes_wall, 5), "cpu_seconds": round(lanes_cpu, 5),
                       "cpu_us_per_lane": round(lanes_cpu * per_lane, 3)},
        "numpy_loop": {"seconds": round(loop_wall, 5), "cpu_seconds": round(loop_cpu, 5),
                       "cpu_us_per_lane": round(loop_cpu * per_lane, 3)},
        "pcg_state": {"cpu_seconds": round(state_cpu, 5), "cpu_us_per_lane": round(state_cpu * per_lane, 3)},
        "speedup_vs_loop_cpu": round(loop_cpu / lanes_cpu, 2),
        "speedup_vs_loop_and_pcg_state_cpu": round((loop_cpu + state_cpu) / lanes_cpu, 2),
        "lanes_finished_by_numpy": finished_by_numpy(words),
        "load_average": os.getloadavg()[0],
    }


def finished_by_numpy(words: np.ndarray) -> float:
    """The share of lanes with a normal numpy draws from more than one output (``lane_draws``
    leaves such a lane's normals, from that one on, to numpy): numpy's own account, from
    the outputs it consumed."""
    bits, slow = np.random.PCG64(0), 0
    generator = np.random.Generator(bits)
    for row in words.tolist():
        state, inc = pcg_state(row)
        bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc}, "has_uint32": 0, "uinteger": 0}
        generator.random(UNIFORMS)
        generator.standard_normal(NORMALS)
        after = bits.state["state"]["state"]
        bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc}, "has_uint32": 0, "uinteger": 0}
        bits.advance(UNIFORMS + NORMALS)
        slow += after != bits.state["state"]["state"]
    return round(slow / len(words), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs of each (default 5)")
    args = parser.parse_args()
    rows = [measure(lanes, args.repeats) for lanes in (20_000, 1_000)]
    for row in rows:
        row["utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    emit("stream_lanes", rows)


if __name__ == "__main__":
    main()
