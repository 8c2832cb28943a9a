"""Agent profiles: what kind of model an agent stands for, by name (level 1, stdlib only).

A heterogeneous team mixes agents of different kinds — one strong, slow, expensive
model beside four cheap, fast ones. A :class:`ProfileSpec` is one such kind, complete:
how often it is right first time (``competence``), how long a call takes (``latency_s``,
jittered log-normally by ``latency_jitter``), how many tokens it reads and writes
(``prompt_tokens``, ``tokens_per_message``, ``reply_tokens``), what a million tokens cost
(``usd_per_mtok_in``/``_out``) and which model a real agent of this kind would call
(``model``). Every number is required: a profile that forgot one would silently fall
back to the generic defaults, so a missing field is a :class:`SpecError` naming it.

Three ways to use them:

* an agent names one: ``AgentSpec(id="a0", profile="strong-slow")`` (or ``team(5,
  profile="cheap-fast")``). The profile *wins*: its values replace the agent's own
  competence, latency, token and price fields (and its ``model``, when the profile has
  one); to change one of them, define your own profile. Conformity, confidence and the
  rest stay the agent's;
* a team defines its own in ``TeamSpec.profiles`` (``[[profiles]]`` tables in TOML), each
  under a name of its own (a preset's name is refused: a spec that says ``strong-slow``
  means the preset, for every reader);
* a team gives its composition as ``TeamSpec.mix`` (``{"strong-slow": 1, "cheap-fast": 4}``,
  counts summing to the team size): the first agent gets the first profile and so on —
  one spec value a sweep can vary (``grid={"mix": {...}}``).

:data:`PROFILES` are the named presets. Their prices are the list prices of their
``model`` in ``backends.pricing`` (standard tier, as of ``PRICES_AS_OF``; a test keeps the
two equal); their competence and latency are illustrative round numbers for teaching,
not measurements of those models — measure your own and define a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

__all__ = ["PROFILES", "PROFILE_FIELDS", "ProfileSpec", "apply_profile", "check_custom", "check_mix", "mix_profiles",
           "parse_mix", "profile_names", "resolve"]

# the agent fields a profile sets (plus ``model`` when the profile names one)
PROFILE_FIELDS = ("competence", "latency_s", "latency_jitter", "prompt_tokens", "tokens_per_message",
                  "reply_tokens", "usd_per_mtok_in", "usd_per_mtok_out")


@dataclass(frozen=True)
class ProfileSpec:
    """One kind of agent, complete (see the module docstring). ``name`` is how agents
    and mixes refer to it; ``description`` is one line for people (the builder shows it)."""

    name: str
    competence: float
    latency_s: float
    latency_jitter: float
    prompt_tokens: int
    tokens_per_message: int
    reply_tokens: int
    usd_per_mtok_in: float
    usd_per_mtok_out: float
    model: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        c.text("name", self.name, allow_empty=False)
        object.__setattr__(self, "competence", c.number_in("competence", self.competence, 0, 1))
        object.__setattr__(self, "latency_s", c.non_negative("latency_s", self.latency_s))
        object.__setattr__(self, "latency_jitter", c.number_in("latency_jitter", self.latency_jitter, 0, 5))
        for name in ("prompt_tokens", "tokens_per_message", "reply_tokens"):
            c.int_at_least(name, getattr(self, name), 0)
        for name in ("usd_per_mtok_in", "usd_per_mtok_out"):
            object.__setattr__(self, name, c.non_negative(name, getattr(self, name)))
        c.optional(c.text, "model", self.model)
        c.text("description", self.description)

    def fields(self) -> dict[str, Any]:
        """The agent fields this profile sets (``model`` only when it names one)."""
        out = {name: getattr(self, name) for name in PROFILE_FIELDS}
        if self.model is not None:
            out["model"] = self.model
        return out

    def cost_per_call(self, messages_read: int = 0) -> float:
        """Dollars one reply costs when it reads ``messages_read`` messages (unrounded)."""
        tokens_in = self.prompt_tokens + self.tokens_per_message * messages_read
        return (tokens_in * self.usd_per_mtok_in + self.reply_tokens * self.usd_per_mtok_out) / 1_000_000

    def replace(self, **changes: Any) -> "ProfileSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "ProfileSpec":
        return from_dict(cls, data, path)


def _preset(name: str, description: str, competence: float, latency_s: float, jitter: float, reply: int,
            price: tuple[float, float], model: str | None) -> ProfileSpec:
    return ProfileSpec(name, competence, latency_s, jitter, 200, 40, reply, price[0], price[1], model, description)


PROFILES: dict[str, ProfileSpec] = {p.name: p for p in (
    _preset("strong-slow", "a frontier model: right more often, slow, expensive", 0.85, 8.0, 0.3, 120,
            (2.50, 10.00), "gpt-4o"),
    _preset("balanced", "a mid-size model: middling on every axis", 0.7, 3.0, 0.25, 80, (0.40, 1.60),
            "gpt-4.1-mini"),
    _preset("cheap-fast", "a small hosted model: fast and cheap, right less often", 0.55, 1.0, 0.2, 60,
            (0.15, 0.60), "gpt-4o-mini"),
    _preset("reasoning-slow", "a reasoning model: thinks at length (many output tokens), very slow", 0.9, 20.0,
            0.4, 600, (1.10, 4.40), "o4-mini"),
    _preset("local-free", "a small local model: no bill, weak, and slowed by your own GPU", 0.5, 2.0, 0.3, 60,
            (0.0, 0.0), None),
)}


def profile_names(custom: Sequence[ProfileSpec] = ()) -> list[str]:
    """Every profile name an agent may use: the presets and ``custom`` ones, sorted."""
    return sorted(set(PROFILES) | {p.name for p in custom})


def apply_profile(agent: Any, profile: str | ProfileSpec, custom: Sequence[ProfileSpec] = ()) -> Any:
    """``agent`` (an :class:`~llmteams_lab.spec.AgentSpec`) as an agent of ``profile``: the
    profile's fields set and ``agent.profile`` naming it. ``custom`` profiles win over
    presets. What the builder calls when a profile is picked."""
    found = profile if isinstance(profile, ProfileSpec) else resolve(profile, custom, "profile")
    return agent.replace(profile=found.name, **found.fields())


def check_custom(profiles: Any, path: str = "profiles") -> tuple[ProfileSpec, ...]:
    """A team's own profiles as a tuple, checked: tables become :class:`ProfileSpec`, names
    are unique and none is a preset's."""
    if not isinstance(profiles, (list, tuple)):
        raise SpecError(path, "must be a list of profiles", profiles)
    out = []
    for i, p in enumerate(profiles):
        p = from_dict(ProfileSpec, p, f"{path}[{i}]") if isinstance(p, Mapping) else p
        if not isinstance(p, ProfileSpec):
            raise SpecError(f"{path}[{i}]", "must be a ProfileSpec or a table", p)
        if p.name in PROFILES:
            raise SpecError(f"{path}[{i}].name", f"must not be a preset's name {sorted(PROFILES)} (give your "
                            "profile its own name)", p.name)
        if any(q.name == p.name for q in out):
            raise SpecError(f"{path}[{i}].name", "must be unique among the team's profiles", p.name)
        out.append(p)
    return tuple(out)


def resolve(name: Any, custom: Sequence[ProfileSpec], path: str) -> ProfileSpec:
    """The profile called ``name`` (a preset or one of the team's own)."""
    for p in custom:
        if p.name == name:
            return p
    if isinstance(name, str) and name in PROFILES:
        return PROFILES[name]
    raise SpecError(path, f"must be one of {profile_names(custom)}", name)


def check_mix(mix: Any, size: int, custom: Sequence[ProfileSpec] = (), path: str = "mix") -> tuple[tuple[str, int], ...]:
    """A team composition ``{profile: count}`` as ``((profile, count), ...)``, checked:
    known profile names, counts >= 1 summing to ``size``."""
    if isinstance(mix, Mapping):
        pairs = list(mix.items())
    elif isinstance(mix, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in mix):
        pairs = [tuple(p) for p in mix]
    else:
        raise SpecError(path, "must be a table of profile name -> agent count", mix)
    if not pairs:
        raise SpecError(path, "must name at least one profile", {})
    for name, count in pairs:
        resolve(name, custom, f"{path}.{name}" if isinstance(name, str) else path)
        c.int_at_least(f"{path}.{name}", count, 1)
    if len({name for name, _ in pairs}) != len(pairs):
        raise SpecError(path, "must name each profile once", [name for name, _ in pairs])
    total = sum(count for _, count in pairs)
    if total != size:
        raise SpecError(path, f"must have counts summing to the team size {size}", dict(pairs))
    return tuple((name, count) for name, count in pairs)


def mix_profiles(mix: Sequence[tuple[str, int]]) -> list[str]:
    """The profile of each agent, in team order, for a checked ``mix``."""
    return [name for name, count in mix for _ in range(count)]


def parse_mix(text: Any, path: str = "mix") -> dict[str, int]:
    """``"strong-slow:1, cheap-fast:4"`` (or ``"strong-slow, cheap-fast*4"``) as a mix
    table — the one-line form a text box or a command line gives. Names are not checked
    here (the team does that, knowing its own profiles)."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(path, "must be 'profile:count, ...' (e.g. 'strong-slow:1, cheap-fast:4')", text)
    mix: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, count = part.replace("*", ":").partition(":")
        name = name.strip()
        if not name or (sep and not count.strip().isdigit()):
            raise SpecError(path, "must be 'profile:count, ...' (e.g. 'strong-slow:1, cheap-fast:4')", part)
        if name in mix:
            raise SpecError(path, "must name each profile once", name)
        mix[name] = int(count) if sep else 1
    return mix
