"""``llmteams-lab classroom [NOTEBOOK]``: serve the lessons with Voilà (code hidden, widgets live)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(extensions: list, handlers: dict) -> None:
    """Add the ``classroom`` subcommand to the CLI's registrars and handlers."""
    extensions.append(_add_parser)
    handlers["classroom"] = _run


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("classroom", help="serve the lessons as apps with Voila (code hidden, widgets live)",
                       description="Serve a lesson, or a folder of notebooks, with Voila on this machine: each "
                                   "page runs the notebook in a fresh kernel and shows its text, outputs and live "
                                   "widgets, not its code. Stop with Ctrl-C. Needs the [classroom] extra.")
    p.add_argument("notebook", nargs="?", metavar="NOTEBOOK",
                   help="a .ipynb file, a folder, or a lesson name such as 01_quickstart (default: all lessons)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1; no other "
                                                        "host is allowed)")
    p.add_argument("--port", type=int, default=8866, help="port (default 8866; 0: any free port)")
    p.add_argument("--open", action="store_true", help="open the page in this machine's browser")


def _run(args: argparse.Namespace) -> int:
    from llmteams_lab.classroom.app import serve_classroom

    serve_classroom(args.notebook, host=args.host, port=args.port, open_browser=args.open)
    return 0
