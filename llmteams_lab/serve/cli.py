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
from pathlib import Path
from typing import Any, Callable

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import AgentSpec
from llmteams_lab.spec._fields import construct
from llmteams_lab.spec._toml import loads as toml_loads

__all__ = ["access", "add_access_arguments", "add_fault_arguments", "fault_plan", "limits", "register",
           "serve_until_interrupted"]

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
    add_access_arguments(p, 8000, "require 'Authorization: Bearer <key>' (also on /_admin) with the key in this "
                         "environment variable")
    p.add_argument("--latency", type=float, default=0.5, help="median seconds per reply (default 0.5)")
    p.add_argument("--jitter", type=float, default=0.25, help="log-normal sigma of the latency (default 0.25)")
    p.add_argument("--competence", type=float, default=0.6, help="P(a first answer is right), in [0, 1] "
                   "(default 0.6)")
    p.add_argument("--conformity", type=float, default=0.5, help="P(adopting the team's plurality), in [0, 1] "
                   "(default 0.5)")
    p.add_argument("--confidence", type=float, default=0.7, help="mean reported confidence (default 0.7)")
    p.add_argument("--calibration", type=float, default=0.1, help="confidence shift when right/wrong "
                   "(default 0.1)")
    p.add_argument("--reply-tokens", type=int, default=60, help="approximate tokens per reply (default 60)")
    p.add_argument("--seed", type=int, default=0, help="seed of the answers and the fault draws (default 0)")
    add_fault_arguments(p)


def add_access_arguments(p: argparse.ArgumentParser, port: int, key_help: str) -> None:
    """Where to listen, who may connect, and the request limits (shared with ``proxy``)."""
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only; "
                   "another address needs --allow-remote and --api-key-env)")
    p.add_argument("--port", type=_port, default=port, help=f"port in [0, 65535] (default {port}; 0: any free "
                   "port, the URL is printed)")
    p.add_argument("--allow-remote", action="store_true", help="allow a --host reachable from other machines "
                   "(requires --api-key-env)")
    p.add_argument("--api-key-env", metavar="NAME", help=key_help)
    p.add_argument("--max-body-bytes", type=int, default=4 * 2**20, metavar="N",
                   help="refuse request bodies larger than this, unread (default 4 MiB)")
    p.add_argument("--header-timeout", type=float, default=30.0, metavar="S",
                   help="close connections whose request headers (or next request) take longer (default 30 s)")
    p.add_argument("--body-timeout", type=float, default=60.0, metavar="S",
                   help="answer 408 to request bodies that take longer (default 60 s)")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 65535] (got {text[:40]!r})") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 65535] (got {port})")
    return port


def limits(args: argparse.Namespace) -> Any:
    """The request :class:`~llmteams_lab.serve.guards.Limits` the flags describe."""
    from llmteams_lab.errors import ServiceError
    from llmteams_lab.serve.guards import Limits

    try:
        return Limits(args.max_body_bytes, args.header_timeout, args.body_timeout)
    except ServiceError as err:
        raise SpecError("--max-body-bytes/--header-timeout/--body-timeout", str(err), show_got=False) from None


def access(args: argparse.Namespace) -> str | None:
    """The key (from ``--api-key-env``), after checking ``--host``/``--allow-remote``:
    listening beyond this machine is a usage error unless asked for, with a key."""
    from llmteams_lab.serve.running import is_loopback_host

    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise SpecError("--api-key-env", "must name a set environment variable", args.api_key_env)
    if not is_loopback_host(args.host):
        if not args.allow_remote:
            raise SpecError("--host", "is reachable from other machines; pass --allow-remote (and --api-key-env) "
                            "to listen there, or keep the default 127.0.0.1", args.host)
        if key is None:
            raise SpecError("--allow-remote", "needs --api-key-env: a server reachable from other machines must "
                            "require a key", show_got=False)
    return key


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
            rules = toml_loads(args.faults.read_text(encoding="utf-8"), 8).get("faults", [])
            for rule in rules if isinstance(rules, list) else [rules]:
                plan.add(rule)
        except (SpecError, ValueError, TypeError, AttributeError) as err:  # bad UTF-8 is a ValueError too
            raise SpecError("--faults", f"must hold valid [[faults]] rules: {str(err)[:200]}",
                            show_got=False) from None
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
    key = access(args)
    server = Server(profile, seed=args.seed, api_key=key, faults=fault_plan(args), host=args.host, port=args.port,
                    allow_remote=args.allow_remote, limits=limits(args))
    return serve_until_interrupted(server, "serving simulated agents", args.host)


def serve_until_interrupted(server: Any, what: str, host: str, out: Callable[[str], None] | None = None) -> int:
    """Start ``server``, print its URL, and serve until Ctrl-C — the way to stop it, so
    exit status 0. A port in use is a ``ServiceError`` (one line, exit 2)."""
    from llmteams_lab.serve.running import is_loopback_host

    say = out or (lambda line: print(line, flush=True))
    if not is_loopback_host(host):
        print(f"llmteams-lab: warning: listening on {host}, reachable from other machines (a key is required); "
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
        print("llmteams-lab: stopped", file=sys.stderr, flush=True)
    return 0
