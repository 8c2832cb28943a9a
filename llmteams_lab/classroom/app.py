"""The lessons as classroom apps: Voilà renders a notebook with its code hidden and its
widgets live, so students step, play and break a team without touching code.

Why Voilà in this process (not a child process): it shuts its kernels down on Ctrl-C
and on SIGTERM itself, so stopping ``llmteams-lab classroom`` by either leaves no kernel
behind. Each page load starts a fresh kernel in the notebook's folder that runs the whole
notebook, exactly as "Run All" in JupyterLab would — so a lesson's Step and Play buttons
drive the lab on that kernel's own event loop, as they do in JupyterLab.

Only this machine is served (a loopback address): Voilà has no login of its own here,
and a kernel runs code. The page asks no other machine for anything (see the template in
``share/voila/templates/llmteams-classroom``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from llmteams_lab.backends.connection import is_loopback_host
from llmteams_lab.errors import ArgumentError, MissingExtraError, ServiceError

__all__ = ["SHARE", "TEMPLATE", "lessons_dir", "resolve_target", "serve_classroom", "voila_argv"]

TEMPLATE = "llmteams-classroom"
SHARE = Path(__file__).resolve().parent / "share"  # on JUPYTER_PATH, so Voilà finds the template


def lessons_dir() -> Path | None:
    """The project's ``notebooks/`` in a source checkout (an installed wheel ships no lessons)."""
    root = Path(__file__).resolve().parents[2]
    folder = root / "notebooks"
    return folder if (root / "pyproject.toml").is_file() and folder.is_dir() else None


def resolve_target(target: str | os.PathLike | None) -> Path:
    """What to serve: a notebook or a folder of notebooks. ``None`` is the lessons folder
    (else the working directory); a bare lesson name (``01_quickstart``) is looked up there."""
    lessons = lessons_dir()
    if target is None:
        return lessons or Path.cwd()
    path = Path(target)
    if path.is_dir() or (path.is_file() and path.suffix == ".ipynb"):
        return path.resolve()
    if path.exists():
        raise ArgumentError("NOTEBOOK", "must be a .ipynb notebook or a folder of notebooks", str(target))
    if lessons is not None and len(path.parts) == 1:
        matches = sorted(lessons.glob(f"{path.stem}*.ipynb"))
        if len(matches) == 1:
            return matches[0]
    known = sorted(p.stem for p in lessons.glob("*.ipynb")) if lessons is not None else []
    hint = f"; the lessons are {known}" if known else ""
    raise ArgumentError("NOTEBOOK", f"must be an existing notebook, folder or lesson name{hint}", str(target))


def voila_argv(target: Path, host: str, port: int) -> list[str]:
    """Voilà's command line for ``target`` on ``host:port``: sources stripped, our template."""
    return [str(target), "--no-browser", f"--Voila.ip={host}", f"--port={port}", "--Voila.port_retries=0",
            "--strip_sources=True", f"--template={TEMPLATE}", "--theme=light"]


def serve_classroom(target: str | os.PathLike | None = None, *, host: str = "127.0.0.1", port: int = 8866,
                    open_browser: bool = False) -> str:
    """Serve ``target`` (see :func:`resolve_target`) until Ctrl-C or SIGTERM; returns its URL.
    ``port=0`` takes a free port. Raises :class:`ServiceError` for a host other than this
    machine or a busy port, :class:`MissingExtraError` without the ``[classroom]`` extra."""
    if not is_loopback_host(host):
        raise ServiceError(f"classroom serves this machine only (127.0.0.1, ::1 or localhost), not {host!r}: "
                           "Voila has no login here and its kernels run code")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ArgumentError("--port", "must be a port number in [0, 65535] (0: any free port)", port)
    path = resolve_target(target)
    try:
        from voila.app import Voila
    except ImportError:
        raise MissingExtraError("llmteams-lab classroom needs Voila: pip install 'llmteams-lab[classroom]'") from None
    port = port or _free_port(host)
    _check_free(host, port)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(SHARE), os.environ.get("JUPYTER_PATH")) if p)
    what = f"the lesson {path.name}" if path.is_file() else f"the notebooks in {path}"
    print(f"classroom: serving {what} on {url} (code hidden, widgets live; Ctrl-C stops)", flush=True)
    argv = voila_argv(path, host, port) + (["--Voila.open_browser=True"] if open_browser else [])
    try:
        Voila.launch_instance(argv=argv)  # Voila stops its kernels on Ctrl-C once serving ...
    except KeyboardInterrupt:  # ... and a Ctrl-C while it starts up has nothing to stop yet
        pass
    return url


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_free(host: str, port: int) -> None:
    """Refuse a busy port up front (Voilà would log it and exit without saying more)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as err:
            raise ServiceError(f"classroom cannot listen on {host}:{port}: {err.strerror or err}") from None
