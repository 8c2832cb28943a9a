"""The team builder: form controls that produce a new, validated :class:`TeamSpec`.

Why build from the whole form each time (not field by field): some rules span fields
(the leader protocol needs a star topology), so a user passes through invalid states
while editing — protocol first, topology second. The candidate spec is the last valid
spec with *every* form value applied; when it is invalid the spec's own message (e.g.
``'agents[0].competence' must be in [0, 1] (got 1.4)``) is shown under the form, the
offending control is highlighted, and :attr:`TeamBuilder.spec` keeps the last valid
spec. Profile fields apply to every agent only once touched, so a heterogeneous team
passed in keeps its agents' own values until the user edits that field.

The builder also edits the spec's faults (one JSON object per line, validated like the
spec) and whether the protocol stops at consensus. Growing a team is O(n); a team above
:data:`CONFIRM_ABOVE` agents is built only after "build anyway" (it takes seconds, and a
typo such as 100000 must not freeze the kernel unasked).
"""

from __future__ import annotations

import importlib.util
import json
from html import escape
from typing import Any, Callable

import ipywidgets as w

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.endpoint import EndpointSpec
from llmteams_lab.spec.network import EXECUTIONS, NetworkSpec
from llmteams_lab.spec.protocol import PROTOCOLS
from llmteams_lab.spec.team import check_team_size
from llmteams_lab.spec.topology import TOPOLOGIES

__all__ = ["CONFIRM_ABOVE", "TeamBuilder", "available_backends", "grow_agents"]

CONFIRM_ABOVE = 5_000  # agents: building a bigger team waits for "build anyway"
DEFAULT_DELAY_S = 0.1  # an asynchronous team's link delay when its spec names none

_PROFILE = ("competence", "conformity", "latency_s", "backend")
_TASK_KINDS = ("multiple_choice", "arithmetic")
# spec path prefix -> the control to highlight (first match wins)
_CONTROL_OF_PATH = (("network.delay_s", "delay_s"), ("detector", "timeout_s"), ("network", "execution"),
                    ("execution", "execution"), ("faults", "faults"), ("failure_policy", "faults"), ("protocol.stop", "stop"),
                    ("endpoint.base_url", "base_url"), ("endpoint.model", "model"),
                    ("endpoint.api_key_env", "api_key_env"), ("task.options", "options"), ("task.index", "index"),
                    ("task", "task"),
                    ("budgets.max_rounds", "rounds"), ("topology", "topology"), ("protocol", "protocol"),
                    ("seed", "seed"), ("n", "n"))


def available_backends(current: str | None = None) -> list[str]:
    """Backends a builder can offer: simulated always, openai when its module exists."""
    names = ["simulated"]
    if importlib.util.find_spec("llmteams_lab.backends.openai") is not None:
        names.append("openai")
    if current and current not in names:
        names.append(current)
    return names


class TeamBuilder(w.VBox):
    """The builder form. ``spec`` is the last valid spec; ``on_spec(fn)`` hears changes."""

    def __init__(self, spec: TeamSpec) -> None:
        self.spec = spec
        self.error: SpecError | None = None
        self._loading = False
        self._touched: set[str] = set()
        self._listeners: list[Callable[[TeamSpec], None]] = []
        self.controls = self._make_controls(spec)
        self.message = w.HTML()
        self.message.add_class("ltl-builder-message")
        self.view_as = w.ToggleButtons(options=["hide", "TOML", "JSON"], value="hide",
                                       description="show spec", style={"button_width": "60px"})
        self.spec_view = w.HTML()
        self.spec_view.add_class("ltl-spec-view")
        self.view_as.observe(lambda _: self._render_spec(), "value")
        self._confirmed = 0  # the team size "build anyway" was clicked for
        self.confirm = w.Button(description="build anyway", button_style="warning", layout=w.Layout(display="none"))
        self.confirm.add_class("ltl-builder-confirm")
        self.confirm.on_click(lambda _b: self._build_anyway())
        c = self.controls
        self.endpoint_row = w.HBox([c["base_url"], c["model"], c["api_key_env"]])
        self.async_row = w.HBox([c["timeout_s"]])
        rows = [w.HBox([c["n"], c["topology"], c["protocol"], c["backend"], c["stop"]]), self.endpoint_row,
                w.HBox([c["execution"], c["delay_s"], self.async_row]),
                w.HBox([c["competence"], c["conformity"], c["latency_s"]]),
                w.HBox([c["task"], c["options"], c["index"], c["rounds"], c["seed"]]), c["faults"]]
        super().__init__(children=[*rows, w.HBox([self.message, self.confirm]), self.view_as, self.spec_view])
        self._show_endpoint()
        self._show_async()
        self.add_class("ltl-builder")
        for name, control in self.controls.items():
            control.observe(self._changed(name), "value")

    # --- controls ------------------------------------------------------------------------
    def _make_controls(self, spec: TeamSpec) -> dict[str, w.ValueWidget]:
        a = spec.agents[0]
        ep = spec.endpoint or EndpointSpec()
        short = {"style": {"description_width": "initial"}, "layout": w.Layout(width="150px")}
        topo = list(TOPOLOGIES) if spec.topology.kind == "edges" else [k for k in TOPOLOGIES if k != "edges"]
        tasks = list(_TASK_KINDS) + ([spec.task.kind] if spec.task.kind not in _TASK_KINDS else [])
        controls = {
            "n": w.IntText(len(spec.agents), description="agents", **short),
            "topology": w.Dropdown(options=topo, value=spec.topology.kind, description="topology", **short),
            "protocol": w.Dropdown(options=list(PROTOCOLS), value=spec.protocol.kind, description="protocol",
                                   **short),
            "backend": w.Dropdown(options=available_backends(a.backend), value=a.backend, description="backend",
                                  **short),
            "competence": w.FloatText(a.competence, description="competence", step=0.05, **short),
            "conformity": w.FloatText(a.conformity, description="conformity", step=0.05, **short),
            "latency_s": w.FloatText(a.latency_s, description="latency (s)", step=0.1, **short),
            "task": w.Dropdown(options=tasks, value=spec.task.kind, description="questions", **short),
            "options": w.IntText(spec.task.options, description="options", **short),
            "index": w.IntText(spec.task.index, description="question #", **short),
            "rounds": w.IntText(spec.budgets.max_rounds, description="rounds", **short),
            "seed": w.IntText(spec.seed, description="seed", **short),
            # the endpoint of openai agents; the key itself is never typed here, only the
            # name of the environment variable that holds it
            "base_url": w.Text(ep.base_url or "", description="base URL", placeholder="OPENAI_BASE_URL or OpenAI",
                               style=short["style"], layout=w.Layout(width="330px")),
            "model": w.Text(ep.model, description="model", **short),
            "api_key_env": w.Text(ep.api_key_env, description="key env var", style=short["style"],
                                  layout=w.Layout(width="220px")),
            # the execution model; an asynchronous team's link delay and failure-detector timeout
            "execution": w.Dropdown(options=[e for e in ("synchronous", "asynchronous", "partially_synchronous")
                                             if e in EXECUTIONS], value=spec.execution, description="execution",
                                    style=short["style"], layout=w.Layout(width="250px")),
            "delay_s": w.FloatText(spec.network.delay_s if spec.network is not None else 0.0,
                                   description="link delay (s)", step=0.05, **short),
            "timeout_s": w.FloatText(spec.detector.timeout_s if spec.detector is not None else _default_timeout(spec),
                                     description="detector timeout (s), 0: none", step=0.5, style=short["style"],
                                     layout=w.Layout(width="250px")),
            "stop": w.Checkbox(bool(getattr(spec.protocol, "stop_at_consensus", True)), description="stop at consensus",
                               indent=False, layout=w.Layout(width="170px")),
            "faults": w.Textarea("\n".join(json.dumps(f.to_dict()) for f in spec.faults), description="faults",
                                 placeholder='one per line, e.g. {"kind": "crash", "agent": "a2", "at_round": 3}',
                                 continuous_update=False, style=short["style"],
                                 layout=w.Layout(width="96%", height="64px")),
        }
        for name, control in controls.items():
            control.add_class(f"ltl-builder-{name}")
        return controls

    def load(self, spec: TeamSpec) -> None:
        """Show ``spec`` in the form (e.g. after ``lab.reset(spec)``) without re-announcing it."""
        self._loading = True
        try:
            fresh = self._make_controls(spec)
            for name, control in self.controls.items():
                if isinstance(control, w.Dropdown):
                    control.options = fresh[name].options
                control.value = fresh[name].value
                fresh[name].close()
        finally:
            self._loading = False
        self._show_endpoint()
        self._show_async()
        self.spec, self.error, self._touched = spec, None, set()
        self.message.value = ""
        self._render_spec()

    def _changed(self, name: str) -> Callable[[Any], None]:
        def handler(change: dict) -> None:
            if self._loading:
                return
            if name in _PROFILE:
                self._touched.add(name)
            if name == "backend":
                self._show_endpoint()
            if name == "execution":
                self._show_async()
                delay = self.controls["delay_s"]
                if change["new"] != "synchronous" and delay.value == 0:
                    self._loading = True  # an asynchronous team with instant links is rarely what is meant
                    delay.value = DEFAULT_DELAY_S
                    self._loading = False
            self.apply()
        return handler

    def on_spec(self, fn: Callable[[TeamSpec], None]) -> None:
        """Call ``fn(spec)`` whenever the form yields a new valid spec."""
        self._listeners.append(fn)

    # --- building the spec -----------------------------------------------------------------
    def candidate(self) -> TeamSpec:
        """The spec the form describes (raises :class:`SpecError` if it is invalid)."""
        v = {name: control.value for name, control in self.controls.items()}
        data = self.spec.to_dict(listed=True)
        n = check_team_size("n", v["n"])
        if n > CONFIRM_ABOVE and n != self._confirmed and n != len(self.spec.agents):
            raise SpecError("n", f"is a team of {n:,} agents: building it takes seconds (more for a complete "
                                 "graph); click 'build anyway' to go on", n)
        agents = grow_agents(data["agents"], n)
        for agent in agents:
            agent.update({k: v[k] for k in _PROFILE if k in self._touched})
        if v["protocol"] == "leader" and not any(a.get("role") == "leader" for a in agents):
            agents[0]["role"] = "leader"
        data["agents"] = agents
        data["topology"] = {**data.get("topology", {}), "kind": v["topology"]}
        data["protocol"] = {**data.get("protocol", {}), "kind": v["protocol"], "stop_at_consensus": v["stop"]}
        data["faults"] = _faults(v["faults"])
        data["task"] = {**data.get("task", {}), "kind": v["task"], "options": v["options"], "index": v["index"]}
        data["budgets"] = {**data.get("budgets", {}), "max_rounds": v["rounds"]}
        data["seed"] = v["seed"]
        _execution(data, v["execution"], v["delay_s"], v["timeout_s"])
        if any(a.get("backend") == "openai" for a in agents):
            endpoint = {**data.get("endpoint", {}), "model": v["model"], "api_key_env": v["api_key_env"]}
            endpoint.pop("base_url", None)
            data["endpoint"] = {**endpoint, **({"base_url": v["base_url"]} if v["base_url"] else {})}
        return TeamSpec.from_dict(data)

    def _show_endpoint(self) -> None:
        """The endpoint fields only matter (and only show) for openai agents."""
        self.endpoint_row.layout.display = "flex" if self.controls["backend"].value == "openai" else "none"

    def _show_async(self) -> None:
        """The detector timeout only matters (and only shows) for asynchronous teams."""
        asynchronous = self.controls["execution"].value != "synchronous"
        self.async_row.layout.display = "flex" if asynchronous else "none"

    def _build_anyway(self) -> None:
        self._confirmed = self.controls["n"].value
        self.apply()

    def apply(self) -> TeamSpec | None:
        """Validate the form; on success adopt and announce the new spec, else show why."""
        for control in self.controls.values():
            control.remove_class("ltl-invalid")
        self.confirm.layout.display = "none"
        try:
            spec = self.candidate()
        except SpecError as err:
            if err.path == "n" and "build anyway" in str(err):
                self.confirm.layout.display = ""
            self.error = err
            self.message.value = f"<span class='ltl-invalid-text'>{escape(str(err))}</span> — keeping the last valid spec"
            control = _control_for(err.path)
            if control is not None:
                self.controls[control].add_class("ltl-invalid")
            return None
        self.error = None
        changed = spec != self.spec
        self.spec = spec
        self.message.value = ""
        self._render_spec()
        if changed:
            for fn in list(self._listeners):
                fn(spec)
        return spec

    def _render_spec(self) -> None:
        fmt = self.view_as.value
        if fmt == "hide":
            self.spec_view.value = ""
            return
        text = self.spec.to_toml() if fmt == "TOML" else self.spec.to_json(indent=2)
        self.spec_view.value = f"<pre class='ltl-spec-text'>{escape(text)}</pre>"

    @property
    def spec_text(self) -> str:
        """What the "show spec" view shows (empty when hidden)."""
        fmt = self.view_as.value
        return "" if fmt == "hide" else (self.spec.to_toml() if fmt == "TOML" else self.spec.to_json(indent=2))


def _control_for(path: str) -> str | None:
    """The control to highlight for a :class:`SpecError` path."""
    if path.startswith("agents"):
        leaf = path.rsplit(".", 1)[-1]
        return leaf if leaf in _PROFILE else "n"
    for prefix, control in _CONTROL_OF_PATH:
        if path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "["):
            return control
    return None


def grow_agents(agents: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The first ``n`` agents, or the team grown to ``n`` with copies of its last agent under
    fresh ids ``a<i>`` — in O(n): the taken ids are collected once (the first edition
    rescanned them per new agent, 7.6 s for 10,000 agents)."""
    out = agents[:n]
    taken = {a["id"] for a in out}
    i = len(out)
    template = {**out[-1], "role": "member"}
    while len(out) < n:
        while f"a{i}" in taken:
            i += 1
        out.append({**template, "id": f"a{i}"})
        taken.add(f"a{i}")
        i += 1
    return out


def _default_timeout(spec: TeamSpec) -> float:
    """A detector timeout that suspects a silent peer after about three typical turns."""
    latencies = sorted(a.latency_s for a in spec.agents)
    return round(3 * latencies[len(latencies) // 2], 1) or 1.0


def _execution(data: dict[str, Any], execution: str, delay_s: Any, timeout_s: Any) -> None:
    """Apply the execution model and link delay to a spec dict. Asynchronous teams get the
    form's detector (timeout 0: none); a synchronous team drops what only applies to
    asynchronous ones (detector, ``wait``, ``tick_s``), so switching back always works.
    Partial synchrony needs its bounds: GST and Δ default to 10 and 3 link delays."""
    data["execution"] = execution
    network = dict(data.get("network") or {})
    network["delay_s"] = delay_s
    data.pop("detector", None)
    if execution == "synchronous":
        data["protocol"] = {k: v for k, v in data.get("protocol", {}).items() if k != "wait"}
        network.pop("tick_s", None)
    elif timeout_s != 0:
        data["detector"] = {**((data.get("detector") or {}) if data.get("detector") else {}), "timeout_s": timeout_s}
    if execution == "partially_synchronous" and network.get("gst_s") is None:
        unit = max(float(delay_s), 0.1) if isinstance(delay_s, (int, float)) else 0.1
        network.update(gst_s=round(10 * unit, 6), delta_s=round(3 * unit, 6))
    elif execution != "partially_synchronous":
        network.pop("gst_s", None)
        network.pop("delta_s", None)
    if _is_default_network(network):
        data.pop("network", None)  # instant and lossless: the spec's own default, not a table
    else:
        data["network"] = network


def _is_default_network(network: dict[str, Any]) -> bool:
    try:
        return NetworkSpec.from_dict(network) == NetworkSpec()
    except SpecError:
        return False  # invalid: left in the spec dict, whose validation names the field


def _faults(text: str) -> list[Any]:
    """The faults field: one JSON object per line (blank lines ignored)."""
    out = []
    for k, line in enumerate(x for x in text.splitlines() if x.strip()):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise SpecError(f"faults[{k}]", f"must be one JSON object per line ({err.msg})", line[:60]) from None
    return out
