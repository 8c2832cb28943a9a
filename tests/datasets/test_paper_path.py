"""Where the paper's data is found: an explicit path, ``$LLMTEAMS_PAPER_DATA``, or the
project root — never the working directory (a notebook's kernel runs in ``notebooks/``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmteams_lab.datasets import load_paper_dataset, paper_data_path
from llmteams_lab.datasets import paper as paper_module
from llmteams_lab.errors import DatasetError
from tests.support import PAPER_DATA

ENV = paper_module.PAPER_DATA_ENV


def test_an_explicit_path_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "from-env"))
    assert paper_data_path(tmp_path / "given") == tmp_path / "given"
    assert paper_data_path() == tmp_path / "from-env"


def test_a_variable_naming_an_empty_folder_says_it_came_from_the_variable(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    with pytest.raises(DatasetError) as err:
        load_paper_dataset()
    message = str(err.value)
    assert str(tmp_path) in message and f"(from ${ENV})" in message
    assert "runs.parquet" in message and "emieczkowski/distributed-llm-teams" in message


def test_the_project_root_is_used_from_any_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (PAPER_DATA / "runs.parquet").is_file():
        pytest.skip(f"the paper's data is not at {PAPER_DATA}")
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # a notebook kernel's folder, say
    assert paper_data_path().resolve() == PAPER_DATA.resolve()


def test_not_found_names_every_place_looked_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    places = [tmp_path / "data" / "paper-2603.12229", tmp_path / "shared" / "data" / "paper-2603.12229"]
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(paper_module, "_project_candidates", lambda: places)
    with pytest.raises(DatasetError) as err:
        load_paper_dataset()
    message = str(err.value)
    assert f"${ENV} (not set)" in message and all(str(p) in message for p in places)
    assert f"Set {ENV} to a folder holding runs.parquet and events.parquet" in message
    assert isinstance(err.value, ValueError)  # DatasetError is also the builtin


def test_an_installed_package_has_no_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(paper_module, "_project_candidates", lambda: [])
    with pytest.raises(DatasetError, match="no project root"):
        paper_data_path()
