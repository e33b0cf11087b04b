"""Deciders for repeat-reporter handling (DSA Art 23): the warning, the hold, its
contest and its end. The rules (domain/rules/reporting.py) judge what these propose."""

from __future__ import annotations

from datetime import datetime

from ..commands import ContestHold, DecideHoldContest, HoldReport, ReleaseHold, WarnReporter
from ..events import (
    CaseEvent,
    HoldContestDecided,
    HoldContested,
    HoldReleased,
    ReporterWarned,
    ReportHeld,
)
from ..reporter_values import UnfoundedDismissal
from ..state import CaseState
from ..values import DismissalReason
from .common import meta, procedure


def warn_reporter(state: CaseState, cmd: WarnReporter, at: datetime) -> list[CaseEvent]:
    """Warn the reporter of this dismissed case when their manifestly unfounded dismissals
    in the window reach the threshold, unless a warning's hold already runs."""
    config = procedure(state).repeat_reporting
    dismissal = state.dismissal
    if state.reporting.warning is not None or config is None or dismissal is None \
            or dismissal.dismissal_reason is not DismissalReason.MANIFESTLY_UNFOUNDED:
        return []
    record = cmd.record
    if record.hold_on(at) is not None:
        return []  # warned already: its hold runs
    own = [d for d in record.dismissals if d.case_id != state.case_id]
    from_record = record.model_copy(update={"dismissals": [*own, *_this_dismissal(state)]})
    counted = from_record.counted(at - config.window, at)
    if len(counted) < config.threshold:
        return []
    return [ReporterWarned(**meta(cmd, at), reporter_id=record.reporter_id, counted=counted,
                           threshold=config.threshold, window=config.window,
                           hold_until=at + config.hold_period, reasons=config.warning)]


def _this_dismissal(state: CaseState) -> list[UnfoundedDismissal]:
    assert state.dismissal is not None
    return [UnfoundedDismissal(case_id=state.case_id, dismissed_at=state.dismissal.effective_at,
                               dismissed_by=state.dismissal.reviewed_by)]


def hold_report(state: CaseState, cmd: HoldReport, at: datetime) -> list[CaseEvent]:
    """Hold the report when a warning of its reporter covers the time it was filed."""
    config = procedure(state).repeat_reporting
    report = state.report
    if state.reporting.hold is not None or config is None or report is None \
            or state.human_triaged:
        return []
    warning = cmd.record.hold_on(report.effective_at)
    if warning is None or warning.hold_until <= at:
        return []
    return [ReportHeld(**meta(cmd, at), reporter_id=cmd.record.reporter_id, warning=warning,
                       held_until=warning.hold_until, reasons=config.warning)]


def contest_hold(state: CaseState, cmd: ContestHold, at: datetime) -> list[CaseEvent]:
    contest = state.reporting.contest
    if contest is not None and contest.reasons == cmd.reasons:
        return []
    return [HoldContested(**meta(cmd, at), reasons=cmd.reasons)]


def decide_hold_contest(state: CaseState, cmd: DecideHoldContest,
                        at: datetime) -> list[CaseEvent]:
    decided = state.reporting.contest_decision
    if decided is not None and (decided.lifted, decided.reasons, decided.decided_by) == (
            cmd.lift, cmd.reasons, cmd.actor.id):
        return []
    events: list[CaseEvent] = [HoldContestDecided(**meta(cmd, at), decided_by=cmd.actor.id,
                                                  lifted=cmd.lift, reasons=cmd.reasons)]
    hold = state.reporting.hold
    if cmd.lift and hold is not None:
        events.append(HoldReleased(**meta(cmd, at), held_until=hold.held_until, lifted=True))
    return events


def release_hold(state: CaseState, cmd: ReleaseHold, at: datetime) -> list[CaseEvent]:
    hold = state.reporting.hold
    if not state.reporting.held or hold is None or hold.held_until != cmd.held_until:
        return []  # released already, or a stale timer
    return [HoldReleased(**meta(cmd, at), held_until=hold.held_until)]
