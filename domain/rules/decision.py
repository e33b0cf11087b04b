"""Rules on the decision: once, complete, covering every allegation put, never solely
automated when it sanctions (ACAS 17-18, DSA 17(3), GDPR 22, invariant 3).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import DueProcessViolation, InvalidCommand
from ..case.events import (
    DecisionRecorded,
    HearingScheduled,
    InterimSuspensionImposed,
    InterimSuspensionRenewed,
    InvestigatorAssigned,
    NoticeIssued,
    PanelAppointed,
    ResponseSubmitted,
)
from ..case.values import AutomatedDecision, most_severe
from ..policy import SanctionKind
from ..policy_terms import duration_text
from .model import Breach, ProcessRule, Transition, acas, dsa, gdpr, invariant, report


def _once(t: Transition) -> Iterator[Breach]:
    if t.before.decision is not None:
        yield Breach(None, "the decision has been recorded")


DECISION_ALREADY_RECORDED = ProcessRule(
    "decision-already-recorded", "A case is decided once; an appeal changes the outcome",
    acas("26"), InvalidCommand, guards=("RecordDecision",), events=(DecisionRecorded,),
    predicate=_once, passed="the case was decided once")

_UNDECIDED = (InvestigatorAssigned, InterimSuspensionImposed, InterimSuspensionRenewed,
              NoticeIssued, ResponseSubmitted, PanelAppointed, HearingScheduled)


def _undecided(t: Transition) -> Iterator[Breach]:
    if t.before.decision is not None:
        yield Breach(None, "the case has been decided")


CASE_DECIDED = ProcessRule(
    "case-decided", "The investigation and interim measures end with the decision",
    acas("8"), InvalidCommand,
    guards=("AssignInvestigator", "ImposeInterimSuspension", "RenewInterimSuspension",
            "IssueNotice", "SubmitResponse", "AppointPanel", "ScheduleHearing"),
    events=_UNDECIDED, predicate=_undecided,
    passed="no investigation step or interim measure followed the decision")


def _covers(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, DecisionRecorded)
    notice = t.before.notice
    noticed = {a.allegation_id for a in notice.allegations} if notice else set()
    missing = sorted(noticed - {f.allegation_id for f in t.event.findings})
    if missing:
        yield Breach("findings", f"no finding on {missing}")


DECISION_COVERS_EVERY_ALLEGATION = ProcessRule(
    "decision-covers-every-allegation", "The decision makes a finding on every allegation put",
    acas("17") + invariant(3), InvalidCommand, guards=("RecordDecision",),
    events=(DecisionRecorded,), predicate=_covers,
    passed="every allegation put to the respondent has a finding")


def _not_solely_automated(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, DecisionRecorded)
    sanctioned = t.event.sanction is not None or any(f.sanction for f in t.event.findings)
    if t.event.automated_decision is AutomatedDecision.FULLY and sanctioned:
        yield Breach("automated_decision",
                     "a sanction may not be decided solely by automated means")


NO_SOLELY_AUTOMATED_DECISION = ProcessRule(
    "no-solely-automated-decision", "No sanction is decided solely by automated means",
    gdpr("22") + dsa("20(6)") + invariant(8), DueProcessViolation, guards=("RecordDecision",),
    events=(DecisionRecorded,), predicate=_not_solely_automated,
    passed="no sanction was decided solely by automated means")


def _complete(t: Transition) -> Iterator[Breach]:
    """Facts, reasons, governing sanction, statement of reasons, automation, redress."""
    assert isinstance(t.event, DecisionRecorded)
    event, before = t.event, t.before
    if not event.findings:
        yield Breach("findings", "the decision has no findings")
    for index, finding in enumerate(event.findings):
        if finding.findings.value is None and not finding.findings.erased:
            yield Breach(f"findings.{index}.findings", "states no facts found")
    if event.upheld != any(f.upheld for f in event.findings):
        yield Breach("upheld", "the upheld flag contradicts the findings")
    governing = most_severe([f.sanction for f in event.findings if f.sanction is not None])
    if event.sanction != governing:
        yield Breach("sanction", "the governing sanction is not the most severe one found")
    if event.sanction is not None and event.statement_of_reasons is None:
        yield Breach("statement_of_reasons", "restricts the member without a statement of "
                                             "reasons")
    if event.sanction is not None and event.sanction.kind is SanctionKind.SUSPENSION \
            and not event.sanction.term:
        yield Breach("sanction.term", "imposes a suspension without a duration")
    if before.automated_report and not event.automated_detection:
        yield Breach("automated_detection", "does not say the case came from automated "
                                            "detection")
    if not event.how_to_appeal.strip():
        yield Breach("how_to_appeal", "does not say how to appeal")
    version = before.procedure
    if version is not None and \
            event.appeal_deadline - event.effective_at < version.deadlines.appeal_window:
        window = duration_text(version.deadlines.appeal_window)
        yield Breach("appeal_deadline", f"allows less than the policy's {window} to appeal")


DECISION_COMPLETE = ProcessRule(
    "decision-complete", "The decision carries facts, rule, reasons, sanction, automation "
    "flags and redress", acas("17", "18") + dsa("17(3)") + report("Santa Clara") + invariant(3),
    DueProcessViolation, guards=("RecordDecision",), events=(DecisionRecorded,),
    predicate=_complete,
    passed="every decision states facts, reasons, sanction and duration, automation flags and "
           "how to appeal by when")

STAGE = (DECISION_ALREADY_RECORDED, CASE_DECIDED)
CONTENT = (DECISION_COVERS_EVERY_ALLEGATION, NO_SOLELY_AUTOMATED_DECISION, DECISION_COMPLETE)
