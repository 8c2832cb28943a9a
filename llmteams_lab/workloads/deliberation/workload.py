"""The deliberation workload: a team answering a question with a known answer.

State: each agent's current answer (an option index, -1 for none yet) and confidence
(thousandths). Replies are recorded as one ``AgentReplied`` per agent with
per-message logging, or one ``AnswersTallied`` per distinct answer with aggregated
logging; the protocol (``llmteams_lab.protocols``) turns answers into the team's
decision; every agent that replied broadcasts its answer to its neighbours.

What the log says an agent holds (so consensus can be read from a round's events alone,
in either logging mode — see "Consensus" in ``protocols.deliberation``):

* ``AgentReplied`` / ``AnswersTallied``: ``value`` is the option the reply gave, or null
  when it gave none (no answer, or one that is not an option — kept in ``detail`` as
  ``"answer"``), so it then holds none;
* ``AgentFailed`` of a failed call (both logging modes): ``value``/``correct`` are the
  answer the agent still holds after the failure policy — its previous one under
  ``skip``/``retry``, null under ``abstain`` (which withdraws it) or if it had none.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.events import AgentFailed, AgentReplied, on_cost_grid
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision, held_agreement, make_protocol
from llmteams_lab.rounds import (
    Inbox,
    Outgoing,
    RoundReplySlots,
    named_recipients,
    woken_by,
)
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.protocol import ONE_SHOT
from llmteams_lab.spec.roster import values
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
        self._withdraws = spec.failure_policy.final == "abstain"  # a failed call then holds no answer
        self.truth = self.question.options.index(self.question.answer)
        self._one_hot = np.eye(self.k, dtype=np.int64)  # row a: an answer of option a (token sums)
        self.protocol = make_protocol(spec, self.k)
        self._ids = spec.ids  # a property that builds a tuple: cached for the per-agent path
        self._index = {a: i for i, a in enumerate(self._ids)}
        self._one_shot_async = spec.execution != "synchronous" and spec.protocol.kind in ONE_SHOT
        n = len(spec.agents)
        self.answers = np.full(n, -1, dtype=np.int64)
        self.confidence = np.zeros(n, dtype=np.int64)
        self.cost_used = 0.0
        self.decision = Decision(-1)
        self._option_codes = log.codes(self.options)  # bulk-logged answers are these string codes
        self._details: dict[tuple[int, bool], int] = {}
        self._reply_seq: np.ndarray | None = None
        # simulated agents with a price (a profile's): their replies cost tokens x price
        priced = any(values(spec.agents, "usd_per_mtok_in") | values(spec.agents, "usd_per_mtok_out"))
        self._priced = {i: a for i, a in enumerate(spec.agents if priced else ()) if a.backend == "simulated"
                        and (a.usd_per_mtok_in or a.usd_per_mtok_out)}

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
        if replied.size != acting.size:  # failed calls are rare: one event each, as per message
            latency, tokens_in, tokens_out = slots.latency.tolist(), slots.tokens_in.tolist(), slots.tokens_out.tolist()
            for i in acting.tolist():
                if i in slots.failures:
                    self._log_failure(r, t0, i, slots.failures[i], latency[i], tokens_in[i], tokens_out[i],
                                      woken_by(slots, i))

    def _log_replies(self, r: int, t0: float, acting: np.ndarray, replied: np.ndarray, slots: RoundReplySlots,
                     t_end: float) -> None:
        """One ``AgentReplied`` (or ``AgentFailed``) per acting agent, in agent order, as
        one block when every agent gave an option (the common case), row by row otherwise.
        Remembers each reply's ``seq`` so its messages name it as their cause."""
        self._reply_seq = np.empty(self.answers.size, dtype=np.int64)
        self._reply_seq.fill(-1)
        if acting.size == 1 and not (slots.failures or slots.replies or slots.marks or self._priced):
            i = int(acting[0])  # one simulated agent's turn (asynchronous runs): no cost, fault or estimate
            a = int(slots.answer[i])
            if a >= 0:
                self._reply_seq[i] = self._log_one_reply(r, t0, i, a, slots, 0.0, 0,
                                                         self._detail_code(int(slots.confidence[i]), False))
                return
        answers = slots.answer[acting]
        if slots.failures or not acting.size or (answers < 0).any():
            self._log_rows(r, t0, acting, slots)
            return
        log = self.log
        first = log.seq
        cost = np.zeros(acting.size)
        estimated = np.zeros(acting.size, dtype=bool)
        if slots.replies or self._priced:  # simulated unpriced agents (the common case) cost 0
            for j, i in enumerate(acting.tolist()):
                reply = slots.replies.get(i)
                if reply is not None:
                    cost[j] = reply.cost_usd if reply.cost_usd is not None else np.nan
                    estimated[j] = reply.usage_estimated
                elif i in self._priced:
                    cost[j] = self._simulated_cost(i, slots)
            self.cost_used += float(np.nansum(cost))
        confidence = slots.confidence[acting]
        detail = self._detail_codes(confidence, estimated)
        fault = np.zeros(acting.size, dtype=np.int32)
        for j, i in enumerate(acting.tolist()) if slots.marks else ():
            fault[j] = log.code(slots.marks.get(i))
        if acting.size == 1:  # one agent's turn (asynchronous runs): one row, the same values as a block's
            self._reply_seq[acting] = self._log_one_reply(r, t0, int(acting[0]), int(answers[0]), slots,
                                                          float(cost[0]), int(fault[0]), int(detail[0]))
            return
        log.block("AgentReplied", acting.size, round=r, agent=acting + 1, t_start=t0,
                  t_end=t0 + slots.latency[acting], value=self._option_codes[answers],
                  correct=np.where(answers == self.truth, 2, 1).astype(np.int8), tokens_in=slots.tokens_in[acting],
                  tokens_out=slots.tokens_out[acting], cost_usd=cost, fault=fault, detail=detail,
                  cause=slots.cause[acting] if slots.cause is not None else -1)
        self._reply_seq[acting] = np.arange(first, first + acting.size)

    def _log_one_reply(self, r: int, t0: float, i: int, a: int, slots: RoundReplySlots, cost: float, fault: int,
                       detail: int) -> int:
        """Agent ``i``'s ``AgentReplied`` (answer ``a``) as one stored row; its ``seq``."""
        store = self.log.store
        return store.append_codes(store.kind_code("AgentReplied"), r, i + 1, 0, t0, t0 + float(slots.latency[i]),
                                  int(self._option_codes[a]), 2 if a == self.truth else 1, int(slots.tokens_in[i]),
                                  int(slots.tokens_out[i]), cost, fault, detail, 1,
                                  int(slots.cause[i]) if slots.cause is not None else -1)

    def _detail_codes(self, confidence: np.ndarray, estimated: np.ndarray) -> np.ndarray:
        """String codes of the replies' detail JSON (memoised per confidence)."""
        return np.fromiter(map(self._detail_code, confidence.tolist(), estimated.tolist()), dtype=np.int32,
                           count=confidence.size)

    def _detail_code(self, confidence: int, estimated: bool) -> int:
        """The string code of one reply's detail JSON (memoised)."""
        key = (confidence, estimated)
        found = self._details.get(key)
        if found is None:
            found = self._details[key] = self.log.code(_reply_detail(confidence, estimated))
        return found

    def _log_rows(self, r: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> None:
        ids, opts, add = self._ids, self.question.options, self.log.add
        failures, replies, marks = slots.failures, slots.replies, slots.marks
        latency, tokens_in, tokens_out = slots.latency.tolist(), slots.tokens_in.tolist(), slots.tokens_out.tolist()
        answers, confidence = slots.answer.tolist(), slots.confidence.tolist()
        for i in acting.tolist():
            if i in failures:
                self._log_failure(r, t0, i, failures[i], latency[i], tokens_in[i], tokens_out[i], woken_by(slots, i))
                continue
            t_end = t0 + latency[i]
            reply = replies.get(i)
            a = answers[i]
            cost = reply.cost_usd if reply is not None else self._simulated_cost(i, slots)
            if cost:
                self.cost_used += cost
            # usage_estimated: the server sent no usage, so the tokens are estimates
            estimated = reply is not None and reply.usage_estimated
            if a >= 0:
                value, correct, detail = opts[a], a == self.truth, _reply_detail(confidence[i], estimated)
            else:  # no answer, or one that is not an option: the agent holds none
                raw = reply.answer if reply is not None else None
                value, correct, detail = None, None, _reply_detail(confidence[i], estimated, raw)
            self._reply_seq[i] = add(AgentReplied, r, ids[i], t_start=t0, t_end=t_end, value=value,
                                     correct=correct, tokens_in=tokens_in[i], tokens_out=tokens_out[i],
                                     cost_usd=cost, fault=marks.get(i), detail=detail,
                                     cause=woken_by(slots, i)).seq

    def _simulated_cost(self, i: int, slots: RoundReplySlots) -> float:
        """A priced simulated agent's reply cost (0 for the unpriced), on the cost grid."""
        agent = self._priced.get(i)
        if agent is None:
            return 0.0
        return on_cost_grid(agent.price(int(slots.tokens_in[i]), int(slots.tokens_out[i])))

    def _log_failure(self, r: int, t0: float, i: int, err: BaseException, latency: float, tokens_in: int,
                     tokens_out: int, cause: int | None = None) -> None:
        """``AgentFailed`` for a failed call, with the answer the agent still holds (module doc)."""
        spent = getattr(err, "cost_usd", None)  # e.g. an unparseable LLM reply was still billed
        self.cost_used += spent or 0.0
        held = -1 if self._withdraws else int(self.answers[i])
        self.log.add(AgentFailed, r, self._ids[i], t_start=t0, t_end=t0 + latency, fault=getattr(err, "kind", "error"),
                     value=self.options[held] if held >= 0 else None, correct=held == self.truth if held >= 0 else None,
                     tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=spent, detail=str(err), cause=cause)

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
        options = counts.nonzero()[0].tolist()
        used = self._tokens_by_option(answers, everyone_valid, slots.tokens_in[pick], slots.tokens_out[pick],
                                      options, counts, replied.size)
        opts, row, truth = self.question.options, self.log.row, self.truth
        spent = self._priced_by_option(replied, slots)
        for option, (used_in, used_out), count in zip(options, used, counts[options].tolist()):
            row("AnswersTallied", r, t_start=t0, t_end=t_end, value=opts[option], correct=option == truth,
                count=count, tokens_in=used_in, tokens_out=used_out, cost_usd=on_cost_grid(spent.get(option, 0.0)))
        if not everyone_valid:  # replies without a valid answer: their agents hold none
            none = ~valid
            row("AnswersTallied", r, t_start=t0, t_end=t_end, value=None, correct=None, count=int(none.sum()),
                tokens_in=int(slots.tokens_in[pick][none].sum()), tokens_out=int(slots.tokens_out[pick][none].sum()),
                cost_usd=on_cost_grid(spent.get(-1, 0.0)))

    def _priced_by_option(self, replied: np.ndarray, slots: RoundReplySlots) -> dict[int, float]:
        """Dollars the priced simulated agents among ``replied`` spent, by the option they
        gave (-1: none); empty when no agent is priced. Counted into ``cost_used``."""
        if not self._priced:
            return {}
        spent: dict[int, float] = {}
        for i in replied.tolist():
            if i in self._priced:
                a = max(int(slots.answer[i]), -1)
                spent[a] = spent.get(a, 0.0) + self._simulated_cost(i, slots)
        self.cost_used += sum(spent.values())
        return spent

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
        decision = self.protocol.decide(round, self.answers, self.confidence, alive)
        if decision.done and self._one_shot_async and bool((self.answers[alive] < 0).any()):
            # an asynchronous vote is over once every live agent has voted, not at the first ballot
            decision = Decision(decision.value, False, "")
        self.decision = decision
        return decision

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing:
        everyone = acting.size == self.answers.size and np.count_nonzero(slots.replied) == acting.size
        senders = acting if everyone else acting[slots.replied[acting]]
        values, texts = self._said(senders, slots) if self._texts else ([], [])
        return Outgoing(senders, self.answers, self.confidence, values, texts, slots.tokens_out,
                        self._reply_seq if self._texts else None, named_recipients(slots, senders, self._index))

    def _said(self, senders: np.ndarray, slots: RoundReplySlots) -> tuple[Any, Any]:
        """Per sender, the answer (as text) and the message text it sends: lists over the
        whole team when most of it speaks (a round), mappings for a few (an asynchronous turn)."""
        opts, replies = self.question.options, slots.replies
        if 4 * senders.size >= self.answers.size:
            values = [opts[a] if a >= 0 else None for a in self.answers.tolist()]
            return values, [replies[i].text if i in replies else "" for i in range(len(values))]
        picked = senders.tolist()
        values = {i: opts[a] if a >= 0 else None for i, a in zip(picked, self.answers[senders].tolist())}
        return values, {i: replies[i].text if i in replies else "" for i in picked}

    def timers(self, round: int, acting: np.ndarray) -> dict[int, float]:
        """No timers: agents act on arrivals (or, working on a board, continuously)."""
        return {}

    def outcome(self) -> tuple[str | None, bool | None]:
        """The decision as text and whether it is the ground truth (``None``: undecided)."""
        d = self.decision.value
        if d < 0:
            return None, None
        return self.question.options[d], d == self.truth

    def agreement(self, alive: np.ndarray) -> float:
        """Share of live agents holding the modal answer (``protocols.held_agreement``:
        the one definition of consensus, which ``metrics.convergence`` also reads)."""
        modal, counted = held_agreement(self.answers, alive)
        return modal / counted if counted else 0.0

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot for UIs: each agent's answer and confidence."""
        opts = self.question.options
        return {aid: {"answer": opts[a] if a >= 0 else None, "confidence": c / 1000}
                for aid, a, c in zip(self.spec.ids, self.answers.tolist(), self.confidence.tolist())}


_DETAILS: dict[tuple[int, bool], str] = {}


def _reply_detail(confidence: int, estimated: bool, answer: str | None = None) -> str:
    """The ``AgentReplied`` detail JSON for a confidence in thousandths (and a raw
    ``answer`` that is not an option). Memoised: a team reports few distinct confidences,
    and ``json.dumps`` is most of a reply's logging. Only the 0..1000 range is kept, so
    the memo stays small whatever a backend sends."""
    if answer is not None:
        return json.dumps({"confidence": confidence / 1000, "answer": answer[:200],
                           **({"usage_estimated": True} if estimated else {})})
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
