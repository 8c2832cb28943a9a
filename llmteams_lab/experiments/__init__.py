"""Experiments (level 9): design sweeps over spec paths, fault scenarios and seeds,
streamed to a parquet dataset that resumes, on this process, a local pool or Ray.

grid        designs from a grid of spec paths (``set_path``, ``designs``)
sweep       ``sweep``: run the designs on the same seeds, on an executor, into a store
store       the results on disk (``ResultStore``, ``load_results``)
runner      one task: a batch of seeds of one design (what workers run)
lockstep    a batch of seeds of a simulated debate or vote at once, vectorised across runs
baselines   self-consistency at the team's token spend, single members
strategies  error handling side by side: retries, compensation, voting (``compare_strategies``)
executors   in-process, ``LocalPool`` (worker processes), Ray (``ray_executor``)
config, cli ``SWEEP.toml`` and ``llmteams-lab sweep``
"""

from llmteams_lab.experiments.grid import Design, designs, set_path, variant
from llmteams_lab.experiments.store import ResultStore, load_results
from llmteams_lab.experiments.strategies import compare_strategies, strategy_table
from llmteams_lab.experiments.sweep import sweep

__all__ = ["Design", "ResultStore", "compare_strategies", "designs", "load_results", "set_path", "strategy_table",
           "sweep", "variant"]
