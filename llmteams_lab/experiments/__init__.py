"""Experiments (level 9): design sweeps over spec paths, fault scenarios and seeds,
streamed to a parquet dataset that resumes, on this process, a local pool or Ray."""

from llmteams_lab.experiments.grid import Design, designs, set_path, variant
from llmteams_lab.experiments.store import ResultStore, load_results
from llmteams_lab.experiments.sweep import sweep

__all__ = ["Design", "ResultStore", "designs", "load_results", "set_path", "sweep", "variant"]
