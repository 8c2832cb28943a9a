"""``llmteams-lab classroom``: what it serves, how it calls Voilà, and what it refuses."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from llmteams_lab.classroom import app
from llmteams_lab.classroom.app import (
    SHARE,
    TEMPLATE,
    lessons_dir,
    resolve_target,
    voila_argv,
)
from llmteams_lab.cli import main
from llmteams_lab.errors import ArgumentError

ROOT = Path(__file__).resolve().parents[2]


def test_targets_resolve_to_a_notebook_or_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert lessons_dir() == ROOT / "notebooks"
    assert resolve_target(None) == ROOT / "notebooks"
    assert resolve_target("01_quickstart") == ROOT / "notebooks" / "01_quickstart.ipynb"
    assert resolve_target("07") == ROOT / "notebooks" / "07_paper_replay.ipynb"
    mine = tmp_path / "mine.ipynb"
    mine.write_text("{}", encoding="utf-8")
    assert resolve_target(mine) == mine and resolve_target(tmp_path) == tmp_path
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ArgumentError, match="must be a .ipynb notebook or a folder"):
        resolve_target(tmp_path / "notes.txt")
    with pytest.raises(ArgumentError, match=r"the lessons are \['01_quickstart'"):
        resolve_target("99_missing")
    with pytest.raises(ArgumentError, match="lesson name; the lessons are"):
        resolve_target("0")  # ambiguous: every lesson starts with 0
    monkeypatch.setattr(app, "lessons_dir", lambda: None)  # an installed wheel ships no lessons
    monkeypatch.chdir(tmp_path)
    assert resolve_target(None) == tmp_path


def test_voila_hides_the_code_with_our_offline_template() -> None:
    argv = voila_argv(ROOT / "notebooks" / "01_quickstart.ipynb", "127.0.0.1", 8866)
    assert "--strip_sources=True" in argv and f"--template={TEMPLATE}" in argv and "--Voila.ip=127.0.0.1" in argv
    template = SHARE / "voila" / "templates" / TEMPLATE
    assert (template / "conf.json").read_text(encoding="utf-8").strip() == '{"base_template": "lab"}'
    assert "cdn.jsdelivr.net" in (template / "index.html.j2").read_text(encoding="utf-8")  # the links it removes


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])
def test_other_hosts_are_refused(host: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["classroom", "--host", host]) == 2
    err = capsys.readouterr().err
    assert "classroom serves this machine only" in err and repr(host) in err and "Traceback" not in err


def test_a_busy_port_and_a_bad_port_are_clear_errors(capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["classroom", "01_quickstart", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["classroom", "--port", "70000"]) == 2
    assert "'--port' must be a port number in [0, 65535]" in capsys.readouterr().err


def test_without_voila_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "voila", None)
    monkeypatch.delitem(sys.modules, "voila.app", raising=False)
    assert main(["classroom", "01_quickstart", "--port", "0"]) == 2
    assert "pip install 'llmteams-lab[classroom]'" in capsys.readouterr().err
