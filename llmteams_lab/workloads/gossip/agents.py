"""Simulated gossipers: seeded, offline — and vectorised over a round.

A gossiper keeps what it holds; an uninformed one adopts the value most of the
rumours it just read carry (ties: the lowest option), and holds nothing if it read
none. A source that holds nothing yet answers the question itself: right with
probability ``competence``, else a uniformly drawn wrong option. Latency and tokens
follow the agent's profile as deliberation's agents do.

Randomness: batched rounds draw one table per (seed, round) with row i for agent i,
so an agent's draws never depend on who else acts (deliberation's scheme); the
per-agent form (:func:`decide`, also what ``serve`` plays) draws from its own turn's
generator. Same rules, same distributions.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend, RoundBatch, RoundReplies
from llmteams_lab.backends.bounds import ProfileTokens, inbox_sizes, profile_tokens
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.streams import RoundStreams
from llmteams_lab.workloads.deliberation import agents as _simulated
from llmteams_lab.workloads.roles import Choices, Minds, answer_question

__all__ = ["STREAM", "SimulatedGossipers", "decide", "gossip_answers"]

STREAM = 0x6051


def gossip_answers(previous: np.ndarray, votes: np.ndarray, sources: np.ndarray, truth: int,
                   competence: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Every agent's value after reading (option indices, -1: none) — see module doc."""
    k = votes.shape[1]
    heard = votes.sum(axis=1) > 0
    adopted = np.where(heard, votes.argmax(axis=1), -1)
    right = uniform[:, 0] < competence
    wrong = np.minimum((uniform[:, 1] * (k - 1)).astype(np.int64), max(k - 2, 0))
    wrong = wrong + (wrong >= truth)
    own = np.where(right | (k == 1), truth, wrong)
    fresh = np.where(heard, adopted, np.where(sources, own, -1))
    return np.where(previous >= 0, previous, fresh).astype(np.int64)


def decide(request: AgentRequest, profile: AgentSpec, rng: np.random.Generator, truth: str | None) -> Choices:
    """One gossiper's choice (``{"hold": value}``), for per-agent calls and ``serve``."""
    view = request.view
    if view.get("held") is not None:
        return {"hold": view["held"]}
    options = request.question.options if request.question is not None else ()
    said = [r["value"] for r in view.get("rumours", ()) if r.get("value") in options]
    if said:
        return {"hold": min(set(said), key=lambda v: (-said.count(v), options.index(v)))}
    if view.get("source") and options:
        return {"hold": answer_question(options, truth, profile.competence, rng)}
    return {}


class SimulatedGossipers(Backend):
    """Answers for every simulated gossiper of ``spec`` (batched; per-agent also works)."""

    batched = True
    simulated = True
    virtual_time = True

    def __init__(self, spec: TeamSpec):
        self.seed, self.n = spec.seed, len(spec.agents)
        col = lambda name, dtype: np.array([getattr(a, name) for a in spec.agents], dtype=dtype)  # noqa: E731
        self.competence, self.latency, self.jitter = col("competence", float), col("latency_s", float), \
            col("latency_jitter", float)
        self.prompt, self.per_message, self.reply = col("prompt_tokens", np.int64), \
            col("tokens_per_message", np.int64), col("reply_tokens", np.int64)
        self.minds = Minds(spec, decide, STREAM, answer=lambda c: c.get("hold"))
        self.tokens = ProfileTokens(spec.agents)
        self.streams = RoundStreams((spec.seed,), (STREAM,), spec.budgets.max_rounds)  # PCG64([seed, round, STREAM])

    def respond_round(self, batch: RoundBatch) -> RoundReplies:
        rng = self.streams.generator(batch.round)
        uniform, normal = rng.random((self.n, 2)), rng.standard_normal(self.n)
        q = batch.question
        truth = q.options.index(q.answer) if q is not None and q.answer in q.options else 0
        sources = batch.view.get("sources", np.zeros(self.n, dtype=bool))
        answer = gossip_answers(batch.previous, batch.inbox_votes, sources, truth, self.competence, uniform)
        idx = batch.acting
        latency = _simulated.draw_latency(self.latency[idx], self.jitter[idx], normal[idx])  # the one place
        tokens_in = self.prompt[idx] + self.per_message[idx] * batch.inbox_size[idx]
        return RoundReplies(answer[idx], np.zeros(idx.size, dtype=np.int64), latency, tokens_in, self.reply[idx].copy())

    def worst_case_round(self, round: int, agents: Sequence[int], request_of: Any) -> tuple[int, float]:
        """Exactly the tokens the profiles say for the messages each agent will read."""
        return profile_tokens(self.tokens, agents, inbox_sizes(request_of, agents, self.n)), 0.0

    async def respond(self, request: AgentRequest) -> AgentReply:
        return await self.minds.respond(request)
