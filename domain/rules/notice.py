"""Rules on notice: the allegations in writing, before any hearing or decision, with time
to prepare (ACAS 9-12, invariant 2).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import DueProcessViolation, InvalidCommand
from ..case.events import (
    DecisionRecorded,
    HearingHeld,
    HearingScheduled,
    NoticeIssued,
    ResponseSubmitted,
)
from ..policy_terms import duration_text
from .model import Breach, ProcessRule, Transition, acas, case_law, invariant, report


def _once(t: Transition) -> Iterator[Breach]:
    if t.before.notice is not None:
        yield Breach(None, "notice has already been issued")


NOTICE_ALREADY_ISSUED = ProcessRule(
    "notice-already-issued", "Notice is issued once", acas("9"), InvalidCommand,
    guards=("IssueNotice",), events=(NoticeIssued,), predicate=_once,
    passed="notice was issued once")


def _known_allegations(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, NoticeIssued)
    if not t.event.allegations:
        yield Breach("allegation_ids", "a notice must list the allegations")
    report_ = t.before.report
    known = {a.allegation_id for a in report_.allegations} if report_ else set()
    for index, noticed in enumerate(t.event.allegations):
        if noticed.allegation_id not in known:
            yield Breach(f"allegation_ids.{index}",
                         f"no allegation {noticed.allegation_id!r} in this case")


UNKNOWN_ALLEGATION = ProcessRule(
    "unknown-allegation", "A notice lists allegations made in the report", acas("9"),
    InvalidCommand, guards=("IssueNotice",), events=(NoticeIssued,),
    predicate=_known_allegations, passed="the notice lists allegations from the report")


def _withheld_reason(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, NoticeIssued)
    reason = t.event.complainant_withheld_reason
    if reason is not None and not reason.strip():
        yield Breach("complainant_withheld_reason", "must not be blank")
    elif t.event.complainant_identified != (reason is None):
        yield Breach("complainant_withheld_reason",
                     "the complainant is named unless a reason for withholding is given")


COMPLAINANT_WITHHELD_REASON = ProcessRule(
    "complainant-withheld-reason", "The notice names the complainant unless there is a "
    "recorded reason not to", acas("9") + report("Chakrabarti"), InvalidCommand,
    guards=("IssueNotice",), events=(NoticeIssued,), predicate=_withheld_reason,
    passed="the complainant was named, or a reason for withholding recorded")


def _notice_to_answer(t: Transition) -> Iterator[Breach]:
    if t.before.notice is None:
        yield Breach(None, "there is no notice to respond to")


NOTICE_BEFORE_RESPONSE = ProcessRule(
    "notice-before-response", "A response answers a notice", acas("9", "10"), InvalidCommand,
    guards=("SubmitResponse",), events=(ResponseSubmitted,), predicate=_notice_to_answer,
    passed="every response answered a notice")


def _noticed(t: Transition) -> Iterator[Breach]:
    notice = t.before.notice
    if notice is None:
        yield Breach(None, "the respondent has not been given notice in writing")
        return
    if isinstance(t.event, DecisionRecorded):
        noticed = {a.allegation_id for a in notice.allegations}
        for index, finding in enumerate(t.event.findings):
            if finding.allegation_id not in noticed:
                yield Breach(f"findings.{index}.allegation_id",
                             f"{finding.allegation_id!r} was not put to the respondent")


NOTICE_BEFORE_HEARING = ProcessRule(
    "notice-before-hearing", "Notice in writing before any hearing or decision, covering "
    "every allegation decided", acas("9") + case_law("audi alteram partem") + invariant(2),
    DueProcessViolation, guards=("ScheduleHearing", "RecordHearingHeld", "RecordDecision"),
    events=(HearingScheduled, HearingHeld, DecisionRecorded), predicate=_noticed,
    passed="notice was given before every hearing and decision, covering every allegation "
           "decided")


def _minimum_notice(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, HearingScheduled)
    version = t.before.procedure
    if version is None:
        return
    minimum = version.deadlines.minimum_hearing_notice
    if t.event.at - t.event.effective_at < minimum:
        yield Breach("at", f"the respondent must have at least {duration_text(minimum)} "
                           f"notice of the hearing (scheduled "
                           f"{t.event.effective_at.isoformat()} for {t.event.at.isoformat()})")


MINIMUM_HEARING_NOTICE = ProcessRule(
    "minimum-hearing-notice", "A hearing is set at least the policy's minimum notice ahead",
    acas("11", "12"), DueProcessViolation, guards=("ScheduleHearing",),
    events=(HearingScheduled,), predicate=_minimum_notice,
    passed="every hearing was set at least the minimum notice ahead")

STAGE = (NOTICE_ALREADY_ISSUED, NOTICE_BEFORE_RESPONSE, NOTICE_BEFORE_HEARING)
CONTENT = (UNKNOWN_ALLEGATION, COMPLAINANT_WITHHELD_REASON, MINIMUM_HEARING_NOTICE)
