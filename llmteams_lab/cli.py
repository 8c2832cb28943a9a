"""Command line: ``llmteams-lab run TEAM.toml --out DIR`` and ``llmteams-lab demo``.

The CLI is an application on top of the library (above every ladder level): it builds
a spec, runs it with JSONL + parquet sinks, and prints the per-round table.

No traceback ever reaches a user. Every failure is one line on stderr,
``llmteams-lab: error: <what>``, and an exit status:

* 2 — the invocation cannot be done as asked: a bad flag, a bad spec file (not UTF-8,
  not TOML/JSON, a bad field), an ``--out`` that is a file or cannot be written, a log
  in ``--out`` that ``--resume``/``--force`` must decide about, ``serve --port 99999``,
  a port already in use, a host beyond this machine, a missing extra;
* 1 — the run failed: the endpoint is unreachable, the failure policy stopped the run,
  the disk filled up;
* 130 — a run interrupted (Ctrl-C): the log is flushed first, and ``--resume`` continues
  it. (``serve``, ``proxy`` and ``classroom`` stop on Ctrl-C as they should: status 0.)

``run`` writes ``spec.toml`` before the first round, ``events.jsonl`` round by round,
and ``events.parquet`` and ``summary.csv`` when the run ends or is interrupted; a run
killed outright (SIGKILL, power loss) keeps every finished round in ``events.jsonl``,
and ``--resume`` finishes it and writes the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn, Sequence

from llmteams_lab import __version__
from llmteams_lab.errors import DatasetError, LlmTeamsError, MissingExtraError, ServiceError, SpecError
from llmteams_lab.spec import TeamSpec, team

__all__ = ["main"]

PROG = "llmteams-lab"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (its default prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Run teams of LLM agents as distributed systems.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run a team spec (TOML or JSON) and write its events",
                         description="Run a team spec and write events.jsonl (round by round), events.parquet, "
                                     "summary.csv and spec.toml into --out. Ctrl-C stops after flushing the log; "
                                     "--resume continues a stopped or killed run.")
    run.add_argument("spec", type=Path, help="TEAM.toml or TEAM.json")
    run.add_argument("--out", type=Path, required=True, help="directory for events.jsonl, events.parquet, "
                     "summary.csv and spec.toml (created if missing)")
    run.add_argument("--seed", type=int, help="override the spec's seed")
    run.add_argument("--rounds", type=int, help="override budgets.max_rounds")
    again = run.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the run logged in --out from its last "
                       "finished round (the same spec; rounds already run are not run or billed again)")
    again.add_argument("--force", action="store_true", help="overwrite a log already in --out")
    demo = sub.add_parser("demo", help="run a built-in 7-agent debate and print its convergence table",
                          description="Run a built-in simulated team and print its per-round table.")
    demo.add_argument("--agents", type=int, default=7, help="team size (default 7)")
    demo.add_argument("--topology", default="complete", help="complete, ring, star, tree, small_world ... "
                      "(default complete)")
    demo.add_argument("--protocol", default="debate", help="debate, majority, weighted, leader or quorum "
                      "(default debate)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the run (default 1)")
    for extend in _EXTENSIONS:
        extend(sub)
    return p


_EXTENSIONS: list = []  # subcommand registrars (serve, proxy, classroom) add themselves here


def load_spec(path: Path) -> TeamSpec:
    """The spec in ``path`` (``.json``: JSON, else TOML); every problem is a SpecError."""
    if not path.is_file():
        raise SpecError("spec", "must be an existing TOML or JSON file", str(path))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError("spec", f"must be a UTF-8 text file (byte {err.start} is not UTF-8: a binary or UTF-16 "
                        "file?)", str(path)) from None
    except OSError as err:
        raise SpecError("spec", f"must be a readable file ({err.strerror})", str(path)) from None
    if "\x00" in text:
        raise SpecError("spec", "must be a text file (it holds NUL bytes: a binary or UTF-16 file?)", str(path))
    return TeamSpec.from_json(text) if path.suffix == ".json" else TeamSpec.from_toml(text)


def cmd_run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    if args.seed is not None:
        spec = spec.replace(seed=args.seed)
    if args.rounds is not None:
        spec = spec.replace(budgets=spec.budgets.replace(max_rounds=args.rounds))
    out: Path = args.out
    _writable_dir(out)
    jsonl = out / "events.jsonl"
    resume = _decide_log(jsonl, args.resume, args.force)
    (out / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    try:
        run = asyncio.run(_run_to_end(spec, out, resume))
    except KeyboardInterrupt:
        rounds = _write_summary(out)
        print(f"{PROG}: interrupted after round {rounds}; {jsonl} holds every finished round — continue with "
              f"'{PROG} run {args.spec} --out {out} --resume'", file=sys.stderr)
        return 130
    except BaseException:
        _write_summary(out)
        raise
    summary = _write_summary(out, table=True)
    _print(run.result(), summary)
    print(f"wrote {jsonl}, {out / 'events.parquet'}, {out / 'summary.csv'}, {out / 'spec.toml'}")
    return 0


def _writable_dir(out: Path) -> None:
    """``--out`` as a directory this process can write to, or a SpecError saying why."""
    if out.exists() and not out.is_dir():
        raise SpecError("--out", "must be a directory, not a file", str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".llmteams-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise SpecError("--out", f"must be a directory this process can write to ({err.strerror or err})",
                        str(out)) from None


def _decide_log(jsonl: Path, resume: bool, force: bool) -> bool:
    """Whether to resume the log in ``jsonl``; an existing log is never overwritten
    silently (``--force`` overwrites it)."""
    if not jsonl.exists() or jsonl.stat().st_size == 0:
        return False
    if resume:
        return True
    if force:
        jsonl.unlink()
        (jsonl.parent / "events.parquet").unlink(missing_ok=True)
        return False
    raise SpecError("--out", f"already holds a run's log ({jsonl}); pass --resume to continue it or --force to "
                    "overwrite it", show_got=False)


async def _run_to_end(spec: TeamSpec, out: Path, resume: bool) -> Any:
    from llmteams_lab.datasets import ParquetSink
    from llmteams_lab.runtime import JsonlSink, Run

    parquet = ParquetSink(out / "events.parquet")
    if resume:
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                run = await Run.resume(out / "events.jsonl", spec=spec, sinks=[parquet])
            for w in seen:
                print(f"{PROG}: warning: {w.message}", file=sys.stderr)
        except DatasetError as err:
            raise SpecError("--resume", f"cannot continue {out / 'events.jsonl'}: {err}", show_got=False) from None
    else:
        run = Run(spec, sinks=[JsonlSink(out / "events.jsonl"), parquet])
    async with run:
        if not run.done:
            await run.run()
    return run


def _write_summary(out: Path, *, table: bool = False) -> Any:
    """Write ``summary.csv`` from the log on disk (also after a failure or Ctrl-C);
    the table if asked, else the last finished round."""
    from llmteams_lab.datasets import read_events
    from llmteams_lab.metrics.summary import round_summary

    jsonl = out / "events.jsonl"
    if not jsonl.is_file():
        return None if table else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a partial last line was already reported
        summary = round_summary(read_events(jsonl))
    summary.write_csv(out / "summary.csv")
    return summary if table else int(summary["round"].max() or 0)


def cmd_demo(args: argparse.Namespace) -> int:
    from llmteams_lab.runtime import run_sync

    spec = team(args.agents, topology=args.topology, protocol=args.protocol, seed=args.seed,
                competence=0.45, conformity=0.5, max_rounds=10)
    result = run_sync(spec)
    _print(result, result.summary())
    return 0


def _print(result: Any, summary: Any) -> None:
    import polars as pl

    with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=160, tbl_hide_dataframe_shape=True,
                   float_precision=3):
        print(summary.drop("run_id"))
    print(f"run {result.run_id}: {result.reason} after {result.rounds} round(s); decision={result.decision!r} "
          f"correct={result.correct}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        args = _parser().parse_args(argv)
        handlers = {"run": cmd_run, "demo": cmd_demo, **_HANDLERS}
        return handlers[args.command](args)
    except SystemExit as done:  # --help, --version, or a usage error already printed
        return done.code if isinstance(done.code, int) else 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (SpecError, ServiceError, MissingExtraError) as err:  # what was asked cannot be done as asked
        return _fail(err, 2)
    except LlmTeamsError as err:  # the run or the endpoint failed
        return _fail(err, 1)
    except BrokenPipeError:  # e.g. piped into `head`: nothing more to say
        return 1
    except OSError as err:
        return _fail(f"{err.strerror or err}" + (f": {err.filename}" if err.filename else ""), 1)
    except Exception as err:  # noqa: BLE001 - never a traceback; say what broke
        return _fail(f"internal error ({type(err).__name__}: {err}); please report it", 1)


def _fail(err: Any, status: int) -> int:
    line = " ".join(str(err).split())  # one line, whatever the message held
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return status


_HANDLERS: dict = {}


def _register_apps() -> None:
    """Add the ``serve``, ``proxy`` and ``classroom`` subcommands (OpenAI-compatible endpoint,
    fault proxy, the lessons as Voila apps), ``sweep`` (design sweeps) and ``report`` (one-file
    HTML reports)."""
    from llmteams_lab.classroom.cli import register as classroom
    from llmteams_lab.experiments.cli import register as sweep
    from llmteams_lab.export.cli import register as report
    from llmteams_lab.proxy.cli import register as proxy
    from llmteams_lab.serve.cli import register as serve

    for register in (serve, proxy, classroom, sweep, report):
        register(_EXTENSIONS, _HANDLERS)


_register_apps()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
