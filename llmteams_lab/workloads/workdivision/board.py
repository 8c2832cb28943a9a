"""The shared task board of a work-division team (level 4, pure state, no events).

Each task is ``pending`` → (``assigned``) → ``in_progress`` → ``done``; it has an owner,
a size in rounds of work (``work``) and the rounds put into it so far (``progress``).
Agents change the board only through the action vocabulary, applied one at a time in
agent order; each call returns an :class:`Outcome` the runtime turns into an event:

claim T       allowed for a pending unowned task (or one assigned to the claimer) whose
              dependencies were done when the round began; otherwise refused with a reason
              (→ ``ClaimBlocked``). A dependency completed earlier in the same round does not
              count: its work and the dependent's would share one round, so a chain of C
              tasks could finish in fewer than C rounds (a round is one unit of an agent's work)
write F       writes file F. With locks, a file held by another agent is refused
              (→ ``LockDenied``); a write takes the lock, kept while the writer owns an
              unfinished task on F. A write by the owner of an in-progress task on F is
              a round of work on it (at most one per task per round). Without locks a
              write also clobbers what other agents wrote to F this round: their round of
              work is lost and a task they completed this round is reopened.
complete T    by T's owner once its work is done: the tests run (→ ``TestsRan``); faulty
              work fails them and the task starts over (rework), else ``TaskCompleted``.
              A task without files gets its round of work from the ``complete`` itself.
assign T A    (a lead) assigns a pending task to agent A; A must still claim it. Tasks are
              ranked in the order they were assigned (an agent's queue, under a policy).
steal T       (work stealing) takes a ready task assigned to another agent that has not
              started it, and starts it (→ ``TaskStolen``, then ``TaskClaimed``).
backup T      (speculation) an agent holding nothing starts a backup copy of T, which
              another agent is running (→ ``BackupStarted``; one backup per task). The
              backup writes its own copy of T's files — no locks, no clobbering — and
              makes its own progress; whichever copy completes first wins: T is done, owned
              by the winner, and the other copy is cancelled (→ ``TaskCancelled``); what
              the loser then does to T is refused.

Agents decide on the board as it was when the round began (a stale view), so two
agents can claim or write the same thing in one round — the board arbitrates.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

from llmteams_lab.spec.tasks import WorkTask

__all__ = ["Outcome", "STATUSES", "TaskBoard"]

STATUSES = ("pending", "assigned", "in_progress", "done")


class Outcome(NamedTuple):
    """What one action did. ``kind``: claimed, claim_blocked, written, lock_denied,
    tests, completed, assigned, refused, noop, stolen, backup_started, cancelled.
    ``peer``: lock holder, assignee, victim, primary or (cancelled) the loser; ``units``:
    the work a cancelled copy had done."""

    kind: str
    task: str | None = None
    file: str | None = None
    ok: bool = True
    reason: str | None = None
    peer: str | None = None
    damaged: tuple[str, ...] = ()
    units: int = 0


class TaskBoard:
    """Task statuses, owners, progress and file locks (see the module docstring)."""

    def __init__(self, tasks: Sequence[WorkTask], work: Mapping[str, int] | None = None, *, locks: bool = True,
                 priority: Mapping[str, int] | None = None):
        self.tasks = {t.id: t for t in tasks}
        self.order = [t.id for t in tasks]
        self.work = {t.id: int((work or {}).get(t.id, t.work)) for t in tasks}
        self.status = dict.fromkeys(self.order, "pending")
        self.owner: dict[str, str | None] = dict.fromkeys(self.order)
        self.progress = dict.fromkeys(self.order, 0)
        self.attempts = dict.fromkeys(self.order, 0)
        self.locks = locks
        self.holder: dict[str, str] = {}
        self.by_file: dict[str, list[str]] = {}
        for t in tasks:
            for f in t.files:
                self.by_file.setdefault(f, []).append(t.id)
        self.priority = dict(priority) if priority is not None else None  # a policy's rank of each task
        self.backup: dict[str, str] | None = None  # speculation on: task -> agent of its backup copy
        self.backup_progress: dict[str, int] = {}
        self.cancelled: set[tuple[str, str]] = set()  # (agent, task) copies that lost
        self.rank: dict[str, int] = {}  # the order tasks were assigned in
        self._worked: set[str] = set()      # tasks that got a round of work this round
        self._finished: set[str] = set()    # tasks completed this round

    # --- queries ------------------------------------------------------------------
    @property
    def done_count(self) -> int:
        return sum(s == "done" for s in self.status.values())

    @property
    def all_done(self) -> bool:
        return all(s == "done" for s in self.status.values())

    def ready(self, tid: str) -> bool:
        """Whether every dependency of ``tid`` was done when the round began."""
        return all(self.status[d] == "done" and d not in self._finished for d in self.tasks[tid].dependencies)

    def snapshot(self) -> list[dict[str, Any]]:
        """The board as plain JSON-able rows (what agents see at the start of a round)."""
        rows = [{"id": tid, "title": t.title, "status": self.status[tid], "owner": self.owner[tid],
                 "dependencies": list(t.dependencies), "files": list(t.files), "work": self.work[tid],
                 "progress": self.progress[tid]} for tid, t in self.tasks.items()]
        if self.priority is not None:  # under a scheduling policy: queue order and priority
            for row in rows:
                row["rank"] = self.rank.get(row["id"])
                row["priority"] = self.priority[row["id"]]
        if self.backup is not None:  # speculation: who runs a backup copy, and how far it got
            for row in rows:
                row["backup"] = self.backup.get(row["id"])
                row["backup_progress"] = self.backup_progress.get(row["id"], 0)
        return rows

    def copy_of(self, agent: str) -> str | None:
        """The running task ``agent`` holds a backup copy of, if any."""
        if not self.backup:
            return None
        return next((t for t, who in self.backup.items() if who == agent and self.status[t] == "in_progress"), None)

    def busy(self, agent: str) -> bool:
        """Whether ``agent`` holds a running task (its own or a backup copy)."""
        own = any(self.owner[t] == agent and self.status[t] == "in_progress" for t in self.order)
        return own or self.copy_of(agent) is not None

    # --- actions ------------------------------------------------------------------
    def assign(self, tid: str, agent: str) -> Outcome:
        if tid not in self.tasks:
            return Outcome("refused", tid, ok=False, reason="unknown_task", peer=agent)
        if self.status[tid] != "pending" or self.owner[tid] is not None:
            return Outcome("refused", tid, ok=False, reason="not_pending", peer=agent)
        self.status[tid], self.owner[tid] = "assigned", agent
        self.rank[tid] = len(self.rank)
        return Outcome("assigned", tid, peer=agent)

    def steal(self, agent: str, tid: str) -> list[Outcome]:
        """Take a ready task another agent was assigned and has not started, and start it."""
        if tid not in self.tasks:
            reason = "unknown_task"
        elif self.status[tid] != "assigned" or self.owner[tid] == agent:
            reason = {"in_progress": "already_claimed", "done": "already_done"}.get(self.status[tid], "not_queued")
        elif not self.ready(tid):
            reason = "dependencies_not_done"
        else:
            victim = self.owner[tid]
            self.status[tid], self.owner[tid] = "in_progress", agent
            return [Outcome("stolen", tid, peer=victim), Outcome("claimed", tid)]
        return [Outcome("claim_blocked", tid, ok=False, reason=reason, peer=self.owner.get(tid))]

    def start_backup(self, agent: str, tid: str) -> Outcome:
        """Start a backup copy of running task ``tid`` (see the module docstring)."""
        if self.backup is None:
            reason = "no_speculation"
        elif tid not in self.tasks:
            reason = "unknown_task"
        elif self.status[tid] != "in_progress":
            reason = "already_done" if self.status[tid] == "done" else "not_running"
        elif self.owner[tid] == agent:
            reason = "own_task"
        elif tid in self.backup:
            reason = "already_backed_up"
        elif self.busy(agent):
            reason = "busy"
        else:
            self.backup[tid], self.backup_progress[tid] = agent, 0
            return Outcome("backup_started", tid, peer=self.owner[tid])
        return Outcome("claim_blocked", tid, ok=False, reason=reason, peer=self.owner.get(tid))

    def claim(self, agent: str, tid: str) -> Outcome:
        reason = self._claim_refusal(agent, tid)
        if reason == "already_owned":
            return Outcome("noop", tid, reason=reason)
        if reason:
            return Outcome("claim_blocked", tid, ok=False, reason=reason, peer=self.owner.get(tid))
        self.status[tid], self.owner[tid] = "in_progress", agent
        return Outcome("claimed", tid)

    def _claim_refusal(self, agent: str, tid: str) -> str | None:
        if tid not in self.tasks:
            return "unknown_task"
        status, owner = self.status[tid], self.owner[tid]
        if status == "in_progress" and owner == agent:
            return "already_owned"
        if status in ("in_progress", "done"):
            return "already_claimed" if status == "in_progress" else "already_done"
        if owner not in (None, agent):
            return "assigned_to_other"
        if not self.ready(tid):
            return "dependencies_not_done"
        return None

    def write(self, agent: str, path: str) -> Outcome:
        tasks = self.by_file.get(path, ())
        copy = self.copy_of(agent)
        if copy is not None and copy in tasks:  # a backup writes its own copy: no lock, no clobber
            if (copy, "backup") not in self._worked:
                self._worked.add((copy, "backup"))
                self.backup_progress[copy] += 1
            return Outcome("written", copy, path)
        if self.cancelled and any((agent, t) in self.cancelled for t in tasks) \
                and not any(self.owner[t] == agent and self.status[t] == "in_progress" for t in tasks):
            return Outcome("refused", file=path, ok=False, reason="cancelled")  # a lost copy's late write
        held = self.holder.get(path)
        if self.locks and held not in (None, agent):
            return Outcome("lock_denied", file=path, ok=False, reason="locked", peer=held)
        if self.locks:
            self.holder[path] = agent
        damaged = () if self.locks else self._clobber(agent, path)
        mine = [t for t in self.by_file.get(path, ()) if self.owner[t] == agent and self.status[t] == "in_progress"]
        for tid in mine:
            if tid not in self._worked:
                self._worked.add(tid)
                self.progress[tid] += 1
        return Outcome("written", mine[0] if mine else None, path, damaged=damaged)

    def _clobber(self, agent: str, path: str) -> tuple[str, ...]:
        """Without locks: undo the other agents' work on ``path`` from this round."""
        hit = []
        for tid in self.by_file.get(path, ()):
            if self.owner[tid] != agent and tid in self._worked:
                self._worked.discard(tid)
                self.progress[tid] = max(0, self.progress[tid] - 1)
                if tid in self._finished:
                    self._finished.discard(tid)
                    self.status[tid] = "in_progress"
                hit.append(tid)
        return tuple(hit)

    def complete(self, agent: str, tid: str, *, faulty: bool = False) -> list[Outcome]:
        if tid not in self.tasks:
            return [Outcome("refused", tid, ok=False, reason="unknown_task")]
        if (agent, tid) in self.cancelled:
            return [Outcome("refused", tid, ok=False, reason="cancelled")]
        if self.backup and self.backup.get(tid) == agent and self.status[tid] == "in_progress":
            return self._complete_backup(agent, tid, faulty)
        if self.owner[tid] != agent or self.status[tid] != "in_progress":
            reason = "already_done" if self.status[tid] == "done" else "not_owner"
            return [Outcome("refused", tid, ok=False, reason=reason)]
        if not self.tasks[tid].files and tid not in self._worked:
            self._worked.add(tid)
            self.progress[tid] += 1
        if self.progress[tid] < self.work[tid]:
            return [Outcome("refused", tid, ok=False, reason="unfinished")]
        if faulty:
            self.progress[tid] = 0
            self.attempts[tid] += 1
            self._worked.discard(tid)
            return [Outcome("tests", tid, ok=False, reason="rework")]
        self.status[tid] = "done"
        self._finished.add(tid)
        return [Outcome("tests", tid), Outcome("completed", tid)] + self._cancel(tid, self.backup.get(tid)
                                                                                 if self.backup else None, "backup")

    def _complete_backup(self, agent: str, tid: str, faulty: bool) -> list[Outcome]:
        """The backup copy completes: it wins, and the primary copy is cancelled."""
        if not self.tasks[tid].files and (tid, "backup") not in self._worked:
            self._worked.add((tid, "backup"))
            self.backup_progress[tid] += 1
        if self.backup_progress[tid] < self.work[tid]:
            return [Outcome("refused", tid, ok=False, reason="unfinished")]
        if faulty:
            self.backup_progress[tid] = 0
            self._worked.discard((tid, "backup"))
            return [Outcome("tests", tid, ok=False, reason="rework")]
        primary = self.owner[tid]
        self.status[tid], self.owner[tid] = "done", agent
        self._finished.add(tid)
        return [Outcome("tests", tid), Outcome("completed", tid)] + self._cancel(tid, primary, "primary")

    def _cancel(self, tid: str, loser: str | None, copy: str) -> list[Outcome]:
        """Cancel ``loser``'s copy of the just-completed ``tid`` (none: nothing to cancel)."""
        if loser is None:
            return []
        self.cancelled.add((loser, tid))
        units = self.progress[tid] if copy == "primary" else self.backup_progress[tid]
        return [Outcome("cancelled", tid, ok=False, reason=copy, peer=loser, units=units)]

    def end_round(self) -> None:
        """Release locks whose holder no longer owns an unfinished task on the file."""
        for path, agent in list(self.holder.items()):
            busy = any(self.owner[t] == agent and self.status[t] == "in_progress" for t in self.by_file.get(path, ()))
            if not busy:
                del self.holder[path]
        self._worked.clear()
        self._finished.clear()

    def restore(self, status: Mapping[str, str], owner: Mapping[str, str | None],
                progress: Mapping[str, int] | None = None) -> None:
        """Set the board to a recorded state (used when a replay forks)."""
        for tid in self.order:
            self.status[tid] = status.get(tid, "pending")
            self.owner[tid] = owner.get(tid)
            self.progress[tid] = int((progress or {}).get(tid, 0))
        self.holder.clear()
        self.end_round()
