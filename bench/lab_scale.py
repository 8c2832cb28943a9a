"""What a user feels with a big team in the lab: Step and a click on an agent (issue 17).

A complete team of N agents (default 1,000: 999,000 messages a round, which the lab logs per
round) in a real JupyterLab driven by headless Chromium. Measured from the driver, so it
includes the round trip through the browser and the kernel:

* step_s   from the click on Step until the page's graph shows the new round;
* click_s  from a click on an agent's point on the canvas until the fault panel names it.

Each is repeated ``--repeats`` times in one page; the median and the worst are reported.
Targets: both within 1 s.

    python bench/lab_scale.py [--agents 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.jlab import JupyterLab, chromium, open_and_run_all, wait_idle  # noqa: E402


def point(page, agents: int, i: int) -> tuple[float, float]:
    """Where agent ``i`` is drawn on the page's canvas."""
    from llmteams_lab import team
    from llmteams_lab.ui.graph import layout_positions

    box = page.locator(".ltl-canvas").bounding_box()
    lay = json.loads(page.locator(".ltl-canvas").get_attribute("data-layout"))
    x, y = layout_positions(team(agents))[i]
    scale = min(box["width"] / lay["W"], box["height"] / lay["H"])
    ox, oy = (box["width"] - lay["W"] * scale) / 2, (box["height"] - lay["H"] * scale) / 2
    return (box["x"] + ox + (lay["X0"] + x * lay["SIDE"]) * scale,
            box["y"] + oy + (lay["Y0"] + y * lay["SIDE"]) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    steps, clicks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "root").mkdir()
        with JupyterLab(work) as lab, chromium(width=1400, height=1000) as page:
            name = lab.write("scale.ipynb", "from llmteams_lab import team\nfrom llmteams_lab.ui import Lab\n"
                             f"lab = Lab(team({args.agents}, seed=1, max_rounds=1000).replace("
                             "protocol={'kind': 'debate', 'stop_at_consensus': False})); lab")
            open_and_run_all(page, lab, name)
            wait_idle(page)
            page.wait_for_selector(".ltl-graph canvas", timeout=60_000)
            for r in range(1, args.repeats + 1):
                started = time.perf_counter()
                page.click(".ltl-step")
                page.wait_for_function(f"() => document.querySelector('.ltl-graph').dataset.round === '{r}'",
                                       timeout=30_000, polling="raf")
                steps.append(time.perf_counter() - started)
                page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'idle'")
                agent = (37 * r) % args.agents
                started = time.perf_counter()
                page.mouse.click(*point(page, args.agents, agent))
                page.wait_for_selector(f".ltl-fault-panel >> text=Agent a{agent}", timeout=30_000)
                clicks.append(time.perf_counter() - started)
    report = {"benchmark": "lab_scale", "agents": args.agents, "topology": "complete",
              "step_s": {"median": round(statistics.median(steps), 3), "max": round(max(steps), 3)},
              "click_s": {"median": round(statistics.median(clicks), 3), "max": round(max(clicks), 3)},
              "target_s": 1.0, "met": max(steps) <= 1.0 and max(clicks) <= 1.0,
              "date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(),
              "load_average_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
