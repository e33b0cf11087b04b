"""Helpers of the case workflow (workflows/case.py), run inside it: the envelope of each
event it records, the dispatch request for an event's notices, and which deadlines it
keeps timers for (patch-gated, so older histories replay unchanged)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from ..activities.contracts import DispatchInput, OutgoingNotification
from ..domain import case as dc
from ..domain.envelope import NewEvent, envelope_for
from .case_contracts import (
    DATA_COLLECTION_NOTICE_PATCH,
    REPEAT_REPORTER_PATCH,
    SCHEDULE_HEARING_PATCH,
    STAGE_DEADLINES_PATCH,
    CommandRequest,
)


def case_envelope(
    case_id: str, event_id: UUID, event: dc.CaseEvent, now: datetime, request: CommandRequest
) -> NewEvent:
    info = workflow.info()
    return envelope_for(
        event,
        event_id=event_id,
        recorded_at=now,
        principal=request.principal,
        correlation_id=request.correlation_id or case_id,
        causation_id=request.causation_id,
        workflow_id=info.workflow_id,
        run_id=info.run_id,
    )


def dispatch_input(case_id: str, event_id: UUID, now: datetime,
                   notes: list[dc.Notification]) -> DispatchInput:
    info = workflow.info()
    return DispatchInput(
        case_id=case_id, caused_by=event_id, requested_at=now,
        workflow_id=info.workflow_id, run_id=info.run_id,
        notifications=[
            OutgoingNotification(
                notification_id=n.notification_id, recipient_role=n.recipient_role,
                recipient_subject_id=n.recipient.subject_id, recipient_name=n.recipient.value,
                address=n.address.value if n.address else None,
                subject=n.subject, body=n.body, details=n.details,
            )
            for n in notes
        ],
    )


STAGE_DEADLINES = frozenset({dc.DeadlineKind.TRIAGE, dc.DeadlineKind.INVESTIGATION,
                             dc.DeadlineKind.DECIDE_AFTER_HEARING, dc.DeadlineKind.DECIDE_APPEAL})


def timer_in_use(deadline: dc.Deadline) -> bool:
    # Asked only when such a deadline exists, so older histories replay unchanged.
    if deadline.kind is dc.DeadlineKind.DATA_COLLECTION_NOTICE:
        return workflow.patched(DATA_COLLECTION_NOTICE_PATCH)
    if deadline.kind is dc.DeadlineKind.SCHEDULE_HEARING:
        return workflow.patched(SCHEDULE_HEARING_PATCH)
    if deadline.kind in STAGE_DEADLINES:
        return workflow.patched(STAGE_DEADLINES_PATCH)
    if deadline.kind is dc.DeadlineKind.HOLD_END:
        return workflow.patched(REPEAT_REPORTER_PATCH)
    return True


def deadline_key(deadline: dc.Deadline) -> str:
    return f"{deadline.kind}@{deadline.due_at.isoformat()}"


def is_conflict(err: ActivityError) -> bool:
    cause = err.cause
    return isinstance(cause, ApplicationError) and cause.type == "ConcurrencyConflict"


def append_rejection(err: ActivityError) -> ApplicationError:
    """The clear, non-retryable rejection of a decision whose events were not recorded."""
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else None
    if kind == "ConcurrencyConflict":
        return ApplicationError(
            "the case's record changed outside this workflow; the case was reloaded "
            "from the event store: review it and send the command again",
            {"type": kind, "rule": "single-writer", "field": None, "message": str(cause)},
            type=kind, non_retryable=True,
        )
    return ApplicationError(
        f"the decision was not recorded: {cause or err}",
        {"type": kind or "StoreUnavailable", "rule": "recorded-or-rejected",
         "field": None, "message": str(cause or err)},
        type=kind or "StoreUnavailable", non_retryable=True,
    )
