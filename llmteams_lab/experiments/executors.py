"""Where a sweep's tasks run: this process, a local pool of worker processes, or Ray.

Every executor runs the same function on the same tasks (batches of runs) and yields
each task's result as soon as it is done, in completion order; the sweep writes rows
as they come and sorts the table at the end, so the table is the same whatever the
executor, the number of workers or the order tasks finish in (a test checks it).

``local``   workers = 1: in this process; workers > 1: :class:`LocalPool`
``ray``     :class:`~llmteams_lab.experiments.ray_executor.RayExecutor` (the ``[ray]`` extra)
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from llmteams_lab.errors import ArgumentError, ExecutorError
from llmteams_lab.experiments.worker import BOOT, read_frame, write_frame

__all__ = ["EXECUTORS", "Executor", "InProcess", "LocalPool", "check_executor", "make_executor"]

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """What the sweep needs from an executor."""

    workers: int
    in_process: bool

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


def make_executor(executor: str, workers: int, ray_address: str | None = None) -> Executor:
    """The executor named ``executor`` (see the module docstring)."""
    check_executor(executor, workers, ray_address)
    if executor == "ray":
        from llmteams_lab.experiments.ray_executor import RayExecutor

        return RayExecutor(workers, ray_address)
    return InProcess() if workers == 1 else LocalPool(workers)


def check_executor(executor: str, workers: int, ray_address: str | None = None) -> None:
    """Refuse an unknown executor, a bad worker count or a Ray address without Ray."""
    if executor not in EXECUTORS:
        raise ArgumentError("executor", f"must be one of {list(EXECUTORS)}", executor)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ArgumentError("workers", "must be an integer >= 1", workers)
    if ray_address is not None and executor != "ray":
        raise ArgumentError("ray_address", "needs executor='ray'", ray_address)


class InProcess:
    """Runs each task here, one after another."""

    workers = 1
    in_process = True

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)

    def close(self) -> None:
        return None


class LocalPool:
    """``workers`` worker processes on this machine (see ``experiments.worker`` for why
    they are plain subprocesses). Started on first use; reusable until :meth:`close`."""

    in_process = False

    def __init__(self, workers: int):
        self.workers = workers
        self._procs: list[subprocess.Popen] = []

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # the directory holding this llmteams_lab
        for _ in range(self.workers - len(self._procs)):
            proc = subprocess.Popen([sys.executable, "-c", BOOT, root], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, env=_worker_env())
            write_frame(proc.stdin, [p for p in sys.path if p])
            self._procs.append(proc)

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        todo: queue.Queue = queue.Queue()
        pending = 0
        for task in tasks:
            todo.put(task)
            pending += 1
        if not pending:
            return
        self._start()
        done: queue.Queue = queue.Queue()
        stop = threading.Event()
        feeders = [threading.Thread(target=_feed, args=(proc, fn, todo, done, stop), daemon=True,
                                    name=f"llmteams-sweep-worker-{i}") for i, proc in enumerate(self._procs)]
        for feeder in feeders:
            feeder.start()
        try:
            for _ in range(pending):
                status, value = done.get()
                if status != "ok":
                    raise value
                yield value
        except BaseException:
            stop.set()
            self.close()  # a worker may be mid-task: stop them all rather than wait
            raise
        finally:
            stop.set()
            for feeder in feeders:
                feeder.join(timeout=5)

    def close(self) -> None:
        procs, self._procs = self._procs, []
        for proc in procs:
            if proc.stdin is not None and not proc.stdin.closed:
                try:
                    proc.stdin.close()  # the worker's loop ends on EOF
                except OSError:
                    pass
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def __del__(self) -> None:  # a pool dropped without close() must not leave processes behind
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()


def _feed(proc: subprocess.Popen, fn: Callable[[Any], Any], todo: queue.Queue, done: queue.Queue,
          stop: threading.Event) -> None:
    """One worker's loop: take a task, send it, wait for its result, hand it on."""
    while not stop.is_set():
        try:
            task = todo.get_nowait()
        except queue.Empty:
            return
        try:
            write_frame(proc.stdin, (fn, task))
            done.put(read_frame(proc.stdout))
        except (EOFError, OSError, ValueError):
            if stop.is_set():
                return
            code = proc.poll()
            done.put(("error", ExecutorError(f"a sweep worker process (pid {proc.pid}) died"
                                             f"{f' with exit code {code}' if code is not None else ''}; "
                                             "the rows written so far are kept — run the sweep again to "
                                             "resume")))
            return


def _worker_env() -> dict[str, str]:
    """The parent's environment, with numeric libraries limited to one thread each: the
    pool already uses every core it is given."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
        env.setdefault(name, "1")
    return env
