"""The Ray executor (the ``[ray]`` extra): a sweep's tasks as Ray tasks, on this machine
or on a cluster.

Ray is imported only here, only when asked for, and initialised once per process:

* ``ray_address=None`` and no Ray yet: a local instance with ``workers`` CPUs, usage
  statistics and token auth off (DESIGN §7), workers that import this copy of the
  library (its directory is put on their ``PYTHONPATH``) and run at normal priority
  (Ray renices its workers to 15 by default, so on a machine shared with other jobs a
  sweep on Ray got a fraction of the CPU the local pool's workers get), started and
  warmed up (library imported) before the first sweep;
* ``ray_address="HOST:PORT"`` (a cluster's GCS, e.g. ``ray start --head`` prints it),
  ``"ray://HOST:10001"`` (Ray Client) or ``"auto"``: join that cluster. Every node needs
  ``llmteams-lab`` installed (the same version). The address is probed first, so a
  wrong one fails in seconds with :class:`~llmteams_lab.errors.ExecutorError` instead
  of Ray's minutes of retries;
* Ray already initialised (by you, or an earlier sweep): reused as it is.

Multi-node: start the head with ``ray start --head --port 6379`` and each worker node
with ``ray start --address HEAD:6379``, then ``sweep(..., executor="ray",
ray_address="HEAD:6379")`` from any node (or the CLI's ``--executor ray --ray-address``).
Results come back to the driver, which alone writes the sweep's directory.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit

from llmteams_lab.errors import ArgumentError, ExecutorError, MissingExtraError

__all__ = ["RayExecutor", "probe_address"]

_LOCAL_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


class RayExecutor:
    """Runs tasks as Ray tasks (see the module docstring)."""

    in_process = False

    def __init__(self, workers: int, address: str | None = None):
        self.ray = _import_ray()
        self.workers = workers
        self.address = address
        self._remote: dict[Callable, Any] = {}
        self._connect()

    def _connect(self) -> None:
        ray = self.ray
        if self.address is not None:
            probe_address(self.address)  # even when Ray is up: a wrong address is a mistake to report
        if ray.is_initialized():
            return
        if self.address is not None:
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ExecutorError(f"could not join the Ray cluster at {self.address!r}: {err}") from None
            return
        for name, value in _LOCAL_ENV.items():
            os.environ.setdefault(name, value)  # read by Ray when it starts its local processes
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        for attempt in (1, 2):  # Ray gives its raylet 30 s to come up; a busy machine can miss that once
            try:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": path, **_LOCAL_ENV}},
                         _system_config={"worker_niceness": 0})
                break
            except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception on a slow start
                ray.shutdown()
                if attempt == 2:
                    raise ExecutorError(f"could not start a local Ray instance: {err}") from None
        self._warm_up()

    def _warm_up(self) -> None:
        """Start the new instance's workers now, with the sweep's modules imported.

        Why: a local instance starts its worker processes only when the first tasks
        arrive, and each then imports Ray and this library (~2 s of CPU apiece), which
        would land in the first sweep's time on the cores its runs need. Warming them
        here makes starting Ray one cost, paid once per process, as on a cluster that
        is already up. One task per CPU, submitted together: Ray leases a worker for each."""
        ray = self.ray
        ready = ray.remote(_import_runner)
        ray.get([ready.remote(self.workers) for _ in range(self.workers)])

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        ray = self.ray
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(fn)
        refs = [remote.remote(task) for task in tasks]
        try:
            while refs:
                ready, refs = ray.wait(refs, num_returns=1)
                yield ray.get(ready[0])
        finally:
            for ref in refs:  # stopped early (an error, Ctrl-C): do not leave tasks running
                ray.cancel(ref)

    def close(self) -> None:
        """Ray stays up for the next sweep of this process (starting it costs seconds)."""
        return None


def _import_runner(workers: int) -> int:
    """A warm-up task (runs in a Ray worker): import what a sweep task needs, and hold
    the worker briefly so that the other warm-up tasks go to other workers."""
    import time

    import llmteams_lab.experiments.runner  # noqa: F401 - the import is the point

    time.sleep(0.1 if workers > 1 else 0.0)
    return os.getpid()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtraError("executor='ray' needs Ray: pip install 'llmteams-lab[ray]'") from None
    return ray


def probe_address(address: str, timeout_s: float = 3.0) -> None:
    """Refuse a Ray address that does not accept connections (``auto`` is left to Ray)."""
    if not isinstance(address, str) or not address:
        raise ArgumentError("ray_address", "must be 'HOST:PORT', 'ray://HOST:PORT' or 'auto'", address)
    if address == "auto":
        return
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ArgumentError("ray_address", "must be 'HOST:PORT', 'ray://HOST:PORT' or 'auto'", address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as err:
        raise ExecutorError(f"no Ray cluster answers at {address!r} ({err.strerror or err}); start one with "
                            "'ray start --head' or check the address") from None
