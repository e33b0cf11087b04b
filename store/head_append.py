"""Appending wherever a stream's head is, for logs with many independent writers (access
logs, dispatch records) where no decision depends on the prior state."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from ..domain.envelope import AppendResult, NewEvent
from .errors import ConcurrencyConflict


class Appender(Protocol):
    """What of the event store an append at the head uses (EventStore is one)."""

    async def contains(self, stream_id: str, event_id: UUID) -> bool: ...

    async def version(self, stream_id: str) -> int: ...

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> AppendResult: ...


async def append_at_head(
    store: Appender, stream_id: str, events: Sequence[NewEvent], attempts: int = 20
) -> AppendResult:
    """Append at the stream's current version, retrying on a conflict.
    Idempotent by event id: a batch whose first event is stored is not appended again."""
    for _ in range(attempts):
        if events and await store.contains(stream_id, events[0].event_id):
            return AppendResult(stream_id=stream_id, version=await store.version(stream_id),
                                global_positions=[])
        try:
            return await store.append(stream_id, await store.version(stream_id), events)
        except ConcurrencyConflict:
            await asyncio.sleep(0.005)
    raise ConcurrencyConflict(stream_id, -1)
