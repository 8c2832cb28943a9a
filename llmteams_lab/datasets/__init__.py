"""Datasets (level 6): trace I/O for our own logs (the paper importer joins later)."""

from llmteams_lab.datasets.traces import (
    ParquetSink,
    read_events,
    read_jsonl,
    read_parquet,
    records_from_frame,
    write_parquet,
)

__all__ = ["ParquetSink", "read_events", "read_jsonl", "read_parquet", "records_from_frame", "write_parquet"]
