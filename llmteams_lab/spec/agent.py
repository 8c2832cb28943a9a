"""One agent of a team: who it is, which backend answers for it, how it behaves.

The simulated-agent profile is flat on the spec (``competence``, ``conformity`` ...)
because that is how people talk about agents and how the builder edits them; an
LLM-backed agent ignores the profile and uses ``model``/``temperature``/``persona``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

BACKENDS = ("mock", "openai", "replay", "simulated")
ROLES = ("leader", "member")


@dataclass(frozen=True)
class AgentSpec:
    """An agent. Validated on construction; edit with ``replace``.

    Simulated profile (ignored by LLM backends):
      competence      P(first answer is correct), in [0, 1]
      conformity      P(adopting the confidence-weighted plurality of the inbox when it
                      differs from the agent's own answer), in [0, 1]; 0 is stubborn
      confidence      mean reported confidence, in [0, 1]
      calibration     confidence shift: +calibration when right, -calibration when wrong
      latency_s       median reply latency (virtual seconds), jittered log-normally by
      latency_jitter  (sigma of the log); a round lasts as long as its slowest agent
      prompt_tokens   input tokens of a reply with an empty inbox; every message read
      tokens_per_message  adds this many (so all-to-all input cost grows ~n^2 per round)
      reply_tokens    output tokens per reply
      susceptibility  P(adopting the answer a prompt-injection payload in its inbox urges),
                      in [0, 1]; unset means 0.5 (see ``workloads.deliberation.faults``)

    Addressing (every backend): an agent's messages go to all its out-neighbours
    (broadcast, the default), to the named ``recipients`` only (point-to-point /
    multicast; each must be an out-neighbour), or to ``fanout`` out-neighbours drawn at
    random per message (seeded). An LLM agent may also name recipients in its reply
    (the codec's ``to`` field), which then win for that reply.
    """

    id: str
    role: str = "member"
    backend: str = "simulated"
    competence: float = 0.6
    conformity: float = 0.5
    confidence: float = 0.7
    calibration: float = 0.1
    latency_s: float = 1.0
    latency_jitter: float = 0.25
    prompt_tokens: int = 200
    tokens_per_message: int = 40
    reply_tokens: int = 60
    model: str | None = None
    temperature: float | None = None
    persona: str | None = None
    susceptibility: float | None = None
    recipients: tuple[str, ...] | None = None
    fanout: int | None = None

    _TUPLES = ("recipients",)

    def __post_init__(self) -> None:
        c.text("id", self.id, allow_empty=False)
        c.one_of("role", self.role, ROLES)
        c.one_of("backend", self.backend, BACKENDS)
        for name in ("competence", "conformity", "confidence", "calibration"):
            object.__setattr__(self, name, c.number_in(name, getattr(self, name), 0, 1))
        object.__setattr__(self, "latency_s", c.non_negative("latency_s", self.latency_s, c.MAX_SECONDS))
        object.__setattr__(self, "latency_jitter", c.number_in("latency_jitter", self.latency_jitter, 0, 5))
        for name in ("prompt_tokens", "tokens_per_message", "reply_tokens"):
            c.int_at_least(name, getattr(self, name), 0, c.MAX_TOKENS)
        c.optional(c.text, "model", self.model)
        if self.temperature is not None:
            object.__setattr__(self, "temperature", c.number_in("temperature", self.temperature, 0, 2))
        c.optional(c.text, "persona", self.persona)
        if self.susceptibility is not None:
            object.__setattr__(self, "susceptibility", c.number_in("susceptibility", self.susceptibility, 0, 1))
        if self.recipients is not None:
            if isinstance(self.recipients, str) or not isinstance(self.recipients, (tuple, list)) \
                    or not self.recipients or not all(isinstance(r, str) and r for r in self.recipients):
                raise SpecError("recipients", "must be a non-empty list of agent ids", self.recipients)
            if len(set(self.recipients)) != len(self.recipients):
                raise SpecError("recipients", "must name each agent once", list(self.recipients))
            object.__setattr__(self, "recipients", tuple(self.recipients))
        c.optional(c.int_at_least, "fanout", self.fanout, 1)
        if self.recipients is not None and self.fanout is not None:
            raise SpecError("fanout", "cannot be combined with recipients (name the recipients, or draw "
                                      "fanout of them)", self.fanout)

    def replace(self, **changes: Any) -> "AgentSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "AgentSpec":
        return from_dict(cls, data, path)
