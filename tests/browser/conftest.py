"""One JupyterLab server per test session (per xdist worker); a Chromium per test.

Starting JupyterLab costs ~4 s: every browser test shares one server. Chromium starts in
about a second and is started per test, because Playwright's sync API keeps an asyncio
loop running in its thread while it is open — a session-long browser would make every
later ``asyncio.run`` in that worker fail. After each test its kernels are stopped, so
the next test starts on an idle machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.browser.jlab import JupyterLab, chromium_browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with JupyterLab(tmp_path_factory.mktemp("jupyterlab")) as lab:
        yield lab


@pytest.fixture
def browser() -> Iterator:
    with chromium_browser() as b:
        yield b


@pytest.fixture
def page(browser, jupyterlab: JupyterLab) -> Iterator:
    """A fresh page (1400 × 2200) whose uncaught errors are collected in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    try:
        yield page
    finally:
        context.close()
        jupyterlab.shutdown_kernels()


@pytest.fixture
def screenshots() -> Path:
    """Where browser tests save what they saw (``test-output/browser``)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
