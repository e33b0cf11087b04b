"""The deadlines a case history set, and whether each was met, escalated or is overdue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..case.event_base import CaseEventBase
from ..case.events import (
    AppealDecided,
    AppealLodged,
    AppealWindowClosed,
    CaseClosed,
    CaseDismissed,
    CaseTriaged,
    DeadlineMissed,
    DecisionRecorded,
    HearingHeld,
    HearingScheduled,
    HoldReleased,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    MemberReinstated,
    NoticeIssued,
    ReportAcknowledged,
    ReportFiled,
    ReportHeld,
    ResponseSubmitted,
    SanctionApplied,
    SanctionEnded,
)
from .context import Entry, History
from .results import Faults, iso


@dataclass(frozen=True)
class Deadline:
    kind: str
    due_at: datetime
    set_by: Entry[Any]
    met_by: Entry[Any] | None  # the act that met it (possibly late)
    escalated_by: Entry[Any] | None  # the recorded breach, lapse or closure

    @property
    def culprits(self) -> list[Entry[Any]]:
        return [self.set_by] + ([self.met_by] if self.met_by else [])


def overdue(deadline: Deadline, clock: datetime | None) -> str | None:
    """What went wrong with a deadline, or None if it was met, escalated or is not yet due."""
    if deadline.met_by is not None and deadline.met_by.at <= deadline.due_at:
        return None
    if deadline.escalated_by is not None:
        return None
    what = (f"the {deadline.kind} deadline of {iso(deadline.due_at)} set by "
            f"{deadline.set_by.label}")
    if deadline.met_by is not None:
        return f"{what} was met late by {deadline.met_by.label} with no escalation recorded"
    if clock is not None and clock > deadline.due_at:
        return f"{what} passed by {iso(clock)} without being met or escalated"
    return None


def deadline_faults(deadlines: Sequence[Deadline], clock: datetime | None) -> Faults:
    """Every deadline not met, escalated or still to come, blaming the events that set it."""
    faults = Faults()
    for deadline in deadlines:
        problem = overdue(deadline, clock)
        if problem:
            faults.add(problem, *deadline.culprits)
    return faults


def first_of(entries: Sequence[Entry[Any]]) -> Entry[Any] | None:
    return min(entries, key=lambda e: e.version, default=None)


def _missed(h: History, kind: str) -> Entry[Any] | None:
    return first_of([m for m in h.of(DeadlineMissed) if m.event.kind == kind])


def _acknowledge_deadline(h: History) -> list[Deadline]:
    report = h.first(ReportFiled)
    procedure = report.before.procedure if report else None
    procedure = procedure or h.procedure
    if report is None or procedure is None:
        return []
    return [Deadline("acknowledge", report.at + procedure.deadlines.acknowledge, report,
                     h.first(ReportAcknowledged), _missed(h, "acknowledge"))]


def _respond_deadline(h: History) -> list[Deadline]:
    notice = h.first(NoticeIssued)
    if notice is None:
        return []
    # A decision before the due date moves the case on: nothing is then owed or escalated.
    met = first_of([*h.later(notice, ResponseSubmitted), *h.later(notice, DecisionRecorded)])
    return [Deadline("respond", notice.event.response_due, notice, met, _missed(h, "respond"))]


def _schedule_deadline(h: History) -> list[Deadline]:
    notice, procedure = h.first(NoticeIssued), h.procedure
    if notice is None or procedure is None:
        return []
    # A hearing scheduled, or a decision (or dismissal) without one, ends the wait.
    met = first_of([*h.later(notice, HearingScheduled), *h.later(notice, DecisionRecorded),
                    *h.later(notice, CaseDismissed)])
    return [Deadline("schedule_hearing", notice.at + procedure.deadlines.schedule_hearing,
                     notice, met, _missed(h, "schedule_hearing"))]


def _stage_deadline(h: History, kind: str, start: Entry[Any] | None,
                    *ends: type[CaseEventBase]) -> list[Deadline]:
    """A stage's period from ``start`` until the first later event of ``ends`` (or closure),
    as domain/case/deadlines.py times it."""
    procedure = h.procedure
    if start is None or procedure is None:
        return []
    stops: tuple[type[CaseEventBase], ...] = (*ends, CaseClosed)
    if any(h.earlier(start, end) for end in stops):
        return []  # the stage was already left: the fold sets no period either
    met = first_of([e for end in stops for e in h.later(start, end)])
    return [Deadline(kind, start.at + getattr(procedure.deadlines, kind), start, met,
                     _missed(h, kind))]


def _last(entries: Sequence[Entry[Any]]) -> Entry[Any] | None:
    return max(entries, key=lambda e: e.version, default=None)


def _triage_start(h: History) -> Entry[Any] | None:
    """Acknowledgement starts triage; a held report's period starts at its release."""
    acknowledged = h.first(ReportAcknowledged)
    if acknowledged is None:
        return None
    if h.first(ReportHeld) is None:
        return acknowledged
    released = h.first(HoldReleased)
    return None if released is None else _last([acknowledged, released])


def _stage_deadlines(h: History) -> list[Deadline]:
    notice = h.first(NoticeIssued)
    # The latest triage before notice, hearing and appeal start their stage, as in the fold.
    triaged = _last([t for t in h.of(CaseTriaged) if notice is None or t.version < notice.version])
    return [
        *_stage_deadline(h, "triage", _triage_start(h), CaseTriaged, CaseDismissed),
        *_stage_deadline(h, "investigation", triaged, NoticeIssued, CaseDismissed),
        *_stage_deadline(h, "decide_after_hearing", _last(h.of(HearingHeld)),
                         DecisionRecorded, CaseDismissed),
        *_stage_deadline(h, "decide_appeal", _last(h.of(AppealLodged)), AppealDecided),
    ]


_INTERIM_ENDS = (InterimSuspensionRenewed, InterimSuspensionLifted, InterimSuspensionLapsed,
                 DecisionRecorded, MemberReinstated, CaseDismissed, CaseClosed)


def interim_deadlines(h: History) -> list[Deadline]:
    deadlines = []
    periods: list[Entry[Any]] = [*h.of(InterimSuspensionImposed), *h.of(InterimSuspensionRenewed)]
    for period in sorted(periods, key=lambda e: e.version):
        end = first_of([e for kind in _INTERIM_ENDS for e in h.later(period, kind)])
        lapsed = end if end is not None and isinstance(end.event, InterimSuspensionLapsed) \
            else None
        met = None if lapsed else end
        deadlines.append(Deadline("interim suspension review", period.event.review_by, period,
                                  met, lapsed))
    return deadlines


def _appeal_deadlines(h: History) -> list[Deadline]:
    decision = h.first(DecisionRecorded)
    if decision is None or not decision.event.upheld:
        return []  # nothing upheld, nothing to appeal: no window to close
    due = decision.event.appeal_deadline
    lodged = first_of([a for a in h.later(decision, AppealLodged) if a.at <= due])
    closed = first_of(h.later(decision, AppealWindowClosed))
    return [Deadline("appeal window", due, decision, lodged, closed)]


def _sanction_end_deadlines(h: History) -> list[Deadline]:
    deadlines = []
    for carried in h.of(SanctionApplied):
        if carried.event.ends_at is None:
            continue
        ended = first_of([*h.later(carried, SanctionEnded), *h.later(carried, MemberReinstated)])
        deadlines.append(Deadline("sanction end", carried.event.ends_at, carried, None, ended))
    return deadlines


def all_deadlines(h: History) -> list[Deadline]:
    """Every deadline the history set, in the order the check reports them."""
    return [*_acknowledge_deadline(h), *_respond_deadline(h), *_schedule_deadline(h),
            *_stage_deadlines(h), *interim_deadlines(h),
            *_appeal_deadlines(h), *_sanction_end_deadlines(h)]
