"""Rules on corrections of the record: only a record that exists is corrected, and an
automation error is found only in a report an automated detector filed (GDPR Art 16
rectification; DSA Art 17 and 20: a decision reversed must be put right, with reasons).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import InvalidCommand
from ..case.events import RecordCorrected
from ..case.state import CaseState
from ..case.values import CorrectedRecord
from .model import Breach, ProcessRule, Transition, dsa, gdpr, invariant


def on_record(state: CaseState, corrects: CorrectedRecord) -> bool:
    """Whether the case holds the record a correction names."""
    held = {CorrectedRecord.REPORT: state.report, CorrectedRecord.DISMISSAL: state.dismissal,
            CorrectedRecord.DECISION: state.decision,
            CorrectedRecord.APPEAL_DECISION: state.appeal_decision,
            CorrectedRecord.SANCTION: state.sanction,
            CorrectedRecord.INTERIM_SUSPENSION: next(
                (m for m in state.measures.measures if m.interim), None),
            CorrectedRecord.REPORTER_WARNING: state.reporting.warning,
            CorrectedRecord.HOLD: state.reporting.hold}
    return held[corrects] is not None


def _exists(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, RecordCorrected)
    if not on_record(t.before, t.event.corrects):
        yield Breach("corrects", f"the case has no {t.event.corrects.value} to correct")


NOTHING_TO_CORRECT = ProcessRule(
    "nothing-to-correct", "Only a record the case holds is corrected; the original stays",
    gdpr("16") + invariant(9), InvalidCommand, guards=("CorrectRecord",),
    events=(RecordCorrected,), predicate=_exists,
    passed="every correction named a record the case held")


def _automated(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, RecordCorrected)
    report = t.before.report
    if not t.event.automation_error:
        return
    if report is None or not report.automated:
        yield Breach("automation_error", "only a report filed by an automated detector can "
                                         "be found an automation error")
    elif t.event.detector_id != report.complainant.person_id:
        yield Breach("detector_id", "an automation error names the detector that filed "
                                    "the report")


AUTOMATION_ERROR_NAMES_DETECTOR = ProcessRule(
    "automation-error-names-detector", "An automation error is found in an automated "
    "detector's report and names that detector", dsa("17(3)(c)", "20") + gdpr("22"),
    InvalidCommand, guards=("CorrectRecord",), events=(RecordCorrected,),
    predicate=_automated, concerns=lambda e: isinstance(e, RecordCorrected)
    and e.automation_error,
    passed="every automation error named the detector whose report it was")

CONTENT = (NOTHING_TO_CORRECT, AUTOMATION_ERROR_NAMES_DETECTOR)
