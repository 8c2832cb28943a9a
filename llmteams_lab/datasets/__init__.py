"""Datasets (level 6): trace I/O for our own logs, their replay, and the paper's runs."""

from llmteams_lab.datasets.traces import (
    ParquetSink,
    read_events,
    read_jsonl,
    read_parquet,
    records_from_frame,
    write_parquet,
)
from llmteams_lab.datasets.paper import PaperDataset, load_paper_dataset
from llmteams_lab.datasets.replay import replay_trace

__all__ = ["PaperDataset", "ParquetSink", "load_paper_dataset", "read_events", "read_jsonl", "read_parquet",
           "records_from_frame", "replay_trace", "write_parquet"]
