"""Fair baselines for a team design: what one agent does with the same compute.

A team's accuracy means little without the answer to "would one agent have done as
well with the tokens the team spent?". Two baselines per (design, seed), on the same
question (the question comes from the seed only):

* ``self_consistency`` — the team's best member (highest ``competence``; the first
  agent for LLM members, whose competence is unknown) samples ``k`` independent answers
  to the question and the majority of its samples wins (ties: the first option). ``k``
  is as many samples as the team's token spend affords — the largest ``k`` with
  ``k · c <= T`` for a sample cost ``c`` and team spend ``T`` — and what is left (less
  than one sample) lengthens every sample's reply equally (an LLM may reason longer
  with it; the simulated model's accuracy does not depend on reply length), so the
  baseline spends between ``T - k`` tokens and ``T``: 90–100 % of the team's spend
  (``token_ratio`` in the row says exactly; only a team that spent less than one
  sample — every call failed — gets one sample, above its spend);
* ``member:<id>`` — each distinct member profile answering alone, once; the *best
  individual member* of a design is the one with the highest mean accuracy over the
  seeds, picked on the whole table (``metrics.designs.baseline_gains``), never per seed.

Simulated agents are sampled from the simulated-agent model itself (seeded, offline,
microseconds: one vectorised draw of ``k`` first answers); LLM members run the same
procedure through the engine — a team of ``k`` copies of the member with no links and a
one-round majority vote, through the ``openai`` transport. Samples run in parallel, so
the baseline's clock is its slowest sample. Team faults do not apply to one agent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.errors import ArgumentError
from llmteams_lab.events import on_time_grid
from llmteams_lab.experiments.outcome import outcome_row
from llmteams_lab.runtime import RunResult, run_sync
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.workloads.deliberation import AgentModel, make_question

__all__ = ["baseline_rows", "best_member", "check_baselines", "members", "samples_for"]

_STREAM = 0xBA5E  # the baselines' draws, apart from the team's own streams


def check_baselines(spec: TeamSpec) -> None:
    """Baselines need a question with a known answer (a deliberation task)."""
    if spec.task.kind == "work_division":
        raise ArgumentError("baselines", "need a deliberation task (a question with a known answer), not "
                            "work_division", spec.task.kind)


def best_member(spec: TeamSpec) -> AgentSpec:
    """The member with the highest competence (the first of equals; LLM members: the first)."""
    simulated = [a for a in spec.agents if a.backend == "simulated"]
    if len(simulated) != len(spec.agents):
        return spec.agents[0]
    return max(spec.agents, key=lambda a: a.competence)  # max keeps the first of equals


def members(spec: TeamSpec) -> list[AgentSpec]:
    """One member per distinct profile (ids and roles aside), in team order."""
    seen, out = set(), []
    for agent in spec.agents:
        profile = tuple(sorted((k, v) for k, v in agent.to_dict().items() if k not in ("id", "role")))
        if profile not in seen:
            seen.add(profile)
            out.append(agent)
    return out


def samples_for(team_tokens: int, sample_tokens: int) -> int:
    """How many samples of ``sample_tokens`` fit in ``team_tokens`` (at least one)."""
    return max(1, team_tokens // max(1, sample_tokens))


def baseline_rows(spec: TeamSpec, team_tokens: int) -> list[dict[str, Any]]:
    """The baseline arms' rows for ``spec`` (one seed) against a team that spent ``team_tokens``."""
    best = best_member(spec)
    k = samples_for(team_tokens, _sample_tokens(best))
    if best.backend == "simulated" and team_tokens > k * _sample_tokens(best):
        best = best.replace(reply_tokens=best.reply_tokens + (team_tokens - k * _sample_tokens(best)) // k)
    rows = [_arm(spec, best, k, "self_consistency", team_tokens)]
    rows += [_arm(spec, agent, 1, f"member:{agent.id}", team_tokens) for agent in members(spec)]
    return rows


def _sample_tokens(agent: AgentSpec) -> int:
    """Tokens of one sample: a reply to the bare question (no inbox). LLM members: the
    prompt-plus-reply estimate of their simulated profile (their real spend is measured)."""
    return agent.prompt_tokens + agent.reply_tokens


def _arm(spec: TeamSpec, agent: AgentSpec, k: int, arm: str, team_tokens: int) -> dict[str, Any]:
    if agent.backend == "simulated":
        row = _sampled(spec, agent, k)
    else:
        row = _through_engine(spec, agent, k)
    row.update(arm=arm, samples=k, token_ratio=row["tokens"] / team_tokens if team_tokens else None)
    return row


def _sampled(spec: TeamSpec, agent: AgentSpec, k: int) -> dict[str, Any]:
    """``k`` first answers of ``agent`` drawn from the simulated-agent model at once."""
    question = make_question(spec.task, spec.seed)
    options = len(question.options)
    truth = question.options.index(question.answer)
    rng = np.random.Generator(np.random.PCG64([spec.seed, 1, _STREAM]))
    uniform, normal = rng.random((k, 3)), rng.standard_normal((k, 2))
    zeros = np.zeros((k, options), dtype=np.int64)
    batch = RoundBatch("baseline", 1, question, "majority", np.arange(k), np.full(k, -1, dtype=np.int64), zeros,
                       zeros, np.zeros(k, dtype=np.int64))
    replies = AgentModel([agent] * k).respond(batch, uniform, normal, truth)
    votes = np.bincount(replies.answer, minlength=options)
    decision = int(votes.argmax())  # ties: the first option, as the majority protocol decides
    right = int(votes[truth])
    tokens_in, tokens_out = int(replies.tokens_in.sum()), int(replies.tokens_out.sum())
    unanimous = int(votes.max()) == k
    return {"run_id": f"{spec.name}-{spec.fingerprint()}-{agent.id}-x{k}", "n_agents": 1, "reason": "voted",
            "decision": question.options[decision], "correct": decision == truth, "decided": True, "rounds": 1,
            "rounds_to_consensus": 1 if unanimous else None, "agreement": int(votes.max()) / k,
            "accuracy_first": right / k, "accuracy_last": right / k, "messages": 0, "delivered": 0, "dropped": 0,
            "tokens_in": tokens_in, "tokens_out": tokens_out, "tokens": tokens_in + tokens_out, "cost_usd": 0.0,
            "failures": 0, "faults_applied": 0, "clock_s": on_time_grid(float(replies.latency_s.max())),
            "error": None}


def _through_engine(spec: TeamSpec, agent: AgentSpec, k: int) -> dict[str, Any]:
    """The same procedure for LLM members: ``k`` unlinked copies, one majority round."""
    copies = tuple(agent.replace(id=f"s{i}", role="member") for i in range(k))
    solo = spec.replace(agents=copies, topology={"kind": "edges", "edges": []}, faults=(),
                        protocol={"kind": "majority"}, name=f"{spec.name}-baseline", logging="rounds")
    result: RunResult = run_sync(solo)
    row = outcome_row(result.records, result.reason, result.decision, result.correct, result.rounds)
    return {"run_id": result.run_id, "n_agents": 1, **row, "error": None}
