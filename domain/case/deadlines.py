"""Deadlines the workflow must hold durable timers for, each with its timer command.

After every change the workflow holds a timer for the earliest of its pending deadlines
(``pending_dues``, whose ``deadline()`` makes that one's command) and, when it fires,
sends ``deadline.command`` through decide(). A deadline met in the meantime makes that
command a no-op, so stale timers need no cancelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import get_args

from ..base import SYSTEM_ACTOR, Model
from ..policy import PolicyVersion
from ..rules.collection import notices_owed
from .commands import (
    CaseCommand,
    CloseAppealWindow,
    EndSanction,
    EscalateMissedCollectionNotice,
    EscalateMissedDeadline,
    LapseInterimSuspension,
    ReleaseHold,
)
from .state import CaseState
from .values import EscalatedKind


class DeadlineKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESPOND = "respond"
    SCHEDULE_HEARING = "schedule_hearing"
    TRIAGE = "triage"
    INVESTIGATION = "investigation"
    DECIDE_AFTER_HEARING = "decide_after_hearing"
    DECIDE_APPEAL = "decide_appeal"
    INTERIM_SUSPENSION_REVIEW = "interim_suspension_review"
    APPEAL_WINDOW = "appeal_window"
    SANCTION_END = "sanction_end"
    DATA_COLLECTION_NOTICE = "data_collection_notice"  # GDPR Art 14
    HOLD_END = "hold_end"  # DSA Art 23: a repeat reporter's held report is processed


class Deadline(Model):
    kind: DeadlineKind
    due_at: datetime
    command: CaseCommand


def acknowledge_due(state: CaseState) -> datetime | None:
    """When the report must be acknowledged by, while that is still outstanding."""
    version = state.procedure
    if state.report is None or version is None or state.acknowledged_at is not None:
        return None
    return state.report.effective_at + version.deadlines.acknowledge


def response_due(state: CaseState) -> datetime | None:
    """When the respondent's answer is due, while one is still awaited."""
    if state.notice is None or state.response is not None or state.decision is not None:
        return None
    return state.notice.response_due


def schedule_hearing_due(state: CaseState) -> datetime | None:
    """When a hearing must be scheduled by, once notice is issued and until one is (or the
    case is decided without one): backlogs of untouched cases are escalated, not left."""
    version = state.procedure
    if state.notice is None or version is None or state.hearing is not None \
            or state.decision is not None or state.dismissal is not None:
        return None
    return state.notice.effective_at + version.deadlines.schedule_hearing


def triage_due(state: CaseState) -> datetime | None:
    """When the acknowledged report must be triaged (taken up or dismissed) by. A held
    report is not processed (DSA Art 23): its period runs from the hold's release."""
    version, acknowledged = state.procedure, state.acknowledged_at
    if version is None or acknowledged is None or state.triage is not None \
            or state.dismissal is not None or state.reporting.held:
        return None
    released = state.reporting.released
    start = max(acknowledged, released.effective_at) if released else acknowledged
    return start + version.deadlines.triage


def investigation_due(state: CaseState) -> datetime | None:
    """When a case triaged for investigation must reach notice (the stage the case is
    under investigation in runs from CaseTriaged to NoticeIssued)."""
    version = state.procedure
    if state.triage is None or version is None or state.notice is not None \
            or state.dismissal is not None:
        return None
    return state.triage.effective_at + version.deadlines.investigation


def decision_due(state: CaseState) -> datetime | None:
    """When the decision is due after the hearing was held."""
    version, held = state.procedure, state.hearing_held
    if held is None or version is None or state.decision is not None \
            or state.dismissal is not None:
        return None
    return held.effective_at + version.deadlines.decide_after_hearing


def appeal_decision_due(state: CaseState) -> datetime | None:
    """When a lodged appeal must be decided by."""
    version, appeal = state.procedure, state.appeal
    if appeal is None or version is None or state.appeal_decision is not None:
        return None
    return appeal.effective_at + version.deadlines.decide_appeal


_DUE: dict[str, Callable[[CaseState], datetime | None]] = {
    "acknowledge": acknowledge_due, "respond": response_due,
    "schedule_hearing": schedule_hearing_due, "triage": triage_due,
    "investigation": investigation_due, "decide_after_hearing": decision_due,
    "decide_appeal": appeal_decision_due,
}


def due_for(state: CaseState, kind: EscalatedKind) -> datetime | None:
    """The due time of an escalated deadline of this kind, while it is still outstanding."""
    return _DUE[kind](state)


def overdue_since(state: CaseState) -> datetime | None:
    """Since when the case has been overdue on a deadline whose miss is on the record: the
    earliest due time of a missed stage deadline whose stage is still unmet, or of an Art
    14 notice recorded as missed and still owed. None when none is.

    The one definition of "still overdue after the escalation" (issue 15): a recorded miss
    drops out of ``pending_deadlines`` (its timer has fired), yet the case still waits
    until the step it was due for happens, when ``due_for`` returns None.
    """
    if state.closed:
        return None
    dues = [due for kind in get_args(EscalatedKind)
            if kind in state.missed and (due := due_for(state, kind)) is not None]
    dues += [o.due_at for o in notices_owed(state) if o.evidence_id in state.collection.missed]
    return min(dues, default=None)


def overdue_at(state: CaseState, now: datetime) -> bool:
    """Whether the case is overdue at ``now``: a deadline passed and still outstanding,
    whether or not its timer has fired yet. The case list stores both terms (its
    ``next_deadline_at`` and ``overdue_since`` columns) and judges this in SQL
    (services/case_list.py:overdue_sql)."""
    upcoming = next_deadline(state)
    next_due = upcoming[1] if upcoming else None
    since = overdue_since(state)
    return any(t is not None and t < now for t in (next_due, since))


# A deadline as the rules below find it: its kind, due time and how to make its timer's
# command. The command is made only for the timer the workflow holds (``PendingDue``) and
# for ``pending_deadlines``, not for the case list's next deadline (``next_deadline``),
# which the projection asks of every case an event touches: validating those commands and
# Deadlines was 17% of the projections' CPU profile there (issue 14).
_Due = tuple[DeadlineKind, datetime, Callable[[], CaseCommand]]


def pending_deadlines(state: CaseState) -> list[Deadline]:
    return [due.deadline() for due in pending_dues(state)]


@dataclass(frozen=True)
class PendingDue:
    """One of ``pending_deadlines`` before its timer's command is made (``deadline()``
    makes it): the case workflow picks its next timer from these after every decision and
    makes only that one's command. Making and validating every pending deadline's command
    there was a fifth of the workflow's activation time (cProfile, bench/decisions.py,
    2026-12-02)."""

    kind: DeadlineKind
    due_at: datetime
    make: Callable[[], CaseCommand]

    def deadline(self) -> Deadline:
        return Deadline(kind=self.kind, due_at=self.due_at, command=self.make())


def pending_dues(state: CaseState) -> list[PendingDue]:
    """``pending_deadlines`` in the same order (by due time; of equal ones, as listed)."""
    return [PendingDue(kind, due, command)
            for kind, due, command in sorted(_dues(state), key=lambda d: d[1])]


def next_deadline(state: CaseState) -> tuple[DeadlineKind, datetime] | None:
    """The kind and due time of the first of ``pending_deadlines`` (the earliest; of equal
    ones, the first listed), without making the timers' commands."""
    first = min(_dues(state), key=lambda d: d[1], default=None)
    return None if first is None else (first[0], first[1])


def _dues(state: CaseState) -> list[_Due]:
    version = state.procedure
    if state.closed or version is None:
        return []
    return [
        *_escalations(state, version),
        *_interim_review(state, version),
        *_appeal_window(state, version),
        *_sanction_end(state),
        *_collection_notices(state, version),
        *_hold_end(state, version),
    ]


def _escalations(state: CaseState, version: PolicyVersion) -> list[_Due]:
    found: list[_Due] = []
    for kind in get_args(EscalatedKind):
        due = due_for(state, kind)
        if due is not None and kind not in state.missed:
            found.append((DeadlineKind(kind), due, partial(
                EscalateMissedDeadline, actor=SYSTEM_ACTOR,
                authority=version.authority(f"deadlines.{kind}"), kind=kind, due_at=due)))
    return found


def _interim_review(state: CaseState, version: PolicyVersion) -> list[_Due]:
    if state.interim is None:
        return []
    due = state.interim.review_by
    return [(DeadlineKind.INTERIM_SUSPENSION_REVIEW, due, partial(
        LapseInterimSuspension, actor=SYSTEM_ACTOR,
        authority=version.authority("deadlines.interim_suspension_review"), review_by=due))]


def _appeal_window(state: CaseState, version: PolicyVersion) -> list[_Due]:
    if state.decision is None or state.appeal_window_closed:
        return []
    due = state.decision.appeal_deadline
    return [(DeadlineKind.APPEAL_WINDOW, due, partial(
        CloseAppealWindow, actor=SYSTEM_ACTOR,
        authority=version.authority("deadlines.appeal_window"), closes_at=due))]


def _sanction_end(state: CaseState) -> list[_Due]:
    sanction = state.sanction
    if sanction is None or sanction.ends_at is None or state.sanction_ended:
        return []
    return [(DeadlineKind.SANCTION_END, sanction.ends_at, partial(
        EndSanction, actor=SYSTEM_ACTOR,
        authority=f"case:{state.case_id}#decision.sanction.term", ends_at=sanction.ends_at))]


def _collection_notices(state: CaseState, version: PolicyVersion) -> list[_Due]:
    """One timer per due time at which Art 14 notices still owed fall due (a fired timer
    records every miss due by then, so equal times share one timer)."""
    dues = sorted({o.due_at for o in notices_owed(state)
                   if o.evidence_id not in state.collection.missed})
    authority = version.authority("deadlines.data_collection_notice")
    return [(DeadlineKind.DATA_COLLECTION_NOTICE, due, partial(
        EscalateMissedCollectionNotice, actor=SYSTEM_ACTOR, authority=authority, due_at=due))
        for due in dues]


def _hold_end(state: CaseState, version: PolicyVersion) -> list[_Due]:
    due = state.reporting.held_until
    if due is None:
        return []
    return [(DeadlineKind.HOLD_END, due, partial(
        ReleaseHold, actor=SYSTEM_ACTOR,
        authority=version.authority("repeat_reporting.hold_period"), held_until=due))]
