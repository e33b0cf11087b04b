"""Helpers of the case workflow (workflows/case.py), run inside it: the envelope of each
event it records, the dispatch request for an event's notices, and which deadlines it
keeps timers for (patch-gated, so older histories replay unchanged)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from temporalio import workflow

from ..activities.contracts import DispatchInput, OutgoingNotification
from ..domain import case as dc
from ..domain.envelope import NewEvent, envelope_for
from .case_contracts import DATA_COLLECTION_NOTICE_PATCH, SCHEDULE_HEARING_PATCH, CommandRequest


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


def timer_in_use(deadline: dc.Deadline) -> bool:
    # Asked only when such a deadline exists, so older histories replay unchanged.
    if deadline.kind is dc.DeadlineKind.DATA_COLLECTION_NOTICE:
        return workflow.patched(DATA_COLLECTION_NOTICE_PATCH)
    if deadline.kind is dc.DeadlineKind.SCHEDULE_HEARING:
        return workflow.patched(SCHEDULE_HEARING_PATCH)
    return True


def deadline_key(deadline: dc.Deadline) -> str:
    return f"{deadline.kind}@{deadline.due_at.isoformat()}"
