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
    Post,
)


class EventStoreActivities:
    def __init__(self, store: EventStore, post: Post | None = None) -> None:
        """``post``: posts a batch's notices once the append has committed it (inline,
        a decision's one local activity); None: the case workflow dispatches them."""
        self._store = store
        self._post = post

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
            result, adopted = await append_or_adopt(
                self._store, request.stream_id, request.expected_version, request.events)
            if adopted:
                return AppendOutcome(**result.model_dump(),
                                     adopted=[e.payload for e in adopted])
        except (ConcurrencyConflict, EventIdConflict, ErasedSubject) as err:
            raise ApplicationError(str(err), type=err.error_type, non_retryable=True) from err
        # Committed: the notices of THIS batch (an adopted one's were composed from other
        # timestamps; the workflow dispatches those). Posting inline saves each notice's
        # dispatch activity and the workflow task its completion made, which ran beside
        # the case's next decision and often held its Update back (issue 14). Measured
        # with bench/decisions.py's stack, idle decisions, 2 cores at load 6-10: CPU per
        # decision (worker + dev server, filing amortised) 61 -> 47 ms (server 29 -> 23,
        # worker's event loop 18 -> 13), the no-op Update's 17 both; per case 14 -> 11
        # workflow tasks, 7 -> 2 activities. The post itself now sits in the decision's
        # path: a read of the rows already sent, the letter, then ONE commit recording it
        # and writing its row sent (was two: the claim committed before the letter; see
        # NotificationActivities.dispatch_notifications for the measured effect).
        posted = [n.caused_by for n in request.notices if self._post and await self._post(n)]
        return AppendOutcome(**result.model_dump(), posted=posted) if posted else result
