"""Appends idempotent by event id beyond the exact stored bytes:

- ``append_at_head``: wherever a stream's head is, for logs with many independent writers
  (access logs, dispatch records) where no decision depends on the prior state;
- ``append_or_adopt``: at an expected version, for a single writer whose retry of a batch
  may carry the same event ids with other timestamps (a case workflow's local append,
  rebuilt in a new workflow task after the task that appended it was lost)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from ..domain.envelope import AppendResult, NewEvent, RecordedEvent
from .errors import ConcurrencyConflict, EventIdConflict
from .outbox import Notices


class Appender(Protocol):
    """What of the event store these appends use (EventStore is one)."""

    async def head(self, stream_id: str, event_ids: Sequence[UUID]) -> tuple[int, set[UUID]]: ...

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent],
        notices: Notices | None = None,
    ) -> AppendResult: ...

    async def read_stream(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None
    ) -> list[RecordedEvent]: ...


async def append_at_head(
    store: Appender, stream_id: str, events: Sequence[NewEvent], attempts: int = 20
) -> AppendResult:
    """Append at the stream's current version, retrying on a conflict.
    Idempotent by event id: the events the stream holds already are not appended again,
    the others are (positions are returned for those). The version and the events held
    come in one query (a dispatch record was three statements an event: issue 14). Should
    another writer record some of the same events between that read and the append (the
    relay's post and a sweep settling the same letters), the store refuses the batch as
    an event-id conflict: read again, and append what is still missing."""
    ids = [e.event_id for e in events]
    for _ in range(attempts):
        version, held = await store.head(stream_id, ids)
        fresh = [e for e in events if e.event_id not in held]
        if not fresh:
            return AppendResult(stream_id=stream_id, version=version, global_positions=[])
        try:
            return await store.append(stream_id, version, fresh)
        except ConcurrencyConflict:
            await asyncio.sleep(0.005)
        except EventIdConflict:
            if not (await store.head(stream_id, ids))[1] - held:
                raise  # none of them recorded meanwhile: the conflict it was
    raise ConcurrencyConflict(stream_id, -1)


async def append_or_adopt(
    store: Appender, stream_id: str, expected_version: int, events: Sequence[NewEvent],
    notices: Notices | None = None,
) -> tuple[AppendResult, list[RecordedEvent]]:
    """``store.append``; on a conflict, the batch the stream holds right after
    ``expected_version`` when it is this one by identity (the same event ids with the same
    types, in order) though not byte for byte: returned with its stored events, which the
    caller must adopt (fold) instead of its own. The store's own retry check (documents.
    stored_batch) needs the same bytes; ids drawn at random (uuid4) are never reused by
    another batch, so equal ids at the same versions can only be the same decision
    recorded by an earlier attempt. Anything else is the conflict it was. ``notices``:
    queued with the batch when it is appended (or found stored as it is), not when adopted."""
    try:
        return await store.append(stream_id, expected_version, events, notices), []
    except (ConcurrencyConflict, EventIdConflict):
        if not events:
            raise
        stored = await store.read_stream(stream_id, from_version=expected_version + 1,
                                         to_version=expected_version + len(events))
        if [(e.event_id, e.event_type) for e in stored] \
                != [(e.event_id, e.event_type) for e in events]:
            raise
    return AppendResult(stream_id=stream_id, version=stored[-1].stream_version,
                        global_positions=[e.position.global_position for e in stored]), stored
