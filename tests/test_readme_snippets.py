"""Every code block of README.md runs as written, in the context it says it is written for.

The blocks are read from the README, so a block someone adds later is covered without
an edit here. The rules a block must follow (each checked):

* a ``python`` block says where it runs on its first line — ``# script``, ``# notebook``
  or ``# script or notebook`` — and runs there: a script with a fresh interpreter in a
  subprocess, a notebook block as one cell in a real Jupyter kernel (nbclient), both for
  "script or notebook";
* a ``toml`` block whose first line is ``# NAME.toml`` is that file, written where the
  bash blocks run;
* every command of a ``bash`` block is run, started and stopped, or checked as
  :data:`NOT_RUN` says — a command of an unknown kind fails the test until it is added.

Every block runs in a fresh empty folder, away from the project (nothing may depend on
the working directory), with ``$OPENAI_BASE_URL`` pointing at ``llmteams-lab serve`` on
127.0.0.1 (with a key required and set), so the openai snippet runs offline and no command
ever contacts another machine: ``serve``/``proxy``/``classroom`` are started on a free
loopback port, and stopped with Ctrl-C once they listen.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbclient
import nbformat
import pytest

from llmteams_lab.serve import Background, Server

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTEXT = re.compile(r"^# (script|notebook)(?: or (script|notebook))?(?=$|[\s:(,.;—-])")
KEY = "sk-readme-" + "Zr4" * 12
LONG_RUNNING = ("serve", "proxy", "classroom")  # llmteams-lab subcommands that serve until Ctrl-C
# the first word of a command that is not run here -> where it is checked instead
NOT_RUN = {
    "pip": "installing is what CI does (.ci/run runs the README's test command verbatim: tests/test_readme.py)",
    "jupyter": "tests/browser starts JupyterLab and runs the lesson; its notebook path is checked here",
    "pytest": "it is this test suite",
    "mkdocs": "tests/test_docs.py builds the site with --strict",
}


@dataclass(frozen=True)
class Block:
    lang: str
    line: int
    code: str

    @property
    def contexts(self) -> tuple[str, ...]:
        m = CONTEXT.match(self.code)
        return tuple(dict.fromkeys(c for c in m.groups() if c)) if m else ()


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
        found.append(Block(m.group(1), text.count("\n", 0, m.start()) + 1, m.group(2)))
    return found


def files() -> dict[str, str]:
    """README blocks that are files: ``toml`` blocks whose first line names the file."""
    out = {}
    for b in blocks():
        m = re.match(r"^# ([\w.-]+\.toml)\s*$", b.code.splitlines()[0]) if b.lang == "toml" else None
        if m:
            out[m.group(1)] = b.code
    return out


def commands(code: str) -> list[list[str]]:
    """A bash block's commands as argument lists: continuations joined, comments dropped,
    ``a && b`` split in two."""
    joined = re.sub(r"\\\n\s*", " ", code)
    out = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            out.append(words[:cut])
            words = words[cut + 1:]
    return [c for c in out if c]


PYTHON = [(b, c) for b in blocks() if b.lang == "python" for c in (b.contexts or ("?",))]
BASH = [b for b in blocks() if b.lang == "bash"]


def test_every_python_block_says_where_it_runs_and_every_block_is_covered() -> None:
    unmarked = [b.line for b in blocks() if b.lang == "python" and not b.contexts]
    assert not unmarked, (f"README.md lines {unmarked}: a python block's first line must say where it runs "
                          "('# script', '# notebook' or '# script or notebook')")
    assert {b.lang for b in blocks()} <= {"python", "bash", "toml"}, "a block in a language this test cannot run"
    assert {c for _, c in PYTHON} == {"script", "notebook"} and "team.toml" in files()
    run = [w for b in BASH for w in commands(b.code) if w[0] == "llmteams-lab"]
    assert {w[1] for w in run if len(w) > 1} >= {"run", "serve", "proxy", "classroom"}, run
    unnamed = [b.line for b in blocks() if b.lang == "toml" and b.code not in files().values()]
    assert not unnamed, f"README.md lines {unnamed}: a toml block's first line must name its file ('# NAME.toml')"


@pytest.fixture(scope="module")
def serve_url():
    """``llmteams-lab serve`` on 127.0.0.1 standing in for OpenAI (a key is required)."""
    with Background(Server(api_key=KEY)) as url:
        yield url


@pytest.fixture
def reader(tmp_path: Path, serve_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A reader's empty folder and environment: the README's files, offline OpenAI."""
    for name, text in files().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", serve_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("LLMTEAMS_PAPER_DATA", raising=False)  # found from the project root
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize(("block", "context"), PYTHON, ids=[f"L{b.line}-{c}" for b, c in PYTHON])
def test_python_block_runs_as_written(block: Block, context: str, reader: Path) -> None:
    if context == "script":
        script = reader / "snippet.py"
        script.write_text(block.code, encoding="utf-8")
        done = subprocess.run([sys.executable, str(script)], cwd=reader, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"README.md:{block.line} as a script:\n{done.stderr[-4000:]}"
        assert done.stdout.strip(), "a script block prints what it shows"
        assert "Warning" not in done.stderr, done.stderr[-2000:]
        assert KEY not in done.stdout + done.stderr
        return
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(block.code)])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(reader)}})
    client.execute()  # raises CellExecutionError naming the failing line
    outputs = nb.cells[0].outputs
    assert outputs, "a notebook block shows something"
    errors = [o for o in outputs if o.get("output_type") == "error" or o.get("name") == "stderr"]
    assert not errors, errors
    assert KEY not in str(outputs)


@pytest.mark.slow
@pytest.mark.parametrize("block", BASH, ids=[f"L{b.line}" for b in BASH])
def test_bash_block_runs_as_written(block: Block, reader: Path) -> None:
    for words in commands(block.code):
        head = words[0] if words[0] != "python" else "pytest" if words[1:3] == ["-m", "pytest"] else "python"
        if head in NOT_RUN:
            for arg in words:
                if arg.endswith(".ipynb"):
                    assert (ROOT / arg).is_file(), f"README.md:{block.line}: {arg} does not exist"
            continue
        assert head == "llmteams-lab", (f"README.md:{block.line}: this test does not know how to check {words}; "
                                        "run it in test_bash_block_runs_as_written or list it in NOT_RUN")
        if len(words) > 1 and words[1] in LONG_RUNNING:
            start_and_stop(words, reader)
        else:
            done = subprocess.run(cli(words), cwd=reader, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"README.md:{block.line}: {shlex.join(words)}\n{done.stderr[-3000:]}"
            assert "Traceback" not in done.stderr


def cli(words: list[str]) -> list[str]:
    """The console script as a reader types it (or the module, where it is not on PATH)."""
    script = shutil.which("llmteams-lab")
    return [script, *words[1:]] if script else [sys.executable, "-m", "llmteams_lab.cli", *words[1:]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_and_stop(words: list[str], cwd: Path) -> None:
    """Start a serving command on a free loopback port, wait until it listens, then Ctrl-C."""
    port = free_port()
    if "--port" in words:
        words = list(words)
        words[words.index("--port") + 1] = str(port)
    else:
        words = [*words, "--port", str(port)]
    proc = subprocess.Popen(cli(words), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    try:
        deadline = time.monotonic() + 60
        while f"127.0.0.1:{port}" not in seen:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, f"{shlex.join(words)} exited with {proc.returncode}:\n{seen}"
            seen += line
            assert time.monotonic() < deadline, f"{shlex.join(words)} printed no URL:\n{seen}"
        while True:  # until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, seen
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in seen + rest, f"{shlex.join(words)}:\n{seen}{rest}"
