"""The election workload's own event types (one column schema, like every event).

=================  ========  ========  ================  ==========================================
kind               agent     peer      value             detail (JSON)
=================  ========  ========  ================  ==========================================
HeartbeatMissed    follower  leader    its term          ``stood``: whether it then stood
ElectionStarted    candidate           the new term      its log's ``last_term``, ``last_index``
VoteGranted        voter     candidate the term
VoteRefused        voter     candidate the term          ``reason`` (the rule, or its choice)
LeaderElected      leader              the term          ``votes`` (agent ids), its ``log``
SteppedDown        agent               the new term      ``reason``
EntryProposed      leader              the value         ``index``, ``term``, ``question``
EntryCommitted     leader              the value         ``index``, ``term``, ``question``,
                                                         ``leader_term`` (when it was committed);
                                                         ``correct``: the value is the truth
ActionRefused      agent               the choice        ``reason``: the rule it broke
TaskReassigned     leader    assignee  the task          ``from``: the previous assignee (silent, or leading)
TaskAbandoned      worker    assignee  the task          (the committed log gave it to ``peer``; no
                                                         peer: it dropped it to lead)
TaskFinished       worker    leader    the task          (its work is done; it reports to ``peer``)
=================  ========  ========  ================  ==========================================

With ``duty="assign"`` work entries are ``EntryProposed``/``EntryCommitted`` with
``question`` -2 and ``op``, ``task``, ``agent`` in their detail, and the work-division
events tell the work: ``TaskClaimed`` (a follower starts a committed assignment; detail:
its log ``index`` and ``work``) and ``TaskCompleted`` (agent: the worker, peer: the
leader that committed the completion — once per task), so the work-division metrics and
plots read such runs.

Each is caused (``cause``) by the reply of the turn it happened in.
"""

from llmteams_lab.events import define_event

__all__ = ["ActionRefused", "ElectionStarted", "EntryCommitted", "EntryProposed", "HeartbeatMissed",
           "LeaderElected", "SteppedDown", "TaskAbandoned", "TaskFinished", "TaskReassigned", "VoteGranted",
           "VoteRefused"]

HeartbeatMissed = define_event("HeartbeatMissed", "A follower's election timer ran out: no leader heard from.")
ElectionStarted = define_event("ElectionStarted", "A candidate started an election for term ``value``.")
VoteGranted = define_event("VoteGranted", "``agent`` granted its vote in term ``value`` to ``peer``.")
VoteRefused = define_event("VoteRefused", "``agent`` refused ``peer`` its vote in term ``value`` (``detail``).")
LeaderElected = define_event("LeaderElected", "``agent`` won a majority and leads term ``value``.")
SteppedDown = define_event("SteppedDown", "A leader or candidate saw a higher term and became a follower.")
EntryProposed = define_event("EntryProposed", "The leader appended a decision ``value`` to its log.")
EntryCommitted = define_event("EntryCommitted", "The leader committed log entry ``value`` (a majority holds it).")
ActionRefused = define_event("ActionRefused", "The rules refused a choice an agent made (``detail``: why).")
TaskReassigned = define_event("TaskReassigned", "The leader's re-assignment of task ``value`` to ``peer`` committed "
                                                "(its previous assignee, in ``detail``, went silent or leads).")
TaskAbandoned = define_event("TaskAbandoned",
                             "``agent`` dropped task ``value``: the committed log gave it to ``peer`` (none: it "
                             "was elected leader, and a leader does no work).")
TaskFinished = define_event("TaskFinished", "``agent`` finished its work on task ``value`` and reports it to ``peer`` "
                                            "(its leader, if it knows one); the task is done once that is committed.")
