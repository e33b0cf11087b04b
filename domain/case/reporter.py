"""Repeat-reporter handling (DSA Art 23) across cases: the reporter's record built from
their recorded cases, and the letters the reporter is sent. Whether a warning or a hold
is due is a rule (domain/rules/reporting.py); what one case knows is ``reporting.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from ..base import Personal
from ..policy import iso_duration_text
from .corrections import correction_of
from .event_base import CaseEventBase
from .reporter_events import HoldContestDecided, HoldReleased, ReporterWarned, ReportHeld
from .reporter_values import (
    MAX_RECORDED_DISMISSALS,
    MAX_RECORDED_WARNINGS,
    ReporterRecord,
    ReporterWarning,
    UnfoundedDismissal,
)
from .reporting import Reporting
from .state_model import CaseState
from .values import CorrectedRecord, DismissalReason


def warning_of(case_id: str, event: ReporterWarned) -> ReporterWarning:
    return ReporterWarning(case_id=case_id, warned_at=event.effective_at,
                           hold_until=event.hold_until,
                           involved=sorted({d.dismissed_by for d in event.counted}))


def reporter_record(reporter_id: str, cases: Iterable[CaseState]) -> ReporterRecord:
    """The reporter's manifestly unfounded dismissals and warnings across their cases.

    A warning's hold ends early when a contest of any report held under it was upheld,
    or a hold under it was corrected: the suspension was found wrong, so later reports
    are not held under it either. A corrected dismissal or warning does not count at all
    (corrections.py).
    """
    dismissals: list[UnfoundedDismissal] = []
    warnings: list[ReporterWarning] = []
    lifted: dict[tuple[str, datetime], datetime] = {}
    for state in cases:
        if state.complainant is None or state.complainant.person_id != reporter_id:
            continue
        dismissal = state.dismissal
        if dismissal is not None \
                and dismissal.dismissal_reason is DismissalReason.MANIFESTLY_UNFOUNDED \
                and correction_of(state, CorrectedRecord.DISMISSAL) is None:
            dismissals.append(UnfoundedDismissal(
                case_id=state.case_id, dismissed_at=dismissal.effective_at,
                dismissed_by=dismissal.reviewed_by))
        facts = state.reporting
        if facts.warning is not None \
                and correction_of(state, CorrectedRecord.REPORTER_WARNING) is None:
            warnings.append(warning_of(state.case_id, facts.warning))
        if facts.hold is not None and (at := _hold_found_wrong(facts)) is not None:
            key = (facts.hold.warning.case_id, facts.hold.warning.warned_at)
            lifted[key] = min(lifted.get(key, at), at)
    ended = [w.model_copy(update={"hold_until": min(w.hold_until, lifted[key])})
             if (key := (w.case_id, w.warned_at)) in lifted else w for w in warnings]
    return ReporterRecord(
        reporter_id=reporter_id,
        dismissals=sorted(dismissals, key=lambda d: (d.dismissed_at, d.case_id))[
            -MAX_RECORDED_DISMISSALS:],
        warnings=sorted(ended, key=lambda w: (w.warned_at, w.case_id))[-MAX_RECORDED_WARNINGS:])


def _hold_found_wrong(facts: Reporting) -> datetime | None:
    """When the hold was found wrong: lifted on contest, or corrected."""
    if facts.released is not None and facts.released.lifted:
        return facts.released.effective_at
    return facts.hold_corrected.effective_at if facts.hold_corrected is not None else None


ReporterLetter = tuple[Literal["complainant"], str, str, list[Personal]]


def reporter_letters(case_id: str, event: CaseEventBase) -> list[ReporterLetter]:
    """The reasoned warning, the hold, its contest's outcome and its end, to the reporter."""
    match event:
        case ReporterWarned():
            return [("complainant", "A warning about your reports",
                     f"{len(event.counted)} of your reports in the last "
                     f"{iso_duration_text(event.window)} were dismissed as manifestly "
                     f"unfounded (the rules warn at {event.threshold}). {event.reasons} "
                     f"Reports you file before {event.hold_until.isoformat()} will be held.",
                     [])]
        case ReportHeld():
            return [("complainant", f"Case {case_id}: report held",
                     "Your report is recorded but will not be processed until "
                     f"{event.held_until.isoformat()}, because you were warned on "
                     f"{event.warning.warned_at.isoformat()}: {event.reasons} You may "
                     "contest the hold; someone who took no part will decide.", [])]
        case HoldContestDecided():
            outcome = "lifted: your report will now be processed" if event.lifted \
                else "upheld: the hold stands to its end"
            return [("complainant", f"Case {case_id}: hold contest decided",
                     f"Your contest of the hold was decided; the hold is {outcome}. "
                     f"Reasons: {event.reasons}", [])]
        case HoldReleased() if not event.lifted:
            return [("complainant", f"Case {case_id}: hold ended",
                     "The hold on your report has ended; it will now be processed.", [])]
    return []
