"""MkDocs hook: the pages that must not drift from the code are generated from it.

* ``<!-- llmteams:NAME -->`` markers in a page are replaced by tables built from the
  code's own vocabularies and docstrings (:data:`TABLES`): the event columns and kinds,
  the fault kinds with the fields each takes, the protocols. A name in a vocabulary
  without a description in its docstring fails the build, so a new event kind, fault
  kind or protocol cannot land undocumented.
* Every ``notebooks/*.ipynb`` becomes a page under *Lessons* (rendered by mkdocs-jupyter),
  and every public module or package of ``llmteams_lab`` a page under *Reference → API*
  (rendered by mkdocstrings): a lesson or package added later appears without an edit here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import mkdocs.plugins
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

import llmteams_lab
from llmteams_lab import events
from llmteams_lab.metrics.frame import SCHEMA
from llmteams_lab.protocols import deliberation
from llmteams_lab.spec import faults

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!--\s*llmteams:([a-z-]+)\s*-->")


# --- parsing the docstrings ------------------------------------------------------------------
def definitions(doc: str) -> dict[str, str]:
    """``name   text`` blocks of a docstring (a name at column 0, continuation lines indented)."""
    found: dict[str, str] = {}
    name = None
    for line in inspect.cleandoc(doc).splitlines():
        head = re.match(r"^([a-z_][a-z0-9_]*)\s+(\S.*)$", line)
        if head:
            name = head.group(1)
            found[name] = head.group(2).strip()
        elif name and line.startswith(" ") and line.strip() and not set(line.strip()) <= {"="}:
            found[name] += " " + line.strip()
        else:
            name = None
    return found


def split_items(text: str) -> list[str]:
    """``a (x, y), b, c (z); note`` -> ``['a (x, y)', 'b', 'c (z)']``: commas inside
    parentheses stay, a semicolon outside them starts a remark that is not an item."""
    items, depth, current = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            break
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    return [i for i in items + [current.strip()] if i]


def fault_descriptions() -> dict[str, str]:
    """Each fault kind's description, from the ``Kinds`` block of ``spec/faults.py``."""
    block = faults.__doc__.split("\nKinds\n", 1)[1].split("\n\n", 1)[0]
    categories = definitions(textwrap.dedent(block.strip("\n")))
    found = {}
    for text in categories.values():
        for item in split_items(text):
            m = re.match(r"^([a-z_]+)\s*(?:\((.*)\))?$", item.strip().rstrip("."), flags=re.S)
            if m:
                found[m.group(1)] = " ".join((m.group(2) or "").split())
    return found


def code(text: str) -> str:
    """RST double backticks as Markdown code."""
    return re.sub(r"``([^`]+)``", r"`\1`", text).replace("|", "\\|")


def require(names, described: dict[str, str], what: str, where: str) -> None:
    missing = [n for n in names if not described.get(n)]
    if missing:
        raise PluginError(f"{what} {missing} have no description in {where}: document them there")


# --- the generated tables ------------------------------------------------------------------
def event_columns() -> str:
    described = definitions(events.__doc__.split("schema every sink, frame and metric uses):", 1)[1])
    require(events.COLUMNS, described, "event columns", "llmteams_lab/events.py's module docstring")
    rows = [f"| `{c}` | `{SCHEMA[c]}` | {code(described[c])} |" for c in events.COLUMNS]
    return "\n".join(["| column | type | meaning |", "|---|---|---|", *rows])


def event_kinds() -> str:
    homes = _workload_event_homes()
    rows = []
    for kind in events.event_kinds():
        doc = inspect.getdoc(events.event_class(kind)) or ""
        if not doc:
            raise PluginError(f"event kind {kind} has no docstring in {homes.get(kind, 'llmteams_lab/events.py')}")
        name = (f"[`{kind}`][llmteams_lab.events.{kind}]" if hasattr(events, kind) else
                f"`{kind}` ({code(homes.get(kind, 'a workload'))})")  # a workload's own (events.define_event)
        rows.append(f"| {name} | {code(' '.join(doc.split()))} |")
    return "\n".join(["| kind | what it records |", "|---|---|", *rows])


def _workload_event_homes() -> dict[str, str]:
    """Each workload-defined event kind -> the workload module that defines it."""
    import llmteams_lab.workloads as workloads

    homes: dict[str, str] = {}
    for info in pkgutil.walk_packages(workloads.__path__, "llmteams_lab.workloads."):
        if info.name.endswith(".events"):
            module = importlib.import_module(info.name)
            homes.update({k: info.name for k in getattr(module, "__all__", ())})
    return homes


def fault_kinds() -> str:
    described = fault_descriptions()
    require(faults.FAULT_KINDS, described, "fault kinds", "llmteams_lab/spec/faults.py's 'Kinds' block")
    rows = []
    for category, kinds in (("agent", faults.AGENT_KINDS), ("network", faults.NETWORK_KINDS),
                            ("backend", faults.BACKEND_KINDS)):
        for kind in kinds:
            fields = ", ".join(f"`{f}`" for f in faults._FIELDS[kind])  # the spec's own per-kind check
            rows.append(f"| `{kind}` | {category} | {code(described[kind])} | {fields} |")
    return "\n".join(["| kind | category | what it does | schedule and parameters |", "|---|---|---|---|", *rows])


def protocols() -> str:
    described = definitions(deliberation.__doc__.split("The five protocols:", 1)[1])
    require(deliberation.PROTOCOLS, described, "protocols", "llmteams_lab/protocols/deliberation.py's docstring")
    rows = [f"| `{name}` | [`{cls.__name__}`][llmteams_lab.protocols.{cls.__name__}] | "
            f"{code(described[name])} |" for name, cls in sorted(deliberation.PROTOCOLS.items())]
    return "\n".join(["| `protocol.kind` | class | how the team decides |", "|---|---|---|", *rows])


TABLES = {"event-columns": event_columns, "event-kinds": event_kinds, "fault-kinds": fault_kinds,
          "protocols": protocols}


# --- generated pages and navigation ----------------------------------------------------------
def lessons() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def api_modules() -> list[str]:
    """Every public top-level module and package of llmteams_lab, with the façade first."""
    names = [m.name for m in pkgutil.iter_modules(llmteams_lab.__path__) if not m.name.startswith("_")]
    return ["llmteams_lab"] + [f"llmteams_lab.{n}" for n in sorted(names)]


def api_page(module: str) -> str:
    """The module's API; a package that imports its names lazily (PEP 562 ``__getattr__``,
    which static analysis cannot follow) is shown submodule by submodule instead."""
    package = importlib.import_module(module)
    if not hasattr(package, "__path__") or "__getattr__" not in vars(package):
        return f"::: {module}\n    options:\n      show_root_heading: true\n      heading_level: 1\n"
    subs = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    parts = [f"# `{module}`\n\n{inspect.getdoc(package) or ''}\n"]
    parts += [f"::: {module}.{sub}\n    options:\n      show_root_heading: true\n" for sub in subs]
    return "\n".join(parts)


def on_config(config):
    """Fill the *Lessons* and *Reference → API* sections of the nav."""
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Lessons" in entry:
            entry["Lessons"] = [f"notebooks/{p.name}" for p in lessons()]
        if isinstance(entry, dict) and "Reference" in entry:
            entry["Reference"].append({"API": [{m: f"reference/api/{m}.md"} for m in api_modules()]})
    return config


@mkdocs.plugins.event_priority(100)  # before mkdocs-jupyter looks for notebooks among the files
def on_files(files, config):
    for path in lessons():  # a real file beside the docs (mkdocs-jupyter cannot read generated ones)
        files.append(File(f"notebooks/{path.name}", src_dir=str(ROOT), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    for module in api_modules():
        files.append(File.generated(config, f"reference/api/{module}.md", content=api_page(module)))
    return files


def on_page_markdown(markdown, page, config, files):
    def table(match: re.Match) -> str:
        name = match.group(1)
        if name not in TABLES:
            raise PluginError(f"{page.file.src_uri}: unknown generated table {name!r}; known: {sorted(TABLES)}")
        return TABLES[name]()

    return MARKER.sub(table, markdown)
