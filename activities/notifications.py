"""Notification dispatch: outbox row, delivery (SMTP or a file sink), dispatch event.

Every step is idempotent by notification id, so a retried activity neither sends twice
after a recorded success nor records the dispatch twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import asyncpg
from temporalio import activity

from ..domain.base import SYSTEM_ACTOR
from ..domain.envelope import NewEvent
from ..domain.records import NotificationDispatched
from ..domain.streams import notification_stream
from ..services.mailboxes import addressed
from ..services.notifications import Sink, compose
from ..store.db import Database
from ..store.eventstore import EventStore
from .contracts import DISPATCH_NOTIFICATIONS, DispatchInput, DispatchResult, OutgoingNotification

_NOTIFICATION_NS = uuid.UUID("6f1d1c9e-5a51-4a55-9a3e-2c54a1e0d6b1")
_MARK_SENT = ("UPDATE outbox SET sent_at = now() "
              "WHERE notification_id = ANY($1::text[]) AND sent_at IS NULL")


class NotificationActivities:
    def __init__(self, pool: Database, store: EventStore, sink: Sink, sender: str,
                 mailboxes: Mapping[str, str] | None = None) -> None:
        self._pool = pool
        self._store = store
        self._sink = sink
        self._sender = sender
        self._mailboxes = mailboxes or {}  # staff role -> mailbox (escalations)

    @activity.defn(name=DISPATCH_NOTIFICATIONS)
    async def dispatch_notifications(self, request: DispatchInput) -> DispatchResult:
        """Two commits for the whole batch, whatever its size (each one waits on the
        disk, and they ran beside the case's next decision: issue 14): the outbox rows
        claimed before anything is sent, then the dispatch events recorded and the rows
        marked sent in ONE transaction. A crash between sending and that transaction
        sends again on the retry (at least once, as before); the transaction makes
        "recorded" and "marked sent" one fact, so a row marked sent always has its event."""
        return await self._dispatch(request)

    async def post(self, request: DispatchInput) -> bool:
        """The same steps inside the append activity that recorded the event (activities/
        store.py): True when every notice is sent and recorded; False on any failure,
        after settling those sent, and the case workflow dispatches the event's notices
        with the activity above, which retries (a notice sent but not settled is sent
        again: at least once, as a retry of the activity does)."""
        try:
            await self._dispatch(request)
        except Exception as err:  # handed to the dispatch activity, never lost
            activity.logger.warning("notices of %s left to the dispatch activity: %s",
                                    request.caused_by, err)
            return False
        return True

    async def _dispatch(self, request: DispatchInput) -> DispatchResult:
        result = DispatchResult(dispatched=[], already_sent=[])
        unsent = await self._claim(request)
        try:
            for note in request.notifications:
                if note.notification_id in unsent:
                    # A staff notice goes to its role's mailbox; only the letter says so
                    # (the dispatch event records the role, no address).
                    await self._sink.send(compose(addressed(note, self._mailboxes),
                                                  self._sender))
                    result.dispatched.append(note.notification_id)
                else:  # sent before a crash: make sure it's recorded
                    result.already_sent.append(note.notification_id)
        except Exception:
            # One letter failed: settle those sent, so the retry does not send them again.
            sent = set(result.dispatched)
            await self._settle(request, [n for n in request.notifications
                                         if n.notification_id in sent])
            raise
        await self._settle(request, request.notifications)
        return result

    async def _settle(self, request: DispatchInput, notes: list[OutgoingNotification]) -> None:
        """Record the notes' dispatch events and mark their rows sent, in one transaction.
        Should another dispatch of the case append to its notification stream at the same
        moment (a unique violation aborts the transaction the store's own retry runs in),
        the same steps again, each in a transaction of its own (the store's retry path)."""
        if not notes:
            return
        ids = [n.notification_id for n in notes]
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                store = self._store.pinned(conn)
                for note in notes:
                    await self._record(store, request, note)
                await conn.execute(_MARK_SENT, ids)
            return
        except asyncpg.PostgresError:
            pass  # rolled back: nothing of it was written
        for note in notes:
            await self._record(self._store, request, note)
        await self._pool.execute(_MARK_SENT, ids)

    async def _claim(self, request: DispatchInput) -> set[str]:
        """The batch's outbox rows, in one statement; returns the ids still to be sent."""
        notes = request.notifications
        rows = await self._pool.fetch(
            """INSERT INTO outbox (notification_id, case_id, caused_by, recipient_role, channel)
               SELECT n.id, $2, $3, n.role, $5
                 FROM unnest($1::text[], $4::text[]) AS n(id, role)
               ON CONFLICT (notification_id) DO UPDATE SET attempts = outbox.attempts + 1
               RETURNING notification_id, sent_at""",
            [n.notification_id for n in notes], request.case_id, request.caused_by,
            [n.recipient_role for n in notes], self._sink.channel,
        )
        return {r["notification_id"] for r in rows if r["sent_at"] is None}

    async def _record(self, store: EventStore, request: DispatchInput,
                      note: OutgoingNotification) -> None:
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
        await store.append_at_head(notification_stream(request.case_id), [event])
