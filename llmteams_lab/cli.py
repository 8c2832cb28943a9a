"""Command line: ``llmteams-lab run TEAM.toml --out DIR`` and ``llmteams-lab demo``.

The CLI is an application on top of the library (above every ladder level): it builds
a spec, runs it with JSONL + parquet sinks, and prints the per-round table. Bad input
exits with status 2 and the spec's own message — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from llmteams_lab import __version__
from llmteams_lab.errors import LlmTeamsError, SpecError
from llmteams_lab.spec import TeamSpec, team

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llmteams-lab", description="Run teams of LLM agents as distributed systems.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a team spec (TOML or JSON) and write its events")
    run.add_argument("spec", type=Path, help="TEAM.toml or TEAM.json")
    run.add_argument("--out", type=Path, required=True, help="directory for events.jsonl, events.parquet, summary.csv")
    run.add_argument("--seed", type=int, help="override the spec's seed")
    run.add_argument("--rounds", type=int, help="override budgets.max_rounds")
    demo = sub.add_parser("demo", help="run a built-in 7-agent debate and print its convergence table")
    demo.add_argument("--agents", type=int, default=7)
    demo.add_argument("--topology", default="complete")
    demo.add_argument("--protocol", default="debate")
    demo.add_argument("--seed", type=int, default=1)
    for extend in _EXTENSIONS:
        extend(sub)
    return p


_EXTENSIONS: list = []  # subcommand registrars (serve, proxy, classroom) add themselves here


def load_spec(path: Path) -> TeamSpec:
    if not path.is_file():
        raise SpecError("spec", "must be an existing TOML or JSON file", str(path))
    text = path.read_text(encoding="utf-8")
    return TeamSpec.from_json(text) if path.suffix == ".json" else TeamSpec.from_toml(text)


def cmd_run(args: argparse.Namespace) -> int:
    from llmteams_lab.datasets import ParquetSink
    from llmteams_lab.runtime import JsonlSink, run_sync

    spec = load_spec(args.spec)
    if args.seed is not None:
        spec = spec.replace(seed=args.seed)
    if args.rounds is not None:
        spec = spec.replace(budgets=spec.budgets.replace(max_rounds=args.rounds))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "events.jsonl"
    jsonl.unlink(missing_ok=True)
    result = run_sync(spec, sinks=[JsonlSink(jsonl), ParquetSink(out / "events.parquet")])
    (out / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    summary = result.summary()
    summary.write_csv(out / "summary.csv")
    _print(result, summary)
    print(f"wrote {jsonl}, {out / 'events.parquet'}, {out / 'summary.csv'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from llmteams_lab.runtime import run_sync

    spec = team(args.agents, topology=args.topology, protocol=args.protocol, seed=args.seed,
                competence=0.45, conformity=0.5, max_rounds=10)
    result = run_sync(spec)
    _print(result, result.summary())
    return 0


def _print(result, summary) -> None:
    import polars as pl

    with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=160, tbl_hide_dataframe_shape=True,
                   float_precision=3):
        print(summary.drop("run_id"))
    print(f"run {result.run_id}: {result.reason} after {result.rounds} round(s); decision={result.decision!r} "
          f"correct={result.correct}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"run": cmd_run, "demo": cmd_demo, **{k: v for k, v in _HANDLERS.items()}}
    try:
        return handlers[args.command](args)
    except LlmTeamsError as err:
        print(f"llmteams-lab: error: {err}", file=sys.stderr)
        return 2


_HANDLERS: dict = {}


def _register_apps() -> None:
    """Add the ``serve``, ``proxy`` and ``classroom`` subcommands (OpenAI-compatible endpoint,
    fault proxy, the lessons as Voila apps)."""
    from llmteams_lab.classroom.cli import register as classroom
    from llmteams_lab.proxy.cli import register as proxy
    from llmteams_lab.serve.cli import register as serve

    for register in (serve, proxy, classroom):
        register(_EXTENSIONS, _HANDLERS)


_register_apps()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
