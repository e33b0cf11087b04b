"""What a case knows of repeat-reporter handling (DSA Art 23), folded from its events.

Rule-free like the rest of the fold (domain/case/state.py): whether a warning or a hold
is due is a rule (domain/rules/reporting.py).
"""

from __future__ import annotations

from datetime import datetime

from ..base import Model
from .event_base import CaseEventBase
from .record_events import RecordCorrected
from .reporter_events import (
    HoldContestDecided,
    HoldContested,
    HoldReleased,
    ReporterWarned,
    ReportHeld,
)
from .values import CorrectedRecord


class Reporting(Model):
    """The case's repeat-reporter facts: a warning given on it, and its report's hold."""

    warning: ReporterWarned | None = None
    hold: ReportHeld | None = None
    contest: HoldContested | None = None
    contest_decision: HoldContestDecided | None = None
    released: HoldReleased | None = None
    hold_corrected: RecordCorrected | None = None  # the hold was wrong: it no longer holds

    @property
    def held(self) -> bool:
        return self.hold is not None and self.released is None and self.hold_corrected is None

    @property
    def held_until(self) -> datetime | None:
        return self.hold.held_until if self.hold is not None and self.held else None


def record_reporting(facts: Reporting, event: CaseEventBase) -> Reporting:
    match event:
        case ReporterWarned():
            return facts.model_copy(update={"warning": event})
        case ReportHeld():
            return facts.model_copy(update={"hold": event})
        case HoldContested():
            return facts.model_copy(update={"contest": event})
        case HoldContestDecided():
            return facts.model_copy(update={"contest_decision": event})
        case HoldReleased():
            return facts.model_copy(update={"released": event})
        case RecordCorrected() if event.corrects is CorrectedRecord.HOLD and facts.hold:
            return facts.model_copy(update={"hold_corrected": event})
    return facts
