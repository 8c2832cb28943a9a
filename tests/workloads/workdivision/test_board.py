"""The task board: claims, locks, clobbering, tests and rework, assignment, restore."""

from __future__ import annotations

from llmteams_lab.spec import WorkTask
from llmteams_lab.workloads.workdivision.board import TaskBoard

DAG = (WorkTask("t1", files=("t1.py",)), WorkTask("t2", dependencies=("t1",), files=("t2.py",)),
       WorkTask("t3", files=("shared.py",), work=2), WorkTask("t4", files=("shared.py",)), WorkTask("t5"))


def kinds(outcomes) -> list[str]:
    return [o.kind for o in outcomes]


def test_claims_follow_dependencies_and_ownership() -> None:
    board = TaskBoard(DAG)
    assert board.claim("a", "t2").reason == "dependencies_not_done"
    assert board.claim("a", "nope").reason == "unknown_task"
    assert board.claim("a", "t1").kind == "claimed"
    assert board.claim("a", "t1").kind == "noop"
    blocked = board.claim("b", "t1")
    assert (blocked.kind, blocked.reason, blocked.peer) == ("claim_blocked", "already_claimed", "a")
    board.write("a", "t1.py")
    assert kinds(board.complete("a", "t1")) == ["tests", "completed"]
    assert board.claim("b", "t1").reason == "already_done"
    # t1 was completed in this round: t2's work cannot share the round with it
    assert board.claim("b", "t2").reason == "dependencies_not_done"
    board.end_round()
    assert board.claim("b", "t2").kind == "claimed"


def test_assigned_tasks_can_only_be_claimed_by_their_owner() -> None:
    board = TaskBoard(DAG)
    assert board.assign("t1", "a").kind == "assigned"
    assert board.assign("t1", "b").reason == "not_pending"
    assert board.claim("b", "t1").reason == "assigned_to_other"
    assert board.claim("a", "t1").kind == "claimed"


def test_work_takes_rounds_of_writes_and_complete_checks_it() -> None:
    board = TaskBoard(DAG)
    board.claim("a", "t3")
    board.write("a", "shared.py")
    board.write("a", "shared.py")  # at most one round of work per round
    assert board.complete("a", "t3")[0].reason == "unfinished"
    board.end_round()
    board.write("a", "shared.py")
    assert kinds(board.complete("a", "t3")) == ["tests", "completed"]
    assert board.complete("b", "t1")[0].reason == "not_owner"


def test_locks_refuse_writes_to_a_file_another_agent_holds() -> None:
    board = TaskBoard(DAG, locks=True)
    board.claim("a", "t3")
    board.claim("b", "t4")
    assert board.write("a", "shared.py").kind == "written"
    denied = board.write("b", "shared.py")
    assert (denied.kind, denied.peer) == ("lock_denied", "a")
    board.end_round()  # a still works on t3: the lock is kept
    assert board.write("b", "shared.py").kind == "lock_denied"
    board.write("a", "shared.py")
    board.complete("a", "t3")
    board.end_round()  # t3 done: released
    assert board.write("b", "shared.py").kind == "written"
    assert board.holder["shared.py"] == "b"


def test_without_locks_a_concurrent_write_clobbers_this_rounds_work() -> None:
    board = TaskBoard(DAG, locks=False)
    board.claim("a", "t1")
    board.write("a", "t1.py")
    board.complete("a", "t1")
    assert board.status["t1"] == "done"
    stray = board.write("b", "t1.py")  # b acted on a stale view of t1
    assert stray.damaged == ("t1",) and stray.task is None
    assert board.status["t1"] == "in_progress" and board.progress["t1"] == 0
    board.end_round()
    board.write("a", "t1.py")
    assert kinds(board.complete("a", "t1")) == ["tests", "completed"]


def test_faulty_work_fails_its_tests_and_starts_over() -> None:
    board = TaskBoard(DAG)
    board.claim("a", "t5")
    failed = board.complete("a", "t5", faulty=True)  # a task without files: complete is its work
    assert [(o.kind, o.ok, o.reason) for o in failed] == [("tests", False, "rework")]
    assert board.attempts["t5"] == 1 and board.status["t5"] == "in_progress"
    board.end_round()
    assert kinds(board.complete("a", "t5")) == ["tests", "completed"]
    assert board.done_count == 1 and not board.all_done


def test_snapshot_and_restore() -> None:
    board = TaskBoard(DAG, {"t3": 3})
    snap = {t["id"]: t for t in board.snapshot()}
    assert snap["t3"]["work"] == 3 and snap["t2"]["dependencies"] == ["t1"] and snap["t1"]["status"] == "pending"
    board.restore({"t1": "done", "t2": "in_progress"}, {"t2": "b"}, {"t2": 1})
    assert board.ready("t2") and board.status["t3"] == "pending" and board.progress["t2"] == 1
    assert board.claim("a", "t2").reason == "already_claimed"
