"""What the lab's live space-time diagram costs the kernel on an asynchronous team (issue 11).

For complete asynchronous debate teams of N agents (per-message logging, 0.1 s links with
jitter, a 1 s slice), each repeat builds a fresh lab controller and steps ``--slices``
slices twice: once bare (the controller: engine + history) and once with a
:class:`~llmteams_lab.ui.spacetime_view.SpacetimeView` following it, redrawn after every
slice as on Step (forced: the throttle that applies while playing is not used). Reported,
best of ``--repeats`` (CPU seconds of this process, steadier than wall time on a shared
machine):

* step_ms / step_with_view_ms   per slice, without and with the view;
* view_share                    the view's part of a slice with it;
* refresh_ms                    one redraw at the end (frame → figure → JSON for the page);
* figure_kb, arrows             what that redraw sends to the browser.

    python bench/lab_async.py [--agents 6 16 64] [--slices 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmteams_lab import team  # noqa: E402
from llmteams_lab.ui.controller import LabController  # noqa: E402
from llmteams_lab.ui.spacetime_view import SpacetimeView  # noqa: E402


def spec_of(n: int):
    return team(n, protocol="debate", competence=0.5, conformity=0.5, seed=1, max_rounds=1000).replace(
        execution="asynchronous", protocol={"kind": "debate", "stop_at_consensus": False},
        network={"delay_s": 0.1, "jitter": 0.3, "tick_s": 1.0})


async def slices(n: int, count: int, view: bool) -> tuple[float, SpacetimeView | None]:
    ctl = LabController(spec_of(n))
    st = SpacetimeView(ctl) if view else None
    cpu = time.process_time()
    for _ in range(count):
        await ctl.step()
    return time.process_time() - cpu, st


def measure(n: int, count: int, repeats: int) -> dict:
    bare = min(asyncio.run(slices(n, count, False))[0] for _ in range(repeats))
    best, view = None, None
    for _ in range(repeats):
        seconds, st = asyncio.run(slices(n, count, True))
        if best is None or seconds < best:
            best, view = seconds, st
    cpu = time.process_time()
    view.refresh(force=True)
    refresh = time.process_time() - cpu
    figure = view.plot.figure
    arrows = sum(len(t.get("customdata") or []) for t in figure["data"]
                 if (t.get("marker") or {}).get("symbol") == "triangle-right")
    return {"agents": n, "slices": count, "events": len(view.controller.run.events),
            "step_ms": round(1000 * bare / count, 2), "step_with_view_ms": round(1000 * best / count, 2),
            "view_share": round(1 - bare / best, 3), "refresh_ms": round(1000 * refresh, 2),
            "figure_kb": round(len(json.dumps(figure)) / 1024, 1), "arrows": arrows, "window": view.window}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[6, 16, 64])
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(n, args.slices, args.repeats) for n in args.agents]
    print(json.dumps({"machine": f"{platform.machine()} Python {platform.python_version()}", "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
