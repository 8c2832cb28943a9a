"""The action vocabulary: parsing JSON, line and XML-tag replies; prompt pieces."""

from __future__ import annotations

import pytest

from llmteams_lab.errors import MalformedOutputError
from llmteams_lab.messages import AgentRequest, Message
from llmteams_lab.workloads.workdivision.codec import (
    ACTIONS_SCHEMA,
    VERBS,
    describe_actions,
    parse_actions,
    parse_work_reply,
    render_board,
    work_messages,
    work_response_format,
)


def test_json_replies_with_objects_lists_and_strings() -> None:
    text = 'Sure. {"actions": [{"do": "claim", "task": "t3"}, {"do": "write", "file": "t3.py"}, ' \
           '["complete", "t3"], "ASSIGN t4 TO a1", {"do": "dance"}], "message": "took t3"} Done.'
    assert parse_actions(text) == (("claim", "t3"), ("write", "t3.py"), ("complete", "t3"), ("assign", "t4", "a1"),
                                   ("message", "took t3"))


def test_line_replies_ignore_prose() -> None:
    text = "Plan:\nCLAIM t3\nWrite the tests first, then relax.\nWRITE t3.py\n- complete: t3\nMESSAGE t3 is mine\n" \
           "I will wait for t1."
    assert parse_actions(text) == (("claim", "t3"), ("write", "t3.py"), ("complete", "t3"), ("message", "t3 is mine"))


def test_the_papers_xml_tags() -> None:
    text = '<claim_task task_id="task-1"/>\n<edit_file path="add.py">def add(a, b): return a + b</edit_file>\n' \
           '<complete_task task_id="task-1"/><assign_task task_id="task-2" assignee="Dev2"/>' \
           '<broadcast>task-1 done</broadcast>'
    assert parse_actions(text) == (("claim", "task-1"), ("write", "add.py"), ("complete", "task-1"),
                                   ("assign", "task-2", "Dev2"), ("message", "task-1 done"))


def test_nothing_to_do() -> None:
    assert parse_actions("") == () and parse_actions("I will wait.") == ()
    assert parse_actions('{"actions": []}') == ()
    assert describe_actions(()) == "idle"
    assert describe_actions((("claim", "t1"), ("message", "hi"))) == "claim t1, message"


def test_prompt_pieces_show_the_board_the_inbox_and_the_rules() -> None:
    board = [{"id": "t1", "title": "add", "status": "done", "owner": "a0", "dependencies": [], "files": ["t1.py"]},
             {"id": "t2", "title": "sub", "status": "pending", "owner": None, "dependencies": ["t1"], "files": []}]
    assert render_board(board) == "- t1 [done] owner=a0 files=t1.py: add\n- t2 [pending] needs=t1: sub"
    request = AgentRequest("r", 3, "a1", "member", None, (Message(2, "a0", "a1", None, text="t1 done"),),
                           view={"mode": "self_claim", "board": board, "project": "Math"})
    system, user = work_messages(request)
    assert system["role"] == "system" and "claim pending tasks" in system["content"]
    assert "You are a1. Round 3." in user["content"] and "- a0: t1 done" in user["content"]
    assert "Project: Math" in user["content"] and "- t2 [pending] needs=t1" in user["content"]
    lead = AgentRequest("r", 1, "a0", "leader", None, view={"mode": "lead_assigned", "board": board,
                                                            "members": ["a1", "a2"]})
    system, user = work_messages(lead)
    assert "team lead" in system["content"] and "Teammates: a1, a2" in user["content"]
    assert set(ACTIONS_SCHEMA["properties"]["actions"]["items"]["properties"]["do"]["enum"]) == set(VERBS)


def test_the_llm_boundary_pieces() -> None:
    actions, text = parse_work_reply('{"actions": [{"do": "claim", "task": "t1"}], "message": "mine"}')
    assert actions == (("claim", "t1"), ("message", "mine")) and text == "mine"
    assert parse_work_reply("Waiting for t1.") == ((), "")
    with pytest.raises(MalformedOutputError):
        parse_work_reply("  ")
    assert work_response_format("json_object") == {"type": "json_object"}
    assert work_response_format("none") is None
    assert work_response_format("auto")["json_schema"]["schema"] == ACTIONS_SCHEMA
