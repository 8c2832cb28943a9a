"""Coordination roles on the team graph in a real JupyterLab: an election team's leader
wears its crown and term under its node, is ringed and coloured as the leader, and every
other node shows its role and term. Screenshots go to ``test-output/browser``."""

from __future__ import annotations

import re

import pytest

from llmteams_lab.plots.style import ROLE_COLORS
from tests.browser.jlab import open_and_run_all, wait_idle

pytestmark = pytest.mark.browser

SOURCE = """\
from llmteams_lab.spec import election_team
from llmteams_lab.ui import Lab

lab = Lab(election_team(5, seed=0, decisions=1, max_rounds=80))
while not any(e.kind == "LeaderElected" for e in lab.controller.run.events):
    await lab.step()
won = next(e for e in lab.controller.run.events if e.kind == "LeaderElected")
print(f"LEADER {won.agent} TERM {won.value} ROUND {lab.controller.round}")
lab
"""


def test_the_elected_leader_wears_its_crown_and_term(page, jupyterlab, screenshots) -> None:
    open_and_run_all(page, jupyterlab, jupyterlab.write("roles.ipynb", SOURCE))
    wait_idle(page)
    printed = " ".join(page.locator(".jp-OutputArea").all_text_contents())
    found = re.search(r"LEADER (a\d) TERM (\d+) ROUND (\d+)", printed)
    assert found, printed
    leader, term, round_ = found.group(1), found.group(2), found.group(3)
    page.wait_for_function("r => document.querySelector('.ltl-graph')?.dataset.round === r", arg=round_,
                           timeout=20_000)
    node = page.locator(f'.ltl-graph .ltl-node[data-agent="{leader}"]')
    assert node.get_attribute("data-role") == "leader"
    assert node.locator(".ltl-badge").text_content() == f"♛ t{term}"
    assert "ltl-lead" in (node.get_attribute("class") or "")
    ring = node.locator(".ltl-node-circle").evaluate("c => getComputedStyle(c).strokeWidth")
    assert ring == "3px"
    assert node.locator(".ltl-node-circle").get_attribute("fill") == ROLE_COLORS["leader"]
    others = page.locator(".ltl-graph .ltl-node:not(.ltl-lead)")
    assert others.count() == 4
    for k in range(4):
        assert others.nth(k).get_attribute("data-role") in ("follower", "candidate")
        assert others.nth(k).locator(".ltl-badge").text_content().endswith(f"t{term}")
    assert f"{leader}: leader (♛ t{term})" in node.locator("title").text_content()
    box = node.locator(".ltl-badge").bounding_box()
    assert box is not None and box["width"] > 10, "the badge is drawn, not just in the DOM"
    page.locator(".ltl-graph").first.screenshot(path=str(screenshots / "election_roles.png"))
    assert page.errors == [], page.errors
