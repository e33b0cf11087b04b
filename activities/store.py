"""The event-store activity: the workflows' one way to record events."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from ..domain.envelope import AppendResult
from ..store.eventstore import ConcurrencyConflict, ErasedSubject, EventIdConflict, EventStore
from ..store.head_append import append_or_adopt
from .contracts import (
    APPEND_EVENTS,
    LOAD_STREAM,
    AppendInput,
    AppendOutcome,
    LoadedStream,
    LoadInput,
    NoticeQueue,
)


class EventStoreActivities:
    def __init__(self, store: EventStore, relay: NoticeQueue | None = None) -> None:
        """``relay``: takes a batch's notices with its append (queued in the outbox by the
        append's own statement, then posted beside the decision by the worker or by a
        relay process: services/notice_relay.py); None: the case workflow dispatches them
        with an activity."""
        self._store = store
        self._relay = relay

    @activity.defn(name=LOAD_STREAM)
    async def load_stream(self, request: LoadInput) -> LoadedStream:
        """What the store holds for a stream: a workflow re-folds it after a conflict."""
        events = await self._store.read_stream(request.stream_id)
        return LoadedStream(version=events[-1].stream_version if events else 0,
                            payloads=[e.payload for e in events])

    @activity.defn(name=APPEND_EVENTS)
    async def append_events(self, request: AppendInput) -> AppendResult:
        """Idempotent by event id, so Temporal's retries never duplicate an event; with
        ``adopt_stored``, also when a retry was rebuilt with other timestamps (AppendOutcome).
        A plain AppendResult otherwise: what callers before ``adopt_stored`` decode."""
        try:
            if not request.adopt_stored:
                return await self._store.append(
                    request.stream_id, request.expected_version, request.events)
            # This batch's notices, queued with it: committed together or not at all. This
            # attempt queues none for an adopted batch: the attempt that stored it queued
            # its own, and the workflow dispatches the adopted events' notices (composed
            # from their timestamps), as before.
            notices = self._relay.notices(request.notices) if self._relay else None
            result, adopted = await append_or_adopt(
                self._store, request.stream_id, request.expected_version, request.events,
                notices)
            if adopted:
                return AppendOutcome(**result.model_dump(),
                                     adopted=[e.payload for e in adopted])
        except (ConcurrencyConflict, EventIdConflict, ErasedSubject) as err:
            raise ApplicationError(str(err), type=err.error_type, non_retryable=True) from err
        # Committed with its notices, which are posted beside (by the worker, or by a relay
        # process). Taken here, each notice needs no dispatch activity nor the workflow
        # task its completion made, which ran beside the case's next decision and often
        # held its Update back; queued, not posted, so the decision does not wait on the
        # letter either (issue 14; measured in services/notice_relay.py and README).
        posted = self._relay.taken(request.notices) if notices is not None and self._relay else []
        return AppendOutcome(**result.model_dump(), posted=posted) if posted else result
