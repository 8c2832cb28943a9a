"""A real JupyterLab and a real headless Chromium, for the browser test and benchmark.

JupyterLab runs on 127.0.0.1 with a random token and every Jupyter directory isolated
under one temporary folder (config, data, runtime, settings, workspaces), with news,
update checks and the extension manager off, so it makes no outside request and
leaves nothing behind. Notebook windowing is off so every cell renders. Chromium is
the system one (``/usr/bin/chromium``); Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """``with JupyterLab(workdir) as lab:`` — a server on ``lab.url`` serving ``workdir/root``."""

    def __init__(self, workdir: Path, notebooks: list[str] | None = None):
        self.workdir = Path(workdir)
        self.root = self.workdir / "root"
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "jupyterlab.log"
        self._notebooks = notebooks or []
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "JupyterLab":
        self.root.mkdir(parents=True, exist_ok=True)
        for name in self._notebooks:  # a copy: saving outputs must not touch the repository
            shutil.copy(NOTEBOOKS / name, self.root / name)
        self._settings("notebook-extension", "tracker", {"windowingMode": "none"})  # render every cell
        self._settings("apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False})
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(self.workdir / "config"),
               "JUPYTER_DATA_DIR": str(self.workdir / "data"), "JUPYTER_RUNTIME_DIR": str(self.workdir / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(self.workdir / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(self.workdir / "workspaces"), "PYTHONWARNINGS": "ignore"}
        args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True"]
        self._log = self.log_path.open("w")
        self._proc = subprocess.Popen(args, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _settings(self, plugin: str, name: str, values: dict) -> None:
        folder = self.workdir / "settings" / "@jupyterlab" / plugin
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early; log:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"JupyterLab did not answer in {timeout} s; log:\n{self.log_path.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def notebook_url(self, name: str) -> str:
        # reset: a fresh workspace, so notebooks of earlier tests are not reopened beside it
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def add(self, name: str, source: Path | None = None) -> str:
        """Copy notebook ``name`` (from ``notebooks/``, or ``source``) into the server's root."""
        shutil.copy(source or NOTEBOOKS / name, self.root / name)
        return name

    def write(self, name: str, *cells: str) -> str:
        """Write notebook ``name`` with these code cells into the server's root."""
        import nbformat

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
        nbformat.write(nb, self.root / name)
        return name

    def shutdown_kernels(self) -> None:
        """Stop every kernel the server runs (so the next test starts on an idle machine)."""
        def call(method: str, path: str) -> bytes:
            req = urllib.request.Request(f"{self.url}{path}?token={self.token}", method=method)
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.read()

        for kernel in json.loads(call("GET", "/api/kernels")):
            with contextlib.suppress(OSError):
                call("DELETE", f"/api/kernels/{kernel['id']}")


@contextlib.contextmanager
def chromium_browser() -> Iterator:
    """A fresh headless system Chromium (closed on exit)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: install the Debian package (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 2200) -> Iterator:
    """A page of a fresh headless system Chromium (closed on exit)."""
    with chromium_browser() as browser:
        yield browser.new_page(viewport={"width": width, "height": height})


def open_and_run_all(page, lab: JupyterLab, name: str, timeout_ms: int = 60_000) -> None:
    """Open notebook ``name`` and run all its cells (waits for the kernel to be ready)."""
    page.goto(lab.notebook_url(name), timeout=timeout_ms)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_ms)
    page.wait_for_function("""() => {
        const app = window.jupyterapp; const w = app && app.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return !!k && k.status === 'idle';
    }""", timeout=timeout_ms)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until every cell has run and the kernel is idle again."""
    page.wait_for_function("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        const pending = [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
        return !!k && k.status === 'idle' && !pending;
    }""", timeout=timeout_ms)


# --- reading what the user sees -----------------------------------------------------------
def node_fills(page) -> list[dict]:
    """Every team-graph node: agent, answer, state and the fill colour on screen."""
    return page.eval_on_selector_all(".ltl-graph .ltl-node", """nodes => nodes.map(g => ({
        agent: g.dataset.agent, answer: g.dataset.answer, state: g.dataset.state,
        fill: getComputedStyle(g.querySelector('.ltl-node-circle')).fill,
        attr: g.querySelector('.ltl-node-circle').getAttribute('fill')}))""")


def plot_x(page, title: str) -> list:
    """x values of the first trace of the plotly figure titled ``title``, as rendered."""
    return page.evaluate("""title => {
        const plots = [...document.querySelectorAll('.js-plotly-plot')];
        const gd = plots.find(p => (p.querySelector('.gtitle') || {}).textContent === title);
        if (!gd || !gd.data || !gd.data[0]) return null;
        return Array.from(gd.data[0].x || []);
    }""", title)


def wait_plot_x(page, title: str, rounds: int, timeout_ms: int = 20_000) -> list:
    """Wait until the plot titled ``title`` shows rounds 1..``rounds`` (a plot view draws a new
    figure after the page has painted the messages that came with it, so the status line
    and the graph show a round a moment before the plots do); return its x values."""
    try:
        page.wait_for_function("""([title, rounds]) => {
            const gd = [...document.querySelectorAll('.js-plotly-plot')]
                .find(p => (p.querySelector('.gtitle') || {}).textContent === title);
            return !!gd && !!gd.data && !!gd.data[0] && Array.from(gd.data[0].x || []).length >= rounds;
        }""", arg=[title, rounds], timeout=timeout_ms)
    except Exception as err:
        raise AssertionError(f"{title!r} does not show {rounds} rounds: {plot_x(page, title)}") from err
    return plot_x(page, title)


def plots(page) -> list[dict]:
    """Every live plot of the page as drawn: its state, title, traces and points on screen."""
    return page.eval_on_selector_all(".ltl-plot", """boxes => boxes.map(b => {
        const gd = b.querySelector('.js-plotly-plot');
        const data = (gd && gd.data) || [];
        const note = b.querySelector('.ltl-plot-error');
        return {state: b.dataset.state || '', title: gd ? ((gd.querySelector('.gtitle') || {}).textContent || '') : '',
                traces: data.length, points: data.reduce((s, t) => s + Array.from(t.x || []).length, 0),
                error: note && !note.hidden ? note.textContent : ''};
    })""")


def wait_plots_drawn(page, count: int, timeout_ms: int = 20_000) -> list[dict]:
    """Wait until ``count`` live plots are drawn, each with a title and a trace holding points
    (a blank plot — bare axes, no title, no traces — fails here); return them."""
    try:
        page.wait_for_function("""count => {
            const boxes = [...document.querySelectorAll('.ltl-plot')];
            return boxes.length >= count && boxes.every(b => {
                const gd = b.querySelector('.js-plotly-plot');
                return b.dataset.state === 'drawn' && gd && gd.data && gd.data.length > 0
                    && gd.data.some(t => Array.from(t.x || []).length > 0)
                    && ((gd.querySelector('.gtitle') || {}).textContent || '').length > 0;
            });
        }""", arg=count, timeout=timeout_ms)
    except Exception as err:  # name what is on screen instead of a bare timeout
        raise AssertionError(f"live plots not drawn: {plots(page)}") from err
    return plots(page)


def status(page) -> dict:
    """The lab's status line: round and controller state."""
    return page.eval_on_selector(".ltl-status-line", "s => ({round: +s.dataset.round, state: s.dataset.state,"
                                                     " text: s.textContent})")


# --- a widget's front end alone -------------------------------------------------------------
FAKE_MODEL = """async ([esm, state, plotly]) => {
    // A minimal anywidget model (get/set/on/off/send/save_changes) hosting one view:
    // custom messages the view sends are kept in window.__sent; 'need_plotly' is answered.
    const handlers = {};
    window.__sent = [];
    const model = {
        get: (k) => state[k], set: (k, v) => { state[k] = v; (handlers['change:' + k] || []).forEach(f => f()); },
        save_changes: () => {}, on: (e, f) => { (handlers[e] = handlers[e] || []).push(f); },
        off: (e, f) => { handlers[e] = (handlers[e] || []).filter(g => g !== f); },
        send: (msg) => {
            window.__sent.push(msg);
            if (msg.type === 'need_plotly' && plotly !== null)
                setTimeout(() => (handlers['msg:custom'] || []).forEach(f => f({type: 'plotly', source: plotly})), 0);
        },
    };
    window.__model = model;
    const url = URL.createObjectURL(new Blob([esm], {type: 'text/javascript'}));
    const mod = await import(url);
    const host = document.createElement('div');
    document.body.append(host);
    mod.default.render({model, el: host});
    return true;
}"""


def mount_widget(page, esm: Path, state: dict, *, plotly: str | None = None) -> None:
    """Render one anywidget front end (``esm``) on a blank page with ``state`` as its model;
    ``plotly`` is the plotly.js source the view gets when it asks the 'kernel' for it."""
    page.set_content("<!doctype html><html><body></body></html>")
    page.evaluate(FAKE_MODEL, [esm.read_text(encoding="utf-8"), state, plotly])
