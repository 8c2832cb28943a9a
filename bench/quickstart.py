"""How long the quickstart takes: lesson 01, headless and as a user sees it in the browser.

``kernel``: what the README's first command leads to, minus the browser — a new Python
kernel starts (as JupyterLab starts one when the notebook opens) and every cell runs
(imports, the lab built and displayed, two rounds stepped, a crash injected, the tables
computed): ``kernel_start_s``, ``cells_s``, ``total_s``.

``browser`` (``--browser``): the whole path a user waits through — JupyterLab starts
(``server_s``), headless Chromium opens the notebook until its kernel is idle (``open_s``),
*Run All* until the lab's graph and both live plots are drawn (``run_all_s``); ``total_s``
is the sum. JupyterLab is started as the browser tests start it (loopback, isolated dirs).

Each repeat uses a fresh kernel (and server); the OS file cache stays warm after the first
repeat, as it does for a user's second open.

    python bench/quickstart.py [--repeats 5] [--browser] [--notebook notebooks/01_quickstart.ipynb]

Prints one JSON object: median, best and worst of each figure, the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def once(path: Path) -> dict[str, float]:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    with client.setup_kernel():
        ready = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        done = time.perf_counter()
    return {"kernel_start_s": ready - started, "cells_s": done - ready, "total_s": done - started}


def in_browser(path: Path) -> dict[str, float]:
    from tests.browser.jlab import JupyterLab, chromium, open_and_run_all, wait_plots_drawn

    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        with JupyterLab(Path(work)) as lab:
            up = time.perf_counter()
            with chromium() as page:
                lab.add(path.name, path)
                opened = time.perf_counter()
                open_and_run_all(page, lab, path.name)  # returns once the kernel is idle
                idle = time.perf_counter()
                page.wait_for_selector(".ltl-graph .ltl-node", timeout=60_000)
                wait_plots_drawn(page, 2, timeout_ms=60_000)
                drawn = time.perf_counter()
    return {"server_s": up - started, "open_s": idle - opened, "run_all_s": drawn - idle,
            "total_s": (up - started) + (drawn - opened)}


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "best": round(min(values), 2),
            "worst": round(max(values), 2)}


def machine() -> dict[str, object]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="measure JupyterLab + Chromium too")
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "01_quickstart.ipynb")
    args = parser.parse_args()
    path = args.notebook.resolve()
    kernel = [once(path) for _ in range(args.repeats)]
    browser = [in_browser(path) for _ in range(args.repeats)] if args.browser else []
    print(json.dumps({
        "benchmark": "quickstart", "notebook": path.name, "repeats": args.repeats,
        "kernel": {key: summary([r[key] for r in kernel]) for key in ("total_s", "kernel_start_s", "cells_s")},
        **({"browser": {key: summary([r[key] for r in browser])
                        for key in ("total_s", "server_s", "open_s", "run_all_s")}} if browser else {}),
        "machine": machine(), "date": datetime.date.today().isoformat(),
    }, indent=2))


if __name__ == "__main__":
    main()
