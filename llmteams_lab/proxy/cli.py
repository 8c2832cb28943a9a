"""``llmteams-lab proxy --upstream URL``: the fault-injecting proxy from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from llmteams_lab.serve.cli import (
    access,
    add_access_arguments,
    add_fault_arguments,
    fault_plan,
    limits,
    serve_until_interrupted,
)

__all__ = ["register"]


def register(extensions: list, handlers: dict) -> None:
    """Add the ``proxy`` subcommand to the CLI's registrars and handlers."""
    extensions.append(_add_parser)
    handlers["proxy"] = _run


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("proxy", help="forward OpenAI-compatible requests to an upstream, injecting faults",
                       description="Relay requests to --upstream (keeping paths and the client's Authorization "
                                   "header) and inject faults by probability or from a TOML schedule. Point "
                                   "clients at the printed URL. Stop with Ctrl-C.")
    p.add_argument("--upstream", required=True, help="upstream base URL, e.g. https://api.openai.com/v1")
    add_access_arguments(p, 8001, "admit only clients sending 'Authorization: Bearer <key>' with the key in this "
                         "environment variable (the upstream's key, which is relayed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault draws (default 0)")
    p.add_argument("--upstream-timeout", type=float, default=600.0, help="seconds to wait for the upstream "
                   "(default 600)")
    add_fault_arguments(p)


def _run(args: argparse.Namespace) -> int:
    from llmteams_lab.proxy.app import Proxy

    proxy = Proxy(args.upstream, faults=fault_plan(args), host=args.host, port=args.port,
                  timeout_s=args.upstream_timeout, allow_remote=args.allow_remote, api_key=access(args),
                  limits=limits(args))
    return serve_until_interrupted(proxy, f"proxying to {proxy.upstream}", args.host)
