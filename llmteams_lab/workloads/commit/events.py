"""The commit workload's own event types (one column schema, like every event).

================  ============  ===========  ==============  ===================================
kind              agent         peer         value           detail (JSON)
================  ============  ===========  ==============  ===================================
Voted             participant                yes | no        ``step``, ``part`` (and ``reason``)
StepCompleted     participant                the step        ``part``
StepFailed        participant                the step        ``reason``
Blocked           participant   coordinator  the step        ``waited_s`` since it voted yes
PartCommitted     participant                the step        ``part``, ``blocked``, ``waited_s``
PartAborted       participant                the step        (same)
PartReleased      participant                the step        (same): its part was not used
Compensated       participant                the step        ``part`` it undid
LateCompletion    coordinator   participant  the step        a completion after its step was
                                                             given up (compensated at once)
BackupTookOver    coordinator   backup       the step        ``primary``, ``silent_s``
Decided           coordinator                commit | abort  ``reason``
TransactionEnded  coordinator                committed | aborted | published | partial;
                                             ``correct``: every part is right
================  ============  ===========  ==============  ===================================

Steps are named as in the spec (``CommitStep.name``). Each is caused (``cause``) by the
reply of the turn it happened in.
"""

from llmteams_lab.events import define_event

__all__ = ["BackupTookOver", "Blocked", "Compensated", "Decided", "LateCompletion", "PartAborted",
           "PartCommitted", "PartReleased", "StepCompleted", "StepFailed", "TransactionEnded", "Voted"]

Voted = define_event("Voted", "A participant voted on its prepared part (two-phase commit).")
StepCompleted = define_event("StepCompleted", "A participant did its step (saga, best effort).")
StepFailed = define_event("StepFailed", "A participant's step failed (saga, best effort).")
Blocked = define_event("Blocked", "A participant that voted yes heard no decision in time: it may not decide alone.")
PartCommitted = define_event("PartCommitted", "A participant committed its prepared part.")
PartAborted = define_event("PartAborted", "A participant aborted: its part is discarded.")
PartReleased = define_event("PartReleased", "A participant's part was not used (another version or the backup's).")
Compensated = define_event("Compensated", "A participant undid its completed step (saga compensation).")
LateCompletion = define_event("LateCompletion", "A step completed after it was given up; it is compensated at once.")
BackupTookOver = define_event("BackupTookOver", "The coordinator suspected a silent primary and asked its backup.")
Decided = define_event("Decided", "The coordinator decided the transaction (commit or abort).")
TransactionEnded = define_event("TransactionEnded", "The transaction's outcome: committed, aborted, published, partial.")
