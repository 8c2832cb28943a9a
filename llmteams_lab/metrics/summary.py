"""The per-round table printed by the CLI and shown under a run: convergence joined
with communication overhead (see ``consensus`` and ``communication`` for formulas)."""

from __future__ import annotations

import polars as pl

from llmteams_lab.metrics.communication import overhead
from llmteams_lab.metrics.consensus import convergence

__all__ = ["round_summary"]


def round_summary(events: pl.DataFrame) -> pl.DataFrame:
    """One row per (run_id, round): agreement, entropy, accuracy, decision, messages, tokens."""
    conv = convergence(events)
    comm = overhead(events).select("run_id", "round", "messages", "tokens_in", "tokens_out", "cum_messages")
    return conv.join(comm, on=["run_id", "round"], how="left").sort("run_id", "round")
