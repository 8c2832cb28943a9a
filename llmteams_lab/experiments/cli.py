"""``llmteams-lab sweep SWEEP.toml --out DIR``: a design sweep from the command line.

Rows stream to ``DIR`` (a parquet dataset) with a progress bar and ETA; running the
same command again resumes where it stopped. Before an LLM-backed sweep starts, its
worst-case tokens and dollars are printed; above ``--max-cost`` it runs only with
``--yes`` or, at a terminal, after you type ``y`` (standard input is never read
otherwise, so scripts and CI get a clear refusal instead of a hang).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from llmteams_lab.errors import ArgumentError, BudgetExceededError

__all__ = ["register"]


def register(extensions: list, handlers: dict) -> None:
    """Add the ``sweep`` subcommand to the CLI's registrars and handlers."""
    extensions.append(_add_parser)
    handlers["sweep"] = _run


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("sweep", help="run a design sweep (SWEEP.toml) into a resumable parquet dataset",
                       description="Run every design of SWEEP.toml's grid on its seeds; rows stream to --out "
                                   "and a second run resumes. Then: llmteams-lab report DIR -o report.html")
    p.add_argument("sweep", type=Path, help="SWEEP.toml (see llmteams_lab.experiments.config)")
    p.add_argument("--out", type=Path, required=True, help="directory of the results (parquet parts)")
    p.add_argument("--workers", type=int, help="worker processes (default: the file's, else 1)")
    p.add_argument("--executor", choices=("local", "ray"), help="override the file's executor")
    p.add_argument("--ray-address", help="join this Ray cluster (HOST:PORT, ray://HOST:PORT or auto)")
    p.add_argument("--max-cost", type=float, dest="max_cost_usd", help="dollars above which to ask (default 1)")
    p.add_argument("--yes", action="store_true", help="run even above --max-cost, without asking")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run(args: argparse.Namespace) -> int:
    from llmteams_lab.experiments.config import load_sweep
    from llmteams_lab.experiments.sweep import sweep

    config = load_sweep(args.sweep)
    for name in ("workers", "executor", "ray_address", "max_cost_usd"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    kwargs = dict(config, out=args.out, progress=not args.no_progress, say=print)
    try:
        table = sweep(yes=args.yes, **kwargs)
    except BudgetExceededError as err:
        if args.yes or not sys.stdin.isatty():
            # refused as asked (exit 2), not a failed run: the sweep never started
            raise ArgumentError("--yes", "is needed: " + f"{err}".replace("yes=True (CLI: --yes)", "--yes"),
                                show_got=False) from None
        if input("Run it anyway? [y/N] ").strip().lower() not in ("y", "yes"):
            print("not started")
            return 1
        table = sweep(yes=True, **kwargs)
    _print_summary(table, args.out)
    return 0


def _print_summary(table: Any, out: Path) -> None:
    import polars as pl

    from llmteams_lab.metrics.designs import design_summary, label_columns

    if table.is_empty():
        print(f"no runs in {out}")
        return
    summary = design_summary(table)
    shown = summary.select(*label_columns(table), "arm", "runs", "accuracy", "accuracy_low", "accuracy_high",
                           "tokens", "clock_s")
    with pl.Config(tbl_rows=60, tbl_cols=20, tbl_width_chars=160, tbl_hide_dataframe_shape=True,
                   float_precision=3):
        print(shown)
    print(f"{table.height:,} rows in {out} — report: llmteams-lab report {out} -o report.html")
