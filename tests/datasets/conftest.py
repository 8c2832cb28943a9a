"""The paper's released runs, loaded once per test session (per xdist worker)."""

from __future__ import annotations

import pytest

from tests.support import PAPER_DATA

PAPER_DATA = PAPER_DATA


@pytest.fixture(scope="session")
def paper():
    """The converted dataset; skipped (not failed) where the shared data is not present."""
    if not (PAPER_DATA / "runs.parquet").is_file():
        pytest.skip(f"the paper's data is not at {PAPER_DATA}")
    from llmteams_lab.datasets import load_paper_dataset

    return load_paper_dataset(PAPER_DATA)


@pytest.fixture(scope="session")
def paper_figures(paper):
    from llmteams_lab.datasets.paper_figures import reproduce

    return reproduce(paper)
