"""The team-graph widget's front end ships inside the wheel and is found once installed.

Builds a wheel from a copy of the project (pip, build isolation as in CI), checks that
``widgets/*.js|css`` are in it as package data, then imports the unpacked wheel in a
fresh interpreter and asks it where the widget sources are.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import build_wheel

ROOT = Path(__file__).resolve().parents[2]
ASSETS = sorted(p.name for p in (ROOT / "widgets").iterdir() if p.suffix in (".js", ".css"))


@pytest.mark.slow
def test_the_wheel_ships_the_widget_sources_and_the_installed_package_finds_them(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        shipped = {name: zf.read(name) for name in zf.namelist() if name.startswith("llmteams_lab/ui/_widgets/")}
        zf.extractall(tmp_path / "installed")
    assert sorted(Path(n).name for n in shipped) == ASSETS
    assert {"lab.css", "plot_view.css", "plot_view.js", "team_graph.css", "team_graph.js"} <= set(ASSETS)
    for name, data in shipped.items():
        assert data == (ROOT / "widgets" / Path(name).name).read_bytes()
    probe = ("import llmteams_lab.ui._assets as a, llmteams_lab.ui.graph as g; "
             "print(a.asset_dir()); print(g.TeamGraph()._esm[:40])")
    env = {"PYTHONPATH": str(tmp_path / "installed"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    where, esm = out.stdout.splitlines()
    assert Path(where) == tmp_path / "installed" / "llmteams_lab" / "ui" / "_widgets"
    assert esm.startswith("// Team graph")


def test_a_source_checkout_reads_the_widgets_folder_directly():
    from llmteams_lab.ui import _assets

    assert _assets.asset_dir() == ROOT / "widgets"
    assert _assets.asset("team_graph.js").read_text(encoding="utf-8").startswith("// Team graph")
