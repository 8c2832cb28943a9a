"""Work division's own event types (beyond the board events in ``llmteams_lab.events``).

Defined with :func:`llmteams_lab.events.define_event`: same column schema, stored,
framed and replayed like the built-in types.

========================  ==================================================================
``TaskStolen``            ``agent`` took task ``value`` from ``peer``'s queue before ``peer``
                          started it (work stealing); a ``TaskClaimed`` by ``agent`` follows
``BackupStarted``         ``agent`` started a backup copy of task ``value``, which ``peer`` is
                          running long (speculative execution); ``detail``: JSON with the
                          task's elapsed time and the time its peers led to expect
``TaskCancelled``         ``agent``'s copy of task ``value`` was cancelled because ``peer``'s
                          copy finished first; ``detail``: JSON with the ``copy`` cancelled
                          (``primary`` or ``backup``), the ``units`` of work it had done and
                          the ``turns`` and ``tokens`` it had spent
========================  ==================================================================
"""

from __future__ import annotations

from llmteams_lab.events import define_event

__all__ = ["BackupStarted", "TaskCancelled", "TaskStolen"]

TaskStolen = define_event("TaskStolen", "An idle agent took a ready task waiting in another agent's queue (work "
                                        "stealing): agent the thief, peer the victim, value the task.")
BackupStarted = define_event("BackupStarted", "A backup copy of a task running long was started (speculative "
                                              "execution): agent the backup's, peer the primary's, value the task.")
TaskCancelled = define_event("TaskCancelled", "A copy of a task was cancelled because the other copy finished first: "
                                              "agent the loser, peer the winner, value the task; detail what the "
                                              "cancelled copy had done and spent.")
