"""Activity inputs and outputs: pure models, safe to import inside the workflow sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from pydantic import model_validator

from ..domain.base import Model, Personal
from ..domain.case.notifications import STAFF_RECIPIENT, Notification
from ..domain.case.priors import RespondentRecord
from ..domain.case.reporter_values import ReporterRecord
from ..domain.envelope import AppendResult, NewEvent
from ..domain.policy import PolicyDocument

if TYPE_CHECKING:  # the store is no import of the workflows' sandbox
    from ..store.outbox import Notices

APPEND_EVENTS = "append_events"
DISPATCH_NOTIFICATIONS = "dispatch_notifications"
LOAD_STREAM = "load_stream"
LOAD_RULEBOOK = "load_rulebook"
LOAD_REPORTER_RECORD = "load_reporter_record"
LOAD_RESPONDENT_RECORD = "load_respondent_record"
SHRED_FOR_RETENTION = "shred_for_retention"
NO_PUBLISHED_RULEBOOK = "NoPublishedRulebook"

# Business rejections and store conflicts are final: retrying cannot make them succeed.
NON_RETRYABLE = ["ConcurrencyConflict", "EventIdConflict", "ErasedSubject"]


class AppendInput(Model):
    stream_id: str
    expected_version: int
    events: list[NewEvent]
    # The caller folds the stored events when the stream already holds this batch by
    # identity (same ids and types) but not byte for byte (store/head_append.py
    # append_or_adopt): a local append rebuilt in a new workflow task, with a new now().
    adopt_stored: bool = False
    # The batch's notices, taken by the append once it has committed this very batch
    # (never an adopted one) when its worker relays them (activities/store.py).
    notices: list[DispatchInput] = []


class AppendOutcome(AppendResult):
    """An append's result as the adopting caller reads it: ``adopted`` holds the stored
    batch's payloads (current shape, in order) when it was adopted, else None; ``posted``
    the events (``caused_by``) whose notices the append took over: posted and recorded
    (recorded histories), or queued in the outbox for the worker's notice relay, which
    posts them (services/notice_relay.py); the caller dispatches the others. With
    neither, the activity returns a plain AppendResult, which decodes as this too."""

    adopted: list[dict[str, Any]] | None = None
    posted: list[UUID] = []


class LoadInput(Model):
    stream_id: str


class LoadedStream(Model):
    version: int
    payloads: list[dict[str, Any]]  # current-shape event payloads, in stream order


class ReporterRecordInput(Model):
    reporter_id: str


class LoadedReporterRecord(Model):
    record: ReporterRecord  # DSA Art 23: what decides a warning or a hold


class RespondentRecordInput(Model):
    respondent_id: str


class LoadedRespondentRecord(Model):
    record: RespondentRecord  # ACAS 19-22: the prior sanctions a decision weighs


class RetentionInput(Model):
    """One retention timer: a closed case's, or an ended membership's (``member_id``; the
    same workflow and activity, so retention has one mechanism). Inputs recorded before
    membership timers name a case and read as before."""

    case_id: str | None = None
    member_id: str | None = None
    due_at: datetime  # the record's retention end (domain/retention.py)

    @model_validator(mode="after")
    def _one_record(self) -> RetentionInput:
        if (self.case_id is None) == (self.member_id is None):
            raise ValueError("a retention timer is for exactly one of case_id or member_id")
        return self


class LoadedRulebook(Model):
    policy: PolicyDocument  # the published rulebook a new case is filed under


class OutgoingNotification(Model):
    """One message to one recipient. Personal fields are in clear here (they travel only
    inside the worker); the dispatch event stores them encrypted."""

    notification_id: str
    recipient_role: str
    recipient_subject_id: str
    recipient_name: str | None
    address: str | None
    subject: str
    body: str
    # The letter's factual basis (particulars, findings, names), each with whose it is:
    # the sink appends them to the body and records where each sits, so erasure forgets by
    # subject id. Empty for letters composed before (their details are in ``body``).
    details: list[Personal] = []


class DispatchInput(Model):
    case_id: str
    caused_by: UUID  # the case event that called for these notifications
    notifications: list[OutgoingNotification]
    requested_at: datetime
    workflow_id: str | None = None
    run_id: str | None = None


class DispatchResult(Model):
    dispatched: list[str]
    already_sent: list[str]


def dispatch_input(case_id: str, event_id: UUID, requested_at: datetime, notes: list[Notification],
                   workflow_id: str | None, run_id: str | None) -> DispatchInput:
    """The notices ``notifications_for`` composed for one event, as they are dispatched: by
    the case workflow when it records the event, and by the notice relay when it composes
    them again from the recorded event (services/notice_relay.py)."""
    return DispatchInput(
        case_id=case_id, caused_by=event_id, requested_at=requested_at,
        workflow_id=workflow_id, run_id=run_id,
        notifications=[
            OutgoingNotification(
                notification_id=n.notification_id, recipient_role=n.recipient_role,
                recipient_subject_id=n.recipient.subject_id if n.recipient else
                STAFF_RECIPIENT.format(role=n.recipient_role),
                recipient_name=n.recipient.value if n.recipient else None,
                address=n.address.value if n.address else None,
                subject=n.subject, body=n.body, details=n.details,
            )
            for n in notes
        ],
    )


class NoticeQueue(Protocol):
    """Takes a batch's notices with its append (NoticeRelay): their outbox rows, which the
    append's own statement queues (``notices``), then, once committed, ``taken``: posted
    beside the decision or by a relay process; the events whose notices it took."""

    def notices(self, requests: list[DispatchInput]) -> Notices | None: ...

    def taken(self, requests: list[DispatchInput]) -> list[UUID]: ...

# Where the rulebook activity reads the published rulebook (RulebookService.current).
RulebookSource = Callable[[], Awaitable[PolicyDocument | None]]


AppendInput.model_rebuild()  # its notices are DispatchInputs, defined after it
