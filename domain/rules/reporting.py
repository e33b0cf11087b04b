"""DSA Art 23: who frequently reports what is manifestly unfounded is warned, then the
processing of their reports is suspended for a reasonable period; the suspension is
reasoned and contestable, and decided by someone who took no part in it.

Each event keeps the facts it was decided on (the dismissals counted, the warning
applied), so these predicates judge a recorded warning or hold exactly as decide()
judged the candidate, from the case and the rulebook it pinned.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import InvalidCommand, NotPermitted, PolicyViolation
from ..case.events import (
    CaseDismissed,
    CaseTriaged,
    HoldContestDecided,
    HoldContested,
    HoldReleased,
    ReporterWarned,
    ReportHeld,
)
from ..case.values import DismissalReason
from .intake import INVESTIGATION
from .model import Breach, ProcessRule, Transition, acas, dsa, duplicates, invariant


def _warning(t: Transition) -> Iterator[Breach]:
    event, before = t.event, t.before
    assert isinstance(event, ReporterWarned)
    config = t.procedure.repeat_reporting if t.procedure else None
    dismissal = before.dismissal
    if config is None:
        yield Breach(None, "the procedure pinned has no repeat-reporter rules", PolicyViolation)
        return
    if dismissal is None or dismissal.dismissal_reason is not DismissalReason.MANIFESTLY_UNFOUNDED:
        yield Breach(None, "a warning follows a dismissal as manifestly unfounded")
        return
    if before.reporting.warning is not None:
        yield Breach(None, "the reporter was already warned on this case")
    if before.complainant is None or event.reporter_id != before.complainant.person_id:
        yield Breach("reporter_id", "the warning is for the reporter of this case")
    yield from duplicates([d.case_id for d in event.counted], field="counted")
    since = event.effective_at - config.window
    for index, counted in enumerate(event.counted):
        if not since <= counted.dismissed_at <= event.effective_at:
            yield Breach(f"counted.{index}.dismissed_at",
                         f"{counted.case_id} was not dismissed within the window")
    if before.case_id not in {d.case_id for d in event.counted}:
        yield Breach("counted", "the dismissal of this case is among those counted")
    if len({d.case_id for d in event.counted}) < config.threshold:
        yield Breach("counted", f"{len(event.counted)} dismissals counted; the rules warn at "
                                f"{config.threshold}")
    if (event.threshold, event.window, event.reasons) != (
            config.threshold, config.window, config.warning):
        yield Breach("threshold", "the warning states the rulebook's threshold, window and "
                                  "reasons", PolicyViolation)
    if event.hold_until != event.effective_at + config.hold_period:
        yield Breach("hold_until", "the hold runs for the rulebook's hold period from the "
                                   "warning", PolicyViolation)


REPEAT_REPORTER_WARNING = ProcessRule(
    "repeat-reporter-warning", "A reporter is warned only when their manifestly unfounded "
    "dismissals in the window reach the threshold, with the rulebook's reasons",
    dsa("23(1)", "23(3)") + invariant(11), InvalidCommand, guards=("WarnReporter",),
    events=(ReporterWarned,), predicate=_warning,
    passed="every warning counted enough manifestly unfounded dismissals of its reporter in "
           "the window and stated the rulebook's reasons and hold")


def _hold(t: Transition) -> Iterator[Breach]:
    event, before = t.event, t.before
    assert isinstance(event, ReportHeld)
    config = t.procedure.repeat_reporting if t.procedure else None
    if config is None:
        yield Breach(None, "the procedure pinned has no repeat-reporter rules", PolicyViolation)
        return
    if before.reporting.hold is not None:
        yield Breach(None, "the report was already held")
    if before.human_triaged:
        yield Breach(None, "a report is held before it is triaged, not after")
    if before.complainant is None or event.reporter_id != before.complainant.person_id:
        yield Breach("reporter_id", "the hold is for the reporter of this case")
    warning, filed = event.warning, before.report.effective_at if before.report else None
    if filed is None or not warning.holds(filed):
        yield Breach("warning.hold_until", "the report was not filed while a warning's hold ran")
    if event.held_until != warning.hold_until or event.held_until <= event.effective_at:
        yield Breach("held_until", "a report is held until its warning's hold ends")
    if event.reasons != config.warning:
        yield Breach("reasons", "a hold gives the rulebook's reasons", PolicyViolation)


REPEAT_REPORTER_HOLD = ProcessRule(
    "repeat-reporter-hold", "A report is held only after a prior warning, while its hold "
    "runs, before triage, until the hold ends, with reasons", dsa("23(1)", "23(3)"),
    InvalidCommand, guards=("HoldReport",), events=(ReportHeld,), predicate=_hold,
    passed="every hold followed a warning of the reporter, covered the report's filing and "
           "ran to the warning's end")


def _processing(t: Transition) -> Iterator[Breach]:
    until = t.before.reporting.held_until
    if until is not None:
        yield Breach(None, f"the report is held until {until.isoformat()} (its reporter was "
                           "warned about manifestly unfounded reports)")


REPORT_HELD = ProcessRule(
    "report-held", "A held report is not triaged or investigated until the hold ends",
    dsa("23(1)"), InvalidCommand,
    guards=("TriageCase", "AssignInvestigator", "AddEvidence", "ImposeInterimSuspension",
            "RenewInterimSuspension", "IssueNotice", "DiscloseEvidence", "AppointPanel",
            "ScheduleHearing", "RecordDecision"),
    events=(CaseTriaged, CaseDismissed, *INVESTIGATION), predicate=_processing,
    passed="no held report was triaged or investigated before its hold ended")


def _contest(t: Transition) -> Iterator[Breach]:
    facts = t.before.reporting
    if isinstance(t.event, HoldContested):
        if not facts.held:
            yield Breach(None, "there is no hold running to contest")
        elif facts.contest is not None:
            yield Breach(None, "the hold was already contested")
    elif facts.contest is None:
        yield Breach(None, "the hold was not contested")
    elif facts.contest_decision is not None:
        yield Breach(None, "the contest was already decided")


HOLD_CONTEST_IN_ORDER = ProcessRule(
    "hold-contest-in-order", "A running hold may be contested once, and the contest is "
    "decided once", dsa("20(1)", "23(3)"), InvalidCommand,
    guards=("ContestHold", "DecideHoldContest"), events=(HoldContested, HoldContestDecided),
    predicate=_contest, passed="every contest was of a running hold and decided once")


def _independent(t: Transition) -> Iterator[Breach]:
    event, hold = t.event, t.before.reporting.hold
    assert isinstance(event, HoldContestDecided)
    complainant = t.before.complainant
    if hold is not None and event.decided_by in hold.warning.involved:
        yield Breach("decided_by", f"{event.decided_by!r} dismissed a report counted towards "
                                   "the warning: someone else decides the contest", NotPermitted)
    if complainant is not None and event.decided_by == complainant.person_id:
        yield Breach("decided_by", "the reporter cannot decide their own contest", NotPermitted)
    if event.decided_by != event.actor.id:
        yield Breach("decided_by", "the contest is decided in the decider's own name")


HOLD_CONTEST_INDEPENDENT = ProcessRule(
    "hold-contest-independent", "A hold contest is decided by someone who took no part in "
    "the dismissals behind it", dsa("20(6)", "23(3)") + acas("27"), NotPermitted,
    guards=("DecideHoldContest",), events=(HoldContestDecided,), predicate=_independent,
    passed="every hold contest was decided by someone uninvolved in the dismissals counted")


def _release(t: Transition) -> Iterator[Breach]:
    event, facts = t.event, t.before.reporting
    assert isinstance(event, HoldReleased)
    if not facts.held or facts.hold is None:
        yield Breach(None, "there is no hold running to end")
        return
    if event.held_until != facts.hold.held_until:
        yield Breach("held_until", "the release names the hold's end")
    decision = facts.contest_decision
    if event.lifted and (decision is None or not decision.lifted):
        yield Breach("lifted", "only an upheld contest lifts a hold early")
    if not event.lifted and event.effective_at < facts.hold.held_until:
        yield Breach("effective_at", f"the hold runs until {facts.hold.held_until.isoformat()}")


HOLD_ENDS_WHEN_DUE = ProcessRule(
    "hold-ends-when-due", "A hold ends when its period is over, or early when a contest "
    "lifts it", dsa("23(1)"), InvalidCommand, guards=("ReleaseHold", "DecideHoldContest"),
    events=(HoldReleased,), predicate=_release,
    passed="every hold ended at its end, or when a contest lifted it")

STAGE = (REPORT_HELD, HOLD_CONTEST_IN_ORDER, HOLD_ENDS_WHEN_DUE)
CONTENT = (REPEAT_REPORTER_WARNING, REPEAT_REPORTER_HOLD, HOLD_CONTEST_INDEPENDENT)
