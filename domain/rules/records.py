"""Rules on the record itself: a case is open and reported, ids are unique, personal data
is keyed to its subject, and records describe the past, in order.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import CaseClosed as CaseClosedError
from ..base import InvalidCommand, Personal
from ..case.events import (
    AppealLodged,
    AppealPanelAppointed,
    CaseEventBase,
    DecisionRecorded,
    EvidenceAdded,
    EvidenceDisclosed,
    HearingHeld,
    HoldContested,
    InstructionRecorded,
    NoticeIssued,
    PanelAppointed,
    RecordCorrected,
    ReportFiled,
    ResponseSubmitted,
)
from ..case.state import CaseState
from .model import Breach, ProcessRule, Transition, acas, duplicates, gdpr, invariant, report


def case_closed(state: CaseState) -> bool:
    return state.closed


def case_not_reported(state: CaseState, event: CaseEventBase | None) -> bool:
    return state.report is None and not isinstance(event, ReportFiled)


def _open(t: Transition) -> Iterator[Breach]:
    # A closed record is final except that what it got wrong may be put right (GDPR 16),
    # and that a contact about it is still put on it: a referral to the police, or an
    # outside body's request, often comes after closure (EHRC 2020: all of it on record).
    if case_closed(t.before) and not isinstance(t.event, (RecordCorrected,
                                                          InstructionRecorded)):
        yield Breach(None, "the case is closed")


CASE_CLOSED = ProcessRule(
    "case-closed", "Nothing but a correction or a contact is recorded on a closed case",
    report("ACAS records guidance", "EHRC 2020") + gdpr("16"),
    CaseClosedError, guards=("*",), events=(CaseEventBase,), predicate=_open,
    passed="nothing was recorded after closure")


def _reported(t: Transition) -> Iterator[Breach]:
    if case_not_reported(t.before, t.event):
        yield Breach(None, "the case has no report yet")


CASE_NOT_REPORTED = ProcessRule(
    "case-not-reported", "Every case begins with a report", report("ACAS records guidance"),
    InvalidCommand, guards=("*",), events=(CaseEventBase,), predicate=_reported,
    passed="the case begins with its report")


def _subject(value: Personal | None, subject_id: str, field: str) -> Iterator[Breach]:
    if value is not None and value.subject_id != subject_id:
        yield Breach(field, f"personal data must have subject_id {subject_id!r}")


def _subjects(t: Transition) -> Iterator[Breach]:
    """Personal data must be keyed to the person it is about, or erasure misses it."""
    event, respondent = t.event, t.before.respondent
    if isinstance(event, ReportFiled):
        c, r = event.complainant, event.respondent
        yield from _subject(c.name, c.person_id, "complainant.name")
        yield from _subject(c.contact, c.person_id, "complainant.contact")
        yield from _subject(r.name, r.person_id, "respondent.name")
        yield from _subject(r.contact, r.person_id, "respondent.contact")
        for index, a in enumerate(event.allegations):
            yield from _subject(a.particulars, r.person_id, f"allegations.{index}.particulars")
    elif isinstance(event, InstructionRecorded):
        yield from _subject(event.content, event.from_person_id, "content")
    elif isinstance(event, HoldContested):
        complainant = t.before.complainant
        if complainant is not None:
            yield from _subject(event.reasons, complainant.person_id, "reasons")
    elif respondent is None:
        return
    elif isinstance(event, ResponseSubmitted):
        yield from _subject(event.statement, respondent.person_id, "statement")
    elif isinstance(event, AppealLodged):
        yield from _subject(event.grounds, respondent.person_id, "grounds")
    elif isinstance(event, DecisionRecorded):
        for index, finding in enumerate(event.findings):
            yield from _subject(finding.findings, respondent.person_id,
                                f"findings.{index}.findings")


PERSONAL_DATA_SUBJECT = ProcessRule(
    "personal-data-subject", "Personal data is keyed to the person it is about",
    gdpr("15", "17") + invariant(13), InvalidCommand,
    guards=("FileReport", "SubmitResponse", "LodgeAppeal", "RecordDecision",
            "RecordInstruction", "ContestHold"),
    events=(ReportFiled, InstructionRecorded, ResponseSubmitted, AppealLodged, DecisionRecorded,
            HoldContested),
    predicate=_subjects, passed="all personal data is keyed to its subject")


def _unique(t: Transition) -> Iterator[Breach]:
    event = t.event
    if isinstance(event, ReportFiled):
        yield from duplicates((a.allegation_id for a in event.allegations),
                              field="allegations.*.allegation_id")
    if isinstance(event, ReportFiled | EvidenceAdded):
        yield from duplicates((e.evidence_id for e in event.evidence),
                              field="evidence.*.evidence_id")
    if isinstance(event, EvidenceAdded):
        for index, item in enumerate(event.evidence):
            if item.evidence_id in t.before.evidence:
                yield Breach(f"evidence.{index}.evidence_id",
                             f"evidence {item.evidence_id!r} is already on file")
    if isinstance(event, EvidenceDisclosed):
        yield from duplicates(event.evidence_ids, field="evidence_ids")
        yield from duplicates((w.evidence_id for w in event.withheld),
                              field="withheld.*.evidence_id")
    if isinstance(event, NoticeIssued):
        yield from duplicates((a.allegation_id for a in event.allegations),
                              field="allegation_ids")
    if isinstance(event, PanelAppointed | AppealPanelAppointed):
        yield from duplicates((m.member_id for m in event.members), field="members.*.member_id")
    if isinstance(event, HearingHeld):
        yield from duplicates(event.attendees, field="attendees")
    if isinstance(event, DecisionRecorded):
        yield from duplicates((f.allegation_id for f in event.findings),
                              field="findings.*.allegation_id")


UNIQUE_IDS = ProcessRule(
    "unique-ids", "Ids name one thing: allegations, evidence, panel members, findings",
    report("ACAS records guidance"), InvalidCommand,
    guards=("FileReport", "AddEvidence", "DiscloseEvidence", "IssueNotice", "AppointPanel",
            "AppointAppealPanel", "RecordHearingHeld", "RecordDecision"),
    events=(ReportFiled, EvidenceAdded, EvidenceDisclosed, NoticeIssued, PanelAppointed,
            AppealPanelAppointed, HearingHeld, DecisionRecorded),
    predicate=_unique, passed="no id is used twice")


def _capture_time(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, ReportFiled | EvidenceAdded)
    for index, item in enumerate(t.event.evidence):
        if item.captured_at > t.event.effective_at:
            yield Breach(f"evidence.{index}.captured_at",
                         "evidence cannot be captured after it is submitted")


EVIDENCE_CAPTURE_TIME = ProcessRule(
    "evidence-capture-time", "Evidence is captured before it is submitted",
    acas("9") + invariant(10), InvalidCommand, guards=("FileReport", "AddEvidence"),
    events=(ReportFiled, EvidenceAdded), predicate=_capture_time,
    passed="every item was captured before it was submitted")


def _not_future(t: Transition) -> Iterator[Breach]:
    if t.event.effective_at > t.now:
        yield Breach("effective_at", "cannot record something that has not happened yet")


EFFECTIVE_AT_NOT_IN_FUTURE = ProcessRule(
    "effective-at-not-in-future", "Records describe the past",
    report("ACAS records guidance", "Forde"), InvalidCommand, guards=("*",),
    events=(CaseEventBase,), predicate=_not_future,
    passed="no event took effect after it was recorded")


def _in_order(t: Transition) -> Iterator[Breach]:
    last = t.before.as_of
    if last is not None and t.event.effective_at < last:
        yield Breach("effective_at", "records go in order: this predates the last one on record")


EFFECTIVE_AT_ORDER = ProcessRule(
    "effective-at-order", "Records go in order of effect",
    report("ACAS records guidance", "Forde"), InvalidCommand, guards=("*",),
    events=(CaseEventBase,), predicate=_in_order,
    passed="every event took effect no earlier than the one before it")

RULES_FIRST = (CASE_CLOSED, CASE_NOT_REPORTED)
RULES_CONTENT = (PERSONAL_DATA_SUBJECT, UNIQUE_IDS, EVIDENCE_CAPTURE_TIME)
RULES_LAST = (EFFECTIVE_AT_NOT_IN_FUTURE, EFFECTIVE_AT_ORDER)
