"""A pool worker process: reads pickled tasks on a pipe, writes pickled results back.

Why our own worker processes instead of ``multiprocessing``: its *spawn* start method
re-imports the parent's main script in every child, so a script without an
``if __name__ == "__main__":`` guard starts the sweep again in each worker and the pool
dies (``BrokenProcessPool``); *fork* can deadlock once polars or numpy have started
threads. A worker started as ``python -c`` that imports only this module works the same
from a script, ``python -c`` and a notebook, and ends by itself when its parent dies
(its task pipe closes), so a killed sweep leaves no orphans.

Protocol, on the worker's stdin and a duplicate of its stdout (its own stdout is sent
to stderr, so a stray ``print`` cannot corrupt the stream): frames of an 8-byte
big-endian length and a pickle. The first frame is the parent's ``sys.path``; then each
frame is ``(function, argument)`` and is answered with ``("ok", result)`` or
``("error", exception)``. After its first task (imports done) a worker freezes the
objects it has (``gc.freeze``), so the cyclic collector stops re-tracing the modules on
every collection — the process is the sweep's own, so this touches nobody else.
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import sys
from typing import Any, BinaryIO

__all__ = ["read_frame", "serve", "write_frame"]

_HEADER = struct.Struct(">Q")

# started as ``python -c BOOT PACKAGE_ROOT``: imports this module from the parent's copy
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from llmteams_lab.experiments.worker import serve; serve()"


def write_frame(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    """The next object, or ``EOFError`` when the other side closed the pipe."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("pipe closed")
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("pipe closed mid-frame")
    return pickle.loads(data)


def serve() -> None:
    """The worker's loop (runs until its task pipe closes)."""
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints from user code go to stderr, never into the result stream
    tasks = sys.stdin.buffer
    try:
        path = read_frame(tasks)
    except EOFError:
        return
    sys.path.extend(p for p in path if p not in sys.path)
    frozen = False
    while True:
        try:
            fn, arg = read_frame(tasks)
        except EOFError:
            return
        try:
            reply = ("ok", fn(arg))
        except BaseException as err:  # noqa: BLE001 - handed to the parent, which re-raises it
            reply = ("error", _picklable(err))
        write_frame(results, reply)
        if not frozen:  # this process is ours: keep the imported modules out of every GC pass
            gc.collect()
            gc.freeze()
            frozen = True


def _picklable(err: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:  # noqa: BLE001 - some exceptions cannot travel; their text can
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err
