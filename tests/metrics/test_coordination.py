"""commit_outcomes' output columns: what stands at the end of a transaction."""

from __future__ import annotations

from llmteams_lab.metrics import commit_outcomes, events_frame
from llmteams_lab.spec import commit_team
from tests.support import COORDINATION_GOLDEN, run_all

_STEPS = [{"name": "draft", "compensation": "withdraw"}, {"name": "review", "compensation": "retract"},
          {"name": "publish", "compensation": "unpublish", "fails": True}]


def _row(spec) -> dict:
    return commit_outcomes(events_frame(run_all(spec)[1])).row(0, named=True)


def test_a_best_effort_output_missing_a_part_is_half_done() -> None:
    row = _row(commit_team(_STEPS, protocol="best_effort", seed=3, max_rounds=60))
    assert (row["outcome"], row["steps"], row["parts_out"], row["left_in_effect"], row["half_done"]) == \
        ("partial", 3, 2, 0, True)


def test_an_aborted_saga_leaves_nothing_in_effect() -> None:
    row = _row(COORDINATION_GOLDEN["commit_saga_compensation"])
    assert row["outcome"] == "aborted" and row["compensations"] == 2
    assert (row["parts_out"], row["left_in_effect"], row["half_done"]) == (0, 0, False)


def test_a_committed_transaction_outputs_every_part() -> None:
    row = _row(commit_team(2, protocol="two_phase", seed=1, max_rounds=80))
    assert row["outcome"] == "committed"
    assert (row["steps"], row["parts_out"], row["half_done"]) == (2, 2, False)


def test_an_abort_whose_compensations_went_missing_is_caught() -> None:
    frame = events_frame(run_all(COORDINATION_GOLDEN["commit_saga_compensation"])[1])
    broken = frame.filter(frame["kind"] != "Compensated")  # as if the undo never happened
    row = commit_outcomes(broken).row(0, named=True)
    assert (row["outcome"], row["left_in_effect"], row["half_done"]) == ("aborted", 2, True)
