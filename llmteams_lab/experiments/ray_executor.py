"""Optional Ray executor for sweeps (the ``[ray]`` extra). Ray is imported only here,
only when asked for; it is started once per process with usage stats and auth off,
as DESIGN §7 recommends for local runs."""

from __future__ import annotations

import os
from typing import Any, Callable


def map_ray(fn: Callable[[Any], Any], jobs: list, bar: Any = None) -> list:
    try:
        import ray
    except ImportError as err:  # pragma: no cover - depends on the optional extra
        raise ImportError("executor='ray' needs the ray extra: pip install 'llmteams-lab[ray]'") from err
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    remote = ray.remote(fn)
    refs = [remote.remote(job) for job in jobs]
    out = []
    for ref in refs:
        out.append(ray.get(ref))
        if bar is not None:
            bar.update(1)
    return out
