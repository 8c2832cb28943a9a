"""Simulated deliberating agents: seeded, offline, instant — and vectorised over a round.

:class:`AgentModel` is *the* model of a simulated agent, used by
:class:`SimulatedBackend` (a whole team per call) and by ``llmteams-lab serve`` (one
agent per HTTP request), so a team through the real ``openai`` client against ``serve``
behaves as a simulated team does. Per agent (see :class:`~llmteams_lab.spec.AgentSpec`):

* first answer: correct with probability ``competence``, else a uniformly drawn
  wrong option (when the truth is unknown — ``serve`` cannot always solve the question
  — a uniformly drawn option);
* later rounds: with probability ``conformity`` the agent adopts the
  confidence-weighted plurality of the answers in its inbox (ties: lowest option),
  else it keeps its answer; a leader in the ``aggregate`` phase always adopts the
  weighted plurality of its inbox plus its own vote;
* confidence: ``confidence ± calibration`` (plus when right, minus when wrong) with
  N(0, 0.05) noise, clipped to [0, 1], in thousandths;
* latency: ``latency_s · exp(latency_jitter · N(0, 1))`` virtual seconds;
* tokens: ``prompt_tokens + tokens_per_message · messages read`` in,
  ``reply_tokens`` out — so an all-to-all team's input grows ~n² per round.

Randomness: one ``numpy`` stream per (seed, round), ``PCG64(SeedSequence([seed, round,
stream]))`` — keyed by round, so a fork or replay at round k redraws exactly round k's
numbers; row *i* of every draw belongs to agent *i* and the full table is drawn
whatever subset acts, so an agent's draws do not depend on which other agents are
alive. No ``hash()`` anywhere. ``serve`` draws one agent's row from a stream keyed by
(seed, agent, round) instead (:func:`answer_one`) — it does not know the agent's place
in its team — so its numbers follow the same distributions but are not the same numbers.
The streams are seeded a block of rounds at a time (``llmteams_lab.streams``: the same
generators; seeding one at a time was a fifth of a 10-agent round).
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Callable, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend, RoundBatch, RoundReplies
from llmteams_lab.backends.bounds import ProfileTokens, inbox_sizes, profile_tokens
from llmteams_lab.backends.tokens import estimate_tokens
from llmteams_lab.errors import ArgumentError
from llmteams_lab.messages import AgentReply, AgentRequest, Question
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.spec.roster import column
from llmteams_lab.streams import RoundStreams

__all__ = ["AgentModel", "STREAM", "SimulatedBackend", "answer_one", "answer_served", "batch_of_request",
           "draw_latency", "pad_message"]

STREAM = 0x51A7  # separates the simulated agents' stream from other seeded streams (PCG64([seed, round, STREAM]))


class AgentModel:
    """The simulated agents ``agents`` as columns of their profiles (see module doc)."""

    def __init__(self, agents: Sequence[AgentSpec]):
        self.n = len(agents)
        col = lambda name, dtype: np.array(column(agents, name), dtype=dtype)  # noqa: E731
        self.competence = col("competence", np.float64)
        self.conformity = col("conformity", np.float64)
        self.confidence = col("confidence", np.float64)
        self.calibration = col("calibration", np.float64)
        self.latency = col("latency_s", np.float64)
        self.jitter = col("latency_jitter", np.float64)
        self.prompt_tokens = col("prompt_tokens", np.int64)
        self.per_message = col("tokens_per_message", np.int64)
        self.reply_tokens = col("reply_tokens", np.int64)
        self.is_leader = np.array([role == "leader" for role in column(agents, "role")], dtype=bool)
        # confidence ± calibration, precomputed: c + (±1.0 · cal) is exactly c ± cal
        self.confidence_right = self.confidence + self.calibration
        self.confidence_wrong = self.confidence - self.calibration

    def respond(self, batch: RoundBatch, uniform: np.ndarray, normal: np.ndarray, truth: int) -> RoundReplies:
        """Replies of ``batch.acting`` from the (n, 3) uniform and (n, 2) normal draws;
        ``truth`` is the right option's index (-1: unknown to the agents' world).

        The full (n, ·) tables are always drawn by the caller, so results never depend
        on who acts; the branches below only skip work whose result would be discarded
        (first answers once everyone has one, conformity before anyone has, gathers when
        all act)."""
        k = len(batch.question.options) if batch.question is not None else 0
        idx = batch.acting
        if idx.size == self.n:  # everyone acts (acting is sorted and unique): no gathers needed
            answer = self._answers(batch, uniform, truth, k, slice(None))
            return self._replies(answer, truth, normal, batch.inbox_size, slice(None))
        # a few act (an asynchronous turn): each row depends on its own agent only, so
        # computing the acting rows alone gives the same answers at O(acting) cost
        if idx.size == 1:  # one agent: its rows as views (a slice), not gathers
            idx = slice(int(idx[0]), int(idx[0]) + 1)  # type: ignore[assignment]
        answer = self._answers(batch, uniform[idx], truth, k, idx)
        return self._replies(answer, truth, normal[idx], batch.inbox_size[idx], idx)

    def _answers(self, batch: RoundBatch, uniform: np.ndarray, truth: int, k: int,
                 idx: np.ndarray | slice) -> np.ndarray:
        """The answers of agents ``idx`` this round (option indices); ``uniform``: their rows."""
        previous = batch.previous[idx]
        has_previous = previous >= 0
        weight = batch.inbox_weight[idx]
        heard = batch.inbox_size[idx] > 0
        m = previous.size
        everyone = np.count_nonzero(has_previous) == m  # cheaper than .all() on this hot path
        if not everyone and not has_previous.any():
            answer = self._first_answers(uniform, truth, k, idx)
        else:
            conform = heard & (uniform[:, 2] < self.conformity[idx])
            if not everyone:
                conform &= has_previous
            answer = np.where(conform, _argmax_rows(weight), previous)
            if not everyone:
                answer = np.where(has_previous, answer, self._first_answers(uniform, truth, k, idx))
        if batch.view.get("phase") == "aggregate":
            own = np.zeros_like(weight)
            own[np.arange(m), np.maximum(previous, 0)] = 1000 * has_previous
            aggregated = _argmax_rows(weight + own)
            answer = np.where(self.is_leader[idx] & heard, aggregated, answer)
        return answer

    def _replies(self, answer: np.ndarray, truth: int, normal: np.ndarray, inbox_size: np.ndarray,
                 idx: np.ndarray | slice) -> RoundReplies:
        if answer.size == 1 and isinstance(idx, slice):  # one agent's turn: its confidence on Python floats
            confidence = self._one_confidence(int(answer[0]) == truth, float(normal[0, 0]), idx.start or 0)
        else:
            conf = np.where(answer == truth, self.confidence_right[idx], self.confidence_wrong[idx])
            conf += 0.05 * normal[:, 0]
            # clip to [0, 1] in place as max then min (np.clip's wrapper costs more than both
            # ufuncs; the values are the same, up to the sign of a zero that rint/astype erase)
            np.minimum(np.maximum(conf, 0.0, out=conf), 1.0, out=conf)
            conf *= 1000
            confidence = np.rint(conf, out=conf).astype(np.int64)
        latency = draw_latency(self.latency[idx], self.jitter[idx], normal[:, 1])
        tokens_in = self.prompt_tokens[idx] + self.per_message[idx] * inbox_size
        return RoundReplies(answer, confidence, latency, tokens_in, self.reply_tokens[idx].copy())

    def _one_confidence(self, right: bool, z: float, i: int) -> np.ndarray:
        """One agent's confidence in thousandths: the array path's arithmetic, operation
        for operation, on Python floats (IEEE doubles both; ``round`` rounds half to even
        as ``np.rint`` does) — eight numpy calls on one element cost more than the turn's
        other arithmetic together."""
        c = float(self.confidence_right[i] if right else self.confidence_wrong[i])
        c += 0.05 * z
        c = min(max(c, 0.0), 1.0) * 1000
        return np.array([round(c)], dtype=np.int64)

    def _first_answers(self, uniform: np.ndarray, truth: int, k: int, idx: np.ndarray | slice) -> np.ndarray:
        if truth < 0:  # nobody in this world knows the answer: a guess
            return np.minimum((uniform[:, 1] * k).astype(np.int64), k - 1)
        right = uniform[:, 0] < self.competence[idx]
        wrong = np.minimum((uniform[:, 1] * (k - 1)).astype(np.int64), k - 2)
        wrong = wrong + (wrong >= truth)  # skip the true option
        return np.where(right, truth, wrong)


class SimulatedBackend(Backend):
    """Answers for every simulated agent of ``spec`` (batched; per-agent also works)."""

    batched = True
    simulated = True
    virtual_time = True

    def __init__(self, spec: TeamSpec):
        self.seed = spec.seed
        self.ids = spec.ids
        self.n = len(spec.agents)
        self.tokens = ProfileTokens(spec.agents)
        self.model = AgentModel(spec.agents)
        self._index = {a: i for i, a in enumerate(spec.ids)}
        self.streams = RoundStreams((spec.seed,), (STREAM,), spec.budgets.max_rounds)

    def respond_round(self, batch: RoundBatch) -> RoundReplies:
        """Vectorised replies of ``batch.acting`` (see :meth:`AgentModel.respond`)."""
        rng = self.streams.generator(batch.round)  # PCG64([seed, round, STREAM]), seeded in blocks
        uniform = rng.random((self.n, 3))
        normal = rng.standard_normal((self.n, 2))
        question = batch.question
        truth = question.options.index(question.answer) if question is not None else -1
        return self.model.respond(batch, uniform, normal, truth)

    def worst_case_round(self, round: int, agents: Sequence[int], request_of: Any) -> tuple[int, float]:
        """Exactly the tokens the profile says (``backends.bounds.profile_tokens``); no cost."""
        return profile_tokens(self.tokens, agents, inbox_sizes(request_of, agents, self.n)), 0.0

    async def respond(self, request: AgentRequest) -> AgentReply:
        """Per-agent form: one agent through the same vectorised model (slower path), with
        the batched form's reply exactly — no message text either — so a run switching
        between the two (a fork continuing live) logs what an uninterrupted run logs."""
        question = request.question
        if question is None:
            raise ArgumentError("request.question", "must be a question: the simulated deliberating agents answer "
                                "deliberation tasks", None)
        i = self._index[request.agent]
        out = self.respond_round(batch_of_request(request, self.n, i))
        answer = question.options[int(out.answer[0])]
        return AgentReply(request.agent, answer, float(out.confidence[0]) / 1000, "",
                          int(out.tokens_in[0]), int(out.tokens_out[0]), float(out.latency_s[0]))


def answer_one(request: AgentRequest, profile: AgentSpec, truth: str | None,
               rng: np.random.Generator) -> RoundReplies:
    """One agent's reply to ``request`` by the same model, drawing its row from ``rng``:
    how ``serve`` plays an agent, one HTTP request at a time. ``truth`` is the right
    option when the player can know it (``None``: first answers are guesses); the agent
    is a leader if the request says so (``request.role``)."""
    model = AgentModel([profile.replace(role=request.role)])
    options = request.question.options if request.question is not None else ()
    uniform, normal = rng.random((1, 3)), rng.standard_normal((1, 2))
    return model.respond(batch_of_request(request, 1, 0), uniform, normal,
                         options.index(truth) if truth in options else -1)


_MASK64 = (1 << 64) - 1  # a request's seed may be any integer; SeedSequence takes non-negative ones
_FILLER = (" I compared every option with what my teammates reported before deciding.",
           " The other options do not hold up when checked one by one.",
           " I would change my mind only on a clear argument.")


def answer_served(request: AgentRequest, profile: AgentSpec, seed: int,
                  truth: Callable[[Question], str | None]) -> tuple[str, float]:
    """The deliberation workload's ``serve`` hook: the JSON reply text and latency of
    :func:`answer_one` for a request read back from a prompt, drawing from
    ``SeedSequence([seed, crc32(agent), round])`` (so answers do not depend on the order
    requests arrive in); the message is padded to about ``reply_tokens`` tokens."""
    question = request.question
    rng = np.random.default_rng([seed & _MASK64, zlib.crc32(request.agent.encode("utf-8")), request.round])
    out = answer_one(request, profile, truth(question) if question is not None else None, rng)
    answer = question.options[int(out.answer[0])]
    confidence = int(out.confidence[0]) / 1000
    message = pad_message(f"My answer is {answer}" + (f" after reading {len(request.inbox)} message(s)"
                                                        if request.inbox else "") + ".", profile.reply_tokens)
    return json.dumps({"answer": answer, "confidence": confidence, "message": message}), float(out.latency_s[0])


def pad_message(text: str, reply_tokens: int) -> str:
    """``text`` lengthened with plain sentences to about ``reply_tokens`` tokens (the JSON
    around a reply's message costs ~12 tokens), so a served reply's usage follows the
    simulated agent's profile."""
    i = 0
    while estimate_tokens(text) < reply_tokens - 12:
        text += _FILLER[i % len(_FILLER)]
        i += 1
    return text


def batch_of_request(request: AgentRequest, n: int, i: int) -> RoundBatch:
    """Agent ``i``'s request as a batch of a team of ``n`` in which only it acts."""
    question = request.question
    options = question.options if question is not None else ()
    votes, weight = np.zeros((n, len(options)), np.int64), np.zeros((n, len(options)), np.int64)
    for msg in request.inbox:
        j = options.index(msg.answer) if msg.answer in options else -1
        if j >= 0:
            votes[i, j] += 1
            weight[i, j] += int(round((msg.confidence if msg.confidence is not None else 0.5) * 1000))
    previous = np.full(n, -1, np.int64)
    previous[i] = options.index(request.previous_answer) if request.previous_answer in options else -1
    size = np.zeros(n, np.int64)
    size[i] = len(request.inbox)
    return RoundBatch(request.run_id, request.round, question, request.protocol, np.array([i]), previous, votes,
                      weight, size, dict(request.view))


def draw_latency(base: np.ndarray, jitter: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Latencies ``base · exp(jitter · z)`` in seconds, the one place simulated agents
    draw them. numpy's ``exp`` may differ in the last bit between CPUs (its SIMD code
    path); the engine puts every latency on its microsecond grid before using it, so
    that bit never reaches an event (``tests/runtime/test_float_determinism.py``
    perturbs this function's results by one ulp to check it)."""
    latency = jitter * normal
    np.exp(latency, out=latency)
    latency *= base
    return latency


def _argmax_rows(weight: np.ndarray) -> np.ndarray:
    """Row-wise argmax; ties go to the lowest option index (deterministic)."""
    return weight.argmax(axis=1).astype(np.int64, copy=False)


