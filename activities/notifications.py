"""Notification dispatch: outbox row, delivery (SMTP or a file sink), dispatch event.

Every step is idempotent by notification id, so a retried activity neither sends twice
after a recorded success nor records the dispatch twice.
"""

from __future__ import annotations

import uuid

from temporalio import activity

from ..domain.base import SYSTEM_ACTOR
from ..domain.envelope import NewEvent
from ..domain.records import NotificationDispatched
from ..domain.streams import notification_stream
from ..services.notifications import Sink, compose
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import DISPATCH_NOTIFICATIONS, DispatchInput, DispatchResult, OutgoingNotification

_NOTIFICATION_NS = uuid.UUID("6f1d1c9e-5a51-4a55-9a3e-2c54a1e0d6b1")


class NotificationActivities:
    def __init__(self, pool: Database, store: EventStore, sink: Sink, sender: str) -> None:
        self._pool = pool
        self._store = store
        self._sink = sink
        self._sender = sender

    @activity.defn(name=DISPATCH_NOTIFICATIONS)
    async def dispatch_notifications(self, request: DispatchInput) -> DispatchResult:
        result = DispatchResult(dispatched=[], already_sent=[])
        for note in request.notifications:
            if await self._claim(request, note):
                await self._sink.send(compose(note, self._sender))
                await self._record(request, note)
                await self._pool.execute(
                    "UPDATE outbox SET sent_at = now() WHERE notification_id = $1",
                    note.notification_id,
                )
                result.dispatched.append(note.notification_id)
            else:
                await self._record(request, note)  # sent before a crash: make sure it's recorded
                result.already_sent.append(note.notification_id)
        return result

    async def _claim(self, request: DispatchInput, note: OutgoingNotification) -> bool:
        """True when the notification still has to be sent."""
        sent_at = await self._pool.fetchval(
            """INSERT INTO outbox (notification_id, case_id, caused_by, recipient_role, channel)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (notification_id) DO UPDATE SET attempts = outbox.attempts + 1
               RETURNING sent_at""",
            note.notification_id, request.case_id, request.caused_by, note.recipient_role,
            self._sink.channel,
        )
        return sent_at is None

    async def _record(self, request: DispatchInput, note: OutgoingNotification) -> None:
        subject = note.recipient_subject_id
        payload = {
            "notification_id": note.notification_id,
            "recipient_role": note.recipient_role,
            "recipient_subject_id": subject,
            "address": {"pii": True, "subject_id": subject, "value": note.address}
            if note.address else None,
            "subject": note.subject,
            "channel": self._sink.channel,
            "caused_by": str(request.caused_by),
        }
        # The stored shape must be its model's: subject access finds the recipient's id
        # by the model's types.
        NotificationDispatched.model_validate(payload)
        event = NewEvent(
            event_id=uuid.uuid5(_NOTIFICATION_NS, note.notification_id),
            event_type="NotificationDispatched",
            payload=payload,
            actor=SYSTEM_ACTOR,
            authority="policy:notifications",
            recorded_at=request.requested_at,
            effective_at=request.requested_at,
            correlation_id=request.case_id,
            causation_id=str(request.caused_by),
            workflow_id=request.workflow_id,
            run_id=request.run_id,
        )
        await self._store.append_at_head(notification_stream(request.case_id), [event])
