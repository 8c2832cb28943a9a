"""``llmteams-lab report DIR -o report.html``: the one-file HTML report of a sweep's or a
run's directory (what ``llmteams-lab sweep`` / ``llmteams-lab run`` wrote)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(extensions: list, handlers: dict) -> None:
    """Add the ``report`` subcommand to the CLI's registrars and handlers."""
    extensions.append(_add_parser)
    handlers["report"] = _run


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="write a one-file HTML report of a sweep or run directory (opens offline)")
    p.add_argument("source", type=Path, help="a directory written by 'llmteams-lab sweep' or 'llmteams-lab run'")
    p.add_argument("-o", "--out", type=Path, default=Path("report.html"), help="the HTML file (default report.html)")


def _run(args: argparse.Namespace) -> int:
    from llmteams_lab.export.report import write_report

    path = write_report(args.source, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
