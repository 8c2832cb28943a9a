"""Synchronous rounds: the barrier execution model (the default).

A round:

1. check the budgets (never start a round the run cannot afford — round 1 included);
2. ``RoundStarted``; messages due this round are delivered into inboxes;
3. the workload says who acts; every backend answers (batched or concurrently,
   bounded); replies are applied in agent order, never completion order;
4. the workload decides; every agent that replied sends along its out-arcs (or to its
   recipients, see ``runtime.links``);
5. ``RoundEnded`` at the slowest reply or the slowest message in flight (the straggler
   sets the pace) and, if the workload is done or the budget spent, ``RunEnded``.

Messages sent in round r are read in round r + 1: the barrier is the synchrony
assumption, and it is what makes a slow agent cost the whole team its time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmteams_lab.rounds import RoundReplySlots
from llmteams_lab.runtime.dispatch import gather_round, hold_to_limits, log_backend_retries, round_stop_reason
from llmteams_lab.runtime.lifecycle import RoundSummary

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.engine import Run

__all__ = ["Rounds"]


class Rounds:
    """Steps a run in synchronous rounds (see the module docstring)."""

    name = "synchronous"

    def __init__(self, run: "Run"):
        self.run = run

    def injected(self, kind: str) -> None:
        """A fault was injected: rounds need nothing more (the injector acts on them)."""

    async def step(self) -> RoundSummary:
        run = self.run
        reason = run.budget_stop()
        if reason:
            return run.end(reason)
        run.round += 1
        r, t0 = run.round, run.clock
        run.log.row("RoundStarted", r, t_start=t0, t_end=t0)
        faults, work, network = run.faults, run.workload, run.network
        faults.begin_round(r, t0)
        network.deliver_due(run.log, r, t0)
        inbox = network.take_inbox()
        inbox.now = t0
        acting = work.acting(r, run.alive)
        slots = RoundReplySlots(len(run.spec.agents))
        await gather_round(run.groups, acting, work.batch(r, acting, inbox),
                           lambda i: work.request(r, i, inbox), slots, run.spec.concurrency, work.options,
                           run.seconds_left(t0))
        log_backend_retries(run.log, run.groups, network.ids, r, t0)
        faults.after_replies(r, t0, acting, inbox, slots)
        hold_to_limits(run.log, run.groups, network.ids, r, acting, slots, t0)
        run.count_usage(acting, slots)
        t_end = work.apply(r, t0, acting, slots)
        run.check_reachable(r, acting, slots)
        faults.after_apply(r, acting, slots)
        work.decide(r, run.alive)
        out = work.broadcast(r, acting, slots)
        t_sent = t0 + slots.latency
        t_end = faults.round_end(out.senders, t_sent, t_end)
        t_end = network.send(run.log, r, out, t_sent, t_end)
        summary = run.close_round(r, t0, t_end)
        stop = round_stop_reason(slots.failures.values())  # a refused key, usage above bound, the deadline
        if not summary.done and stop:
            return run.end(stop)
        return summary

    def annotate(self, state: dict) -> dict:
        return state
