"""Repeat-reporter handling (DSA Art 23) in the case workflow: after a report, or after a
dismissal as manifestly unfounded, read the reporter's record (an activity, so the
history keeps what was read) and hand it to decide() as a system command.

Asked only under a rulebook with ``repeat_reporting``, behind REPEAT_REPORTER_PATCH, so
histories recorded before it replay unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from ..activities.contracts import LOAD_REPORTER_RECORD, LoadedReporterRecord, ReporterRecordInput
from ..domain import case as dc
from ..domain.base import SYSTEM_ACTOR
from .case_contracts import REPEAT_REPORTER_PATCH, STORE_GIVE_UP, STORE_RETRY


def wanted(state: dc.CaseState, events: Sequence[dc.CaseEvent]) -> type[dc.HoldReport] | type[
        dc.WarnReporter] | None:
    """Which repeat-reporter step these events call for, if any."""
    version, complainant = state.procedure, state.complainant
    if version is None or version.repeat_reporting is None or complainant is None \
            or complainant.kind is dc.ComplainantKind.AUTOMATED_DETECTOR:
        return None  # a detector's flags are judged by people, never held
    if any(isinstance(e, dc.ReportFiled) for e in events):
        return dc.HoldReport
    if any(isinstance(e, dc.CaseDismissed)
           and e.dismissal_reason is dc.DismissalReason.MANIFESTLY_UNFOUNDED for e in events):
        return dc.WarnReporter
    return None


async def repeat_reporting_step(state: dc.CaseState,
                                events: Sequence[dc.CaseEvent]) -> dc.CaseCommand | None:
    """The system command to decide next, with the reporter's record read for it."""
    kind = wanted(state, events)
    if kind is None or state.complainant is None or state.procedure is None \
            or not workflow.patched(REPEAT_REPORTER_PATCH):
        return None
    try:
        loaded: LoadedReporterRecord = await workflow.execute_activity(
            LOAD_REPORTER_RECORD, ReporterRecordInput(reporter_id=state.complainant.person_id),
            result_type=LoadedReporterRecord, start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=STORE_GIVE_UP, retry_policy=STORE_RETRY)
    except ActivityError as err:
        # The step already decided stands; without the record nothing can be judged, and
        # a report is never dropped or held on a guess.
        workflow.logger.warning("reporter record not read: %s", err)
        return None
    return kind(actor=SYSTEM_ACTOR, record=loaded.record,
                authority=state.procedure.authority("repeat_reporting"))
