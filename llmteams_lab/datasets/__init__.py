"""Datasets (level 7): trace I/O for our own logs, their replay and fork, the paper's runs.

traces         our logs as JSONL or parquet, read back in the one schema; ``replay_trace``
replay         ``ReplayRun``: a recorded run stepped round by round, and forked at round k
async_fork     ``fork_asynchronous``: an asynchronous run re-executed turn by turn up to a point
paper          the paper's 1,413 runs converted into our schema
paper_figures  the paper's headline figures recomputed from them

Names are imported on first use (PEP 562), so ``from llmteams_lab.datasets.replay
import ReplayRun`` does not load polars.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["PaperDataset", "ParquetSink", "ReplayFinishedError", "ReplayRun", "fork_asynchronous", "load_paper_dataset",
           "paper_data_path", "read_events", "read_jsonl", "read_parquet", "records_from_frame", "replay_trace",
           "write_parquet"]

_WHERE = {
    "PaperDataset": "paper", "load_paper_dataset": "paper", "paper_data_path": "paper",
    "ReplayFinishedError": "replay", "ReplayRun": "replay", "fork_asynchronous": "async_fork",
    "ParquetSink": "traces", "read_events": "traces", "read_jsonl": "traces", "read_parquet": "traces",
    "records_from_frame": "traces", "replay_trace": "traces", "write_parquet": "traces",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'llmteams_lab.datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(f"llmteams_lab.datasets.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
