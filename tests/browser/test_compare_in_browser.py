"""The compare widget in a real JupyterLab: two designs on one seed, one scrubber, the
first divergence announced and highlighted (``ui.compare``)."""

from __future__ import annotations

import nbformat
import pytest

from tests.browser.jlab import open_and_run_all, wait_idle

pytestmark = pytest.mark.browser

CELLS = [
    "from llmteams_lab import team\nfrom llmteams_lab.ui.compare import Compare",
    "cmp = Compare({'complete': team(7, competence=0.4, conformity=0.5, seed=1),\n"
    "               'ring': team(7, topology='ring', competence=0.4, conformity=0.5)})\n"
    "await cmp.run()\ncmp",
]


def test_two_designs_side_by_side_with_a_synchronised_scrubber(page, jupyterlab, screenshots, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    source = tmp_path / "compare.ipynb"
    nbformat.write(nb, source)
    open_and_run_all(page, jupyterlab, jupyterlab.add("compare.ipynb", source))
    wait_idle(page)
    page.wait_for_selector(".ltl-compare-banner[data-divergence='2']", timeout=20_000)
    graphs = page.locator(".ltl-compare .ltl-graph")
    assert graphs.count() == 2
    page.click(".ltl-compare-jump")  # "go to divergence": every panel shows round 2, highlighted
    page.wait_for_function("() => [...document.querySelectorAll('.ltl-compare .ltl-graph')]"
                           ".every(g => g.dataset.round === '2')", timeout=10_000)
    page.wait_for_function("() => document.querySelectorAll('.ltl-compare-panel.ltl-diverged').length === 2 && "
                           "[...document.querySelectorAll('.ltl-compare-caption')]"
                           ".every(c => c.textContent.startsWith('round 2'))", timeout=10_000)  # both panels redrawn
    highlighted = page.locator(".ltl-compare-panel.ltl-diverged").count()
    captions = page.locator(".ltl-compare-caption").all_text_contents()
    banner = page.locator(".ltl-compare-banner").text_content()
    page.wait_for_timeout(600)  # the round's message animation lands
    page.locator(".ltl-compare").screenshot(path=str(screenshots / "compare.png"))
    assert page.errors == []
    assert highlighted == 2 and all(c.startswith("round 2") for c in captions), captions
    assert "First divergence: round 2" in banner
