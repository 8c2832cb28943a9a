"""``llmteams-lab serve``: the simulated OpenAI-compatible endpoint from the command line.

Also defines the fault flags shared with ``llmteams-lab proxy``: a probability per fault
kind (``--rate-limit 0.1``), the parameters of those faults, and ``--faults FILE`` for a
TOML file of rules (``[[faults]] kind = "server_error" round = 2 times = 3``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Callable

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import AgentSpec
from llmteams_lab.spec._fields import construct

__all__ = ["add_fault_arguments", "fault_plan", "register", "serve_until_interrupted"]

_FLAGS = {"slow_reply": "--slow-reply", "rate_limit": "--rate-limit", "server_error": "--server-error",
          "timeout": "--timeout", "reset": "--reset", "malformed": "--malformed", "truncated": "--truncate"}


def register(extensions: list, handlers: dict) -> None:
    """Add the ``serve`` subcommand to the CLI's registrars and handlers."""
    extensions.append(_add_parser)
    handlers["serve"] = _run


def _add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="an OpenAI-compatible endpoint answered by simulated agents (no key needed)",
                       description="Serve /v1/models and /v1/chat/completions (JSON or streamed) on 127.0.0.1; "
                                   "the model is a simulated agent profile that understands the openai "
                                   "backend's team prompts. Stop with Ctrl-C.")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port; the URL is printed)")
    p.add_argument("--latency", type=float, default=0.5, help="median seconds per reply (default 0.5)")
    p.add_argument("--jitter", type=float, default=0.25, help="log-normal sigma of the latency (default 0.25)")
    p.add_argument("--competence", type=float, default=0.6)
    p.add_argument("--conformity", type=float, default=0.5)
    p.add_argument("--confidence", type=float, default=0.7)
    p.add_argument("--calibration", type=float, default=0.1)
    p.add_argument("--reply-tokens", type=int, default=60, help="approximate tokens per reply")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--api-key-env", metavar="NAME",
                   help="require 'Authorization: Bearer <key>' with the key in this environment variable")
    add_fault_arguments(p)


def add_fault_arguments(p: argparse.ArgumentParser, kinds: tuple[str, ...] = tuple(_FLAGS)) -> None:
    group = p.add_argument_group("faults (probability per request, drawn from --seed and the request)")
    for kind in kinds:
        group.add_argument(_FLAGS[kind], type=float, default=0.0, metavar="P", dest=f"p_{kind}",
                           help=f"probability of a {kind.replace('_', ' ')} fault")
    group.add_argument("--slow-reply-s", type=float, default=1.0, help="seconds added by --slow-reply (default 1)")
    group.add_argument("--hang-s", type=float, default=30.0, help="seconds a --timeout request hangs (default 30)")
    group.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429s")
    group.add_argument("--status", type=int, default=503, help="HTTP status of --server-error (default 503)")
    group.add_argument("--faults", type=Path, metavar="FILE", help="TOML file of [[faults]] rules (scheduled)")


def fault_plan(args: argparse.Namespace) -> Any:
    """The :class:`FaultPlan` the fault flags describe (file rules first, then probabilities)."""
    from llmteams_lab.serve.faults import FaultPlan

    plan = FaultPlan(seed=args.seed)
    if args.faults is not None:
        if not args.faults.is_file():
            raise SpecError("--faults", "must be an existing TOML file", str(args.faults))
        try:
            rules = tomllib.loads(args.faults.read_text(encoding="utf-8")).get("faults", [])
            for rule in rules:
                plan.add(rule)
        except (tomllib.TOMLDecodeError, ValueError, TypeError) as err:
            raise SpecError("--faults", f"must hold valid [[faults]] rules: {err}", show_got=False) from None
    for kind in _FLAGS:
        p = getattr(args, f"p_{kind}", 0.0)
        if not 0 <= p <= 1:
            raise SpecError(_FLAGS[kind], "must be a probability in [0, 1]", p)
        if p > 0:
            params = {"slow_reply": {"wait_s": args.slow_reply_s}, "timeout": {"wait_s": args.hang_s},
                      "rate_limit": {"retry_after_s": args.retry_after},
                      "server_error": {"status": args.status}}.get(kind, {})
            try:
                plan.add(kind, probability=p, times=None, **params)
            except ValueError as err:
                raise SpecError(_FLAGS[kind], str(err), show_got=False) from None
    return plan


def _run(args: argparse.Namespace) -> int:
    from llmteams_lab.serve.app import Server

    profile = construct(AgentSpec, {"id": "llmteams-sim", "competence": args.competence,
                                    "conformity": args.conformity, "confidence": args.confidence,
                                    "calibration": args.calibration, "latency_s": args.latency,
                                    "latency_jitter": args.jitter, "reply_tokens": args.reply_tokens}, "")
    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise SpecError("--api-key-env", "must name a set environment variable", args.api_key_env)
    server = Server(profile, seed=args.seed, api_key=key, faults=fault_plan(args), host=args.host, port=args.port)
    return serve_until_interrupted(server, "serving simulated agents", args.host)


def serve_until_interrupted(server: Any, what: str, host: str, out: Callable[[str], None] | None = None) -> int:
    """Start ``server``, print its URL, and serve until Ctrl-C (exit status 0)."""
    from llmteams_lab.serve.running import is_loopback_host

    say = out or (lambda line: print(line, flush=True))
    if not is_loopback_host(host):
        print(f"llmteams-lab: warning: listening on {host}, reachable from other machines; "
              "the /_admin routes are off", file=sys.stderr, flush=True)

    async def main() -> None:
        url = await server.start()
        say(f"{what} on {url}")
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0
