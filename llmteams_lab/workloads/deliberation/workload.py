"""The deliberation workload: a team answering a question with a known answer.

State: each agent's current answer (an option index, -1 for none yet) and confidence
(thousandths). Replies are recorded as one ``AgentReplied`` per agent with
per-message logging, or one ``AnswersTallied`` per distinct answer with aggregated
logging; the protocol (``llmteams_lab.protocols``) turns answers into the team's
decision; every agent that replied broadcasts its answer to its neighbours.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.events import AgentFailed, AgentReplied, AnswersTallied
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision, make_protocol
from llmteams_lab.rounds import Inbox, Outgoing, RoundReplySlots
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.deliberation.questions import make_question

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["Deliberation"]


class Deliberation:
    """Answers, confidences and the team decision for one question (see module doc)."""

    name = "deliberation"

    def __init__(self, spec: TeamSpec, log: "EventLog", mode: "LogMode"):
        self.spec = spec
        self.log = log
        self.question = make_question(spec.task, spec.seed if spec.task.seed is None else spec.task.seed)
        self.options = self.question.options
        self.k = len(self.question.options)
        # the logging mode picks, once, how replies are recorded and what a broadcast carries
        self._record = self._log_replies if mode.per_message else self._log_tally_all
        self._texts = mode.per_message
        self.truth = self.question.options.index(self.question.answer)
        self._one_hot = np.eye(self.k, dtype=np.int64)  # row a: an answer of option a (token sums)
        self.protocol = make_protocol(spec, self.k)
        self._ids = spec.ids  # a property that builds a tuple: cached for the per-agent path
        n = len(spec.agents)
        self.answers = np.full(n, -1, dtype=np.int64)
        self.confidence = np.zeros(n, dtype=np.int64)
        self.cost_used = 0.0
        self.decision = Decision(-1)

    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        return self.protocol.acting(round, alive)

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch:
        return RoundBatch(self.log.run_id, round, self.question, self.protocol.kind, acting, self.answers.copy(),
                          inbox.votes, inbox.weight, inbox.size, self.protocol.view(round))

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest:
        agent = self.spec.agents[i]
        prev = int(self.answers[i])
        return AgentRequest(
            self.log.run_id, round, agent.id, agent.role, self.question,
            inbox.messages(i, self._ids, self.options),
            self.question.options[prev] if prev >= 0 else None,
            self.confidence[i] / 1000 if prev >= 0 else None,
            self.protocol.kind, self.protocol.view(round),
        )

    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float:
        """Record replies/failures in agent order, update answers; return the round's end."""
        n = self.answers.size
        answered = slots.replied if acting.size == n else slots.replied[acting]  # acting: sorted, distinct
        replied = acting if np.count_nonzero(answered) == acting.size else acting[answered]
        if replied.size == n:  # the whole team answered: no gathers
            self.answers[:] = slots.answer
            self.confidence[:] = slots.confidence
        else:
            self.answers[replied] = slots.answer[replied]
            self.confidence[replied] = slots.confidence[replied]
        latency = slots.latency if acting.size == n else slots.latency[acting]
        t_end = t0 + (float(latency.max()) if acting.size else 0.0)
        self._record(round, t0, acting, replied, slots, t_end)
        return t_end

    def _log_tally_all(self, r: int, t0: float, acting: np.ndarray, replied: np.ndarray, slots: RoundReplySlots,
                       t_end: float) -> None:
        self._log_tally(r, t0, replied, slots, t_end if replied.size == acting.size else None)

    def _log_replies(self, r: int, t0: float, acting: np.ndarray, replied: np.ndarray, slots: RoundReplySlots,
                     t_end: float) -> None:
        ids, opts, add = self._ids, self.question.options, self.log.add
        failures, replies = slots.failures, slots.replies
        latency, tokens_in, tokens_out = slots.latency.tolist(), slots.tokens_in.tolist(), slots.tokens_out.tolist()
        answers, confidence = slots.answer.tolist(), slots.confidence.tolist()
        for i in acting.tolist():
            t_end = t0 + latency[i]
            if i in failures:
                err = failures[i]
                spent = getattr(err, "cost_usd", None)  # e.g. an unparseable LLM reply was still billed
                self.cost_used += spent or 0.0
                add(AgentFailed, r, ids[i], t_start=t0, t_end=t_end, fault=getattr(err, "kind", "error"),
                    tokens_in=tokens_in[i], tokens_out=tokens_out[i], cost_usd=spent, detail=str(err))
                continue
            reply = replies.get(i)
            a = answers[i]
            value = opts[a] if a >= 0 else (reply.answer if reply else None)
            cost = reply.cost_usd if reply is not None else 0.0
            if cost:
                self.cost_used += cost
            # usage_estimated: the server sent no usage, so the tokens are estimates
            detail = _reply_detail(confidence[i], reply is not None and reply.usage_estimated)
            add(AgentReplied, r, ids[i], t_start=t0, t_end=t_end, value=value, correct=a == self.truth,
                tokens_in=tokens_in[i], tokens_out=tokens_out[i], cost_usd=cost, detail=detail)

    def _log_tally(self, r: int, t0: float, replied: np.ndarray, slots: RoundReplySlots,
                   t_end: float | None) -> None:
        """One ``AnswersTallied`` per answer given, with its count and its agents' tokens.
        ``t_end``: the slowest reply's end when the caller already knows it."""
        pick = slice(None) if replied.size == self.answers.size else replied  # a view when all replied
        answers = slots.answer[pick]
        valid = answers >= 0
        everyone_valid = np.count_nonzero(valid) == answers.size
        counts = np.bincount(answers if everyone_valid else answers[valid], minlength=self.k)
        if t_end is None:
            t_end = t0 + (float(slots.latency[pick].max()) if replied.size else 0.0)
        options = np.flatnonzero(counts).tolist()
        used = self._tokens_by_option(answers, everyone_valid, slots.tokens_in[pick], slots.tokens_out[pick],
                                      options, counts, replied.size)
        opts, add, truth = self.question.options, self.log.add, self.truth
        for option, (used_in, used_out), count in zip(options, used, counts[options].tolist()):
            add(AnswersTallied, r, t_start=t0, t_end=t_end, value=opts[option], correct=option == truth,
                count=count, tokens_in=used_in, tokens_out=used_out, cost_usd=0.0)

    def _tokens_by_option(self, answers: np.ndarray, all_valid: bool, tokens_in: np.ndarray,
                          tokens_out: np.ndarray, options: list[int], counts: np.ndarray,
                          replied: int) -> list[tuple[int, int]]:
        """Input and output tokens summed over the agents of each option in ``options``.

        Unanimous: the totals. Every answer an option: one integer product with the
        answers' one-hot rows (exact, a few numpy calls whatever k). Else a mask per option."""
        if len(options) == 1 and counts[options[0]] == replied:
            return [(int(tokens_in.sum()), int(tokens_out.sum()))]
        if all_valid:
            used = (np.stack((tokens_in, tokens_out)) @ self._one_hot.take(answers, axis=0))[:, options]
            return list(zip(*used.tolist()))
        out = []
        for option in options:
            who = answers == option
            out.append((int(tokens_in[who].sum()), int(tokens_out[who].sum())))
        return out

    def decide(self, round: int, alive: np.ndarray) -> Decision:
        self.decision = self.protocol.decide(round, self.answers, self.confidence, alive)
        return self.decision

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing:
        opts = self.question.options
        if self._texts:  # only per-message logging reads the answers as text
            values = [opts[a] if a >= 0 else None for a in self.answers.tolist()]
            texts = [slots.replies[i].text if i in slots.replies else "" for i in range(len(values))]
        else:
            values, texts = [], []
        everyone = acting.size == self.answers.size and np.count_nonzero(slots.replied) == acting.size
        return Outgoing(acting if everyone else acting[slots.replied[acting]], self.answers, self.confidence,
                        values, texts, slots.tokens_out)

    def outcome(self) -> tuple[str | None, bool | None]:
        """The decision as text and whether it is the ground truth (``None``: undecided)."""
        d = self.decision.value
        if d < 0:
            return None, None
        return self.question.options[d], d == self.truth

    def agreement(self, alive: np.ndarray) -> float:
        """Share of live agents holding the modal answer."""
        n = self.answers.size
        answered = self.answers >= 0
        n_alive = np.count_nonzero(alive)
        live = self.answers if n_alive == n and np.count_nonzero(answered) == n else self.answers[alive & answered]
        if live.size == 0:
            return 0.0
        return float(np.bincount(live).max()) / n_alive

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot for UIs: each agent's answer and confidence."""
        opts = self.question.options
        return {aid: {"answer": opts[a] if a >= 0 else None, "confidence": c / 1000}
                for aid, a, c in zip(self.spec.ids, self.answers.tolist(), self.confidence.tolist())}


_DETAILS: dict[tuple[int, bool], str] = {}


def _reply_detail(confidence: int, estimated: bool) -> str:
    """The ``AgentReplied`` detail JSON for a confidence in thousandths. Memoised: a team
    reports few distinct confidences, and ``json.dumps`` is most of a reply's logging.
    Only the 0..1000 range is kept, so the memo stays small whatever a backend sends."""
    key = (confidence, estimated)
    detail = _DETAILS.get(key)
    if detail is None:
        info: dict[str, Any] = {"confidence": confidence / 1000}
        if estimated:
            info["usage_estimated"] = True
        detail = json.dumps(info)
        if 0 <= confidence <= 1000:
            _DETAILS[key] = detail
    return detail
