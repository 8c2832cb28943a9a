"""Lockstep runs: many seeds of one small design at once, vectorised across the runs.

Why: a sweep runs a design on thousands of seeds, and a 10-agent round in the engine
costs ~80 µs of CPU whatever the team's size — some 40 numpy calls on 10-element
arrays, a backend call and a few events. Only the numbers differ between the seeds,
so the rounds of a batch of runs can advance together: every step of a round is one
array operation over (runs, agents), and every run's random streams are drawn at once
(``stream_lanes``). A sweep keeps no events, only each run's outcome row, so that is
all this computes.

The same rows: every number is the engine's, computed by the same arithmetic in the
same order — the simulated agents' model (``workloads.deliberation.agents``), the
protocol's decision and stop rule (``protocols.deliberation``), the synchronous round's
clock (the slowest reply on the microsecond grid) and the outcome columns
(``experiments.outcome``). ``tests/experiments/test_lockstep.py`` compares the rows
with the engine's, field by field, over designs and seeds drawn by Hypothesis. The
scope is what that comparison covers: simulated deliberating agents debating or voting
(majority, weighted) in synchronous rounds on an instant, fault-free network, with no
budget but the rounds (:func:`lockstep_refusal` says what keeps a design out); anything
else runs in the engine, as before.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from llmteams_lab.errors import ArgumentError
from llmteams_lab.rounds import on_grid
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.roster import column
from llmteams_lab.stream_lanes import lane_draws
from llmteams_lab.streams import seed_words
from llmteams_lab.workloads.deliberation.agents import STREAM, AgentModel, draw_latency
from llmteams_lab.workloads.deliberation.questions import make_question

__all__ = ["MAX_AGENTS", "lockstep_refusal", "lockstep_rows"]

_GENERATED = ("multiple_choice", "arithmetic")  # generated questions (a custom one runs in the engine)
_MASK32 = 0xFFFFFFFF
_SEEDS_AT_ONCE = 1_000
_PROTOCOLS = ("debate", "majority", "weighted")
_REASONS = ("", "consensus", "max_rounds", "voted")  # a run's end, by code
MAX_AGENTS = 100  # lockstep pays off for small teams; a large team's round is already vectorised in the engine


def lockstep_refusal(spec: TeamSpec, seeds: Sequence[int] = ()) -> str | None:
    """Why ``spec``'s runs with ``seeds`` cannot run in lockstep (``None``: they can).
    The scope is exactly what the tests compare with the engine (see the module
    docstring)."""
    agents = spec.agents
    checks = (
        (all(0 <= s <= _MASK32 for s in seeds), "a seed of 2**32 or more"),
        (len(agents) <= MAX_AGENTS, f"more than {MAX_AGENTS} agents"),
        (spec.task.kind in _GENERATED, "not a generated deliberation question"),
        (spec.protocol.kind in _PROTOCOLS, "not a debate or a vote (majority, weighted)"),
        (spec.execution == "synchronous", "not synchronous rounds"),
        (not spec.faults, "faults injected"),
        (spec.network is None or _instant(spec.network), "network delays or mailboxes"),
        (spec.endpoint is None or spec.endpoint.limits is None, "endpoint limits"),
        (spec.budgets.max_tokens is None and spec.budgets.max_cost_usd is None and spec.budgets.max_wall_s is None,
         "budgets other than rounds"),
        (set(column(agents, "backend")) == {"simulated"}, "agents other than simulated"),
        (not any(column(agents, "usd_per_mtok_in")) and not any(column(agents, "usd_per_mtok_out")),
         "priced agents"),
        (all(r is None for r in column(agents, "recipients")) and all(f is None for f in column(agents, "fanout")),
         "point-to-point messages"),
        (spec.detector is None, "a failure detector"),
    )
    return next((why for ok, why in checks if not ok), None)


def _instant(network: Any) -> bool:
    return (network.delay_s == 0.0 and network.jitter == 0.0 and not network.links and network.mailbox is None
            and network.gst_s is None and not network.reliable)


def lockstep_rows(spec: TeamSpec, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The outcome row of ``spec`` run with each of ``seeds`` — what
    ``experiments.runner`` gives for each run in the engine (``run_id``, ``n_agents``,
    the outcome columns, ``error``)."""
    seeds = list(seeds)
    why = lockstep_refusal(spec, seeds)
    if why is not None:
        raise ArgumentError("spec", f"must be a design the lockstep path covers ({why})", spec.name)
    specs = list(spec.reseeded(seeds))
    rows: list[dict[str, Any]] = []
    for at in range(0, len(specs), _SEEDS_AT_ONCE):  # bounded memory: a chunk's draws are ~8 MB for 10 agents
        chunk = specs[at:at + _SEEDS_AT_ONCE]
        state = _Rounds(_Team(spec, chunk), [s.seed for s in chunk])
        while state.active.any():
            state.play_round()
        rows += state.rows(chunk)
    return rows


class _Team:
    """What the runs share (the agents' profiles) and what they do not (each run's
    question and, for a random topology, its arcs)."""

    def __init__(self, spec: TeamSpec, specs: list[TeamSpec]):
        self.n = len(spec.agents)
        self.model = AgentModel(spec.agents)
        self.max_rounds = spec.budgets.max_rounds
        self.protocol = spec.protocol.kind
        self.stop_at_consensus = spec.protocol.stop_at_consensus
        questions = [make_question(s.task, s.seed if s.task.seed is None else s.task.seed) for s in specs]
        self.options = [q.options for q in questions]
        self.k = len(questions[0].options)
        self.truth = np.array([q.options.index(q.answer) for q in questions], dtype=np.int64)
        self.into = self._adjacency(spec, specs)  # (runs or 1, n, n): into[b, i, j] — j's messages reach i
        self.complete = self.into.shape[0] == 1 and int(self.into.sum()) == self.n * (self.n - 1)
        self.in_degree = self.into.sum(axis=2)
        self.arcs = self.into.sum(axis=(1, 2))  # per run (or one for all): the messages of a round

    def _adjacency(self, spec: TeamSpec, specs: list[TeamSpec]) -> np.ndarray:
        arcs = [spec.arcs()] if _fixed_topology(spec) else [s.arcs() for s in specs]
        into = np.zeros((len(arcs), self.n, self.n), dtype=np.int64)
        for b, pairs in enumerate(arcs):
            if pairs:
                src, dst = np.array(pairs, dtype=np.int64).T
                into[b, dst, src] = 1
        return into


def _fixed_topology(spec: TeamSpec) -> bool:
    """Whether every seed gives the same arcs (no draw from the team's seed)."""
    return spec.topology.kind not in ("erdos_renyi", "small_world") or spec.topology.seed is not None


class _Rounds:
    """The runs' state, round by round: answers, confidences, the inboxes they read
    next, the clock, and what the outcome row needs."""

    def __init__(self, team: _Team, seeds: list[int]):
        b, n = len(seeds), team.n
        self.team, self.seeds = team, seeds
        self.round = 0
        self.active = np.ones(b, dtype=bool)
        self.answers = np.full((b, n), -1, dtype=np.int64)
        self.weight = np.zeros((b, n, team.k), dtype=np.int64)
        self.size = np.zeros((b, n), dtype=np.int64)
        self.clock = np.zeros(b)
        self.tokens_in = np.zeros(b, dtype=np.int64)
        self.tokens_out = np.zeros(b, dtype=np.int64)
        self.rounds = np.zeros(b, dtype=np.int64)
        self.decision = np.full(b, -1, dtype=np.int64)
        self.reason = np.zeros(b, dtype=np.int8)  # an index of _REASONS
        self.right_first = np.zeros(b, dtype=np.int64)
        self.right_last = np.zeros(b, dtype=np.int64)
        self.modal_last = np.zeros(b, dtype=np.int64)
        self.consensus_at = np.zeros(b, dtype=np.int64)  # 0: never
        self._draws: tuple[np.ndarray, np.ndarray] | None = None
        self._drawn_from = 1

    # --- the random draws -----------------------------------------------------------
    def _round_draws(self) -> tuple[np.ndarray, np.ndarray]:
        """This round's (runs, n, 3) uniforms and (runs, n, 2) normals: every run's
        ``PCG64([seed, round, STREAM])`` stream, as the simulated agents draw it. Drawn
        for several rounds at once (lanes are cheap in bulk), rows of stopped runs too."""
        team, r = self.team, self.round
        ahead = team.max_rounds if team.protocol == "debate" and not team.stop_at_consensus else 4
        if self._draws is None or r >= self._drawn_from + self._draws[0].shape[1]:
            last = min(r + ahead - 1, team.max_rounds)
            self._draws = self._draw_rounds(r, last)
            self._drawn_from = r
        at = r - self._drawn_from
        return self._draws[0][:, at], self._draws[1][:, at]

    def _draw_rounds(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        b, n, rounds = len(self.seeds), self.team.n, last - first + 1
        entropy = np.empty((3, b * rounds), dtype=np.uint32)
        entropy[0] = np.repeat(np.array(self.seeds, dtype=np.uint32), rounds)  # one word each: lockstep_refusal
        entropy[1] = np.tile(np.arange(first, last + 1, dtype=np.uint32), b)
        entropy[2] = STREAM
        uniform, normal = lane_draws(seed_words(entropy).T, 3 * n, 2 * n)
        return uniform.reshape(b, rounds, n, 3), normal.reshape(b, rounds, n, 2)

    # --- a round --------------------------------------------------------------------
    def play_round(self) -> None:
        """One synchronous round of every run still going (a stopped run's arrays
        move on too, unread: its row was taken when it stopped)."""
        team, model = self.team, self.team.model
        self.round += 1
        r = self.round
        uniform, normal = self._round_draws()
        truth = team.truth[:, None]
        answers = self._answer(uniform, truth)
        conf = np.where(answers == truth, model.confidence_right, model.confidence_wrong)
        conf += 0.05 * normal[..., 0]
        np.minimum(np.maximum(conf, 0.0, out=conf), 1.0, out=conf)
        conf *= 1000
        confidence = np.rint(conf, out=conf).astype(np.int64)
        latency = on_grid(draw_latency(model.latency, model.jitter, normal[..., 1]))
        active = self.active
        self.tokens_in[active] += (model.prompt_tokens + model.per_message * self.size).sum(axis=1)[active]
        self.tokens_out[active] += int(model.reply_tokens.sum())
        self.clock[active] = (self.clock + latency.max(axis=1))[active]
        self.answers = answers
        self._decide(answers, confidence, truth, r)
        self._inboxes(answers, confidence)

    def _answer(self, uniform: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """``AgentModel._answers`` for every run: first answers in round 1, then each
        agent that heard something conforms with probability ``conformity`` to the
        confidence-weighted plurality of its inbox (ties: the lowest option)."""
        model, k = self.team.model, self.team.k
        if self.round == 1:
            right = uniform[..., 0] < model.competence
            wrong = np.minimum((uniform[..., 1] * (k - 1)).astype(np.int64), k - 2)
            wrong = wrong + (wrong >= truth)
            return np.where(right, truth, wrong)
        conform = (self.size > 0) & (uniform[..., 2] < model.conformity)
        return np.where(conform, self.weight.argmax(axis=2), self.answers)

    def _decide(self, answers: np.ndarray, confidence: np.ndarray, truth: np.ndarray, r: int) -> None:
        """The protocol's decision and stop rule (``protocols.deliberation``: the plurality
        of the answers, or of the confidences for a weighted vote — ties to the lowest
        option, none when nothing weighs; a debate stops at consensus if told to, a vote
        after its one round), and the round's tally for the row, for the runs going on."""
        votes = answers[..., None] == np.arange(self.team.k)  # (runs, n, k)
        counts = votes.sum(axis=1)  # (runs, k)
        modal = counts.max(axis=1)
        right = (answers == truth).sum(axis=1)
        active = self.active
        agreed = modal == self.team.n
        if r == 1:
            self.right_first[:] = right
        self.right_last[active] = right[active]
        self.modal_last[active] = modal[active]
        scores = (votes * confidence[..., None]).sum(axis=1) if self.team.protocol == "weighted" else counts
        self.decision[active] = np.where(scores.max(axis=1) > 0, scores.argmax(axis=1), -1)[active]
        self.consensus_at[active & agreed & (self.consensus_at == 0)] = r
        if self.team.protocol == "debate":
            stop = agreed if self.team.stop_at_consensus else np.zeros_like(agreed)
            ended = active & (stop | (r >= self.team.max_rounds))
            self.reason[ended] = np.where(stop[ended], 1, 2)
        else:  # a vote: decided after its one round
            ended = active.copy()
            self.reason[ended] = 3
        self.rounds[ended] = r
        self.active = active & ~ended

    def _inboxes(self, answers: np.ndarray, confidence: np.ndarray) -> None:
        """What every agent reads next round: the confidence-weighted votes of its
        in-neighbours' messages, per option (thousandths), and how many it got."""
        held = (answers[..., None] == np.arange(self.team.k)) * confidence[..., None]  # (runs, n, k)
        if self.team.complete:  # everyone hears everyone else: the team's total less one's own
            self.weight = held.sum(axis=1, keepdims=True) - held
        else:
            self.weight = self.team.into @ held
        self.size = np.broadcast_to(self.team.in_degree, self.answers.shape)

    # --- the rows ---------------------------------------------------------------------
    def rows(self, specs: list[TeamSpec]) -> list[dict[str, Any]]:
        team, n = self.team, self.team.n
        out = []
        for b, spec in enumerate(specs):
            rounds, decision = int(self.rounds[b]), int(self.decision[b])
            tokens_in, tokens_out = int(self.tokens_in[b]), int(self.tokens_out[b])
            at = int(self.consensus_at[b])
            arcs = int(team.arcs[b if team.arcs.size > 1 else 0])
            out.append({
                "run_id": f"{spec.name}-{spec.fingerprint()}", "n_agents": n,
                "reason": _REASONS[self.reason[b]],
                "decision": team.options[b][decision] if decision >= 0 else None,
                "correct": decision == int(team.truth[b]) if decision >= 0 else None, "decided": decision >= 0,
                "rounds": rounds, "rounds_to_consensus": at or None,
                "agreement": int(self.modal_last[b]) / n, "accuracy_first": int(self.right_first[b]) / n,
                "accuracy_last": int(self.right_last[b]) / n,
                "messages": arcs * rounds, "delivered": arcs * rounds, "dropped": 0,
                "tokens_in": tokens_in, "tokens_out": tokens_out, "tokens": tokens_in + tokens_out, "cost_usd": 0.0,
                "failures": 0, "faults_applied": 0, "clock_s": float(self.clock[b]), "error": None,
            })
        return out

