"""store/head_append.py. append_or_adopt: a batch rebuilt with the same event ids and
other timestamps (a case workflow's local append after a lost workflow task) is answered
with the batch the store holds, never written twice; anything else still conflicts.
append_at_head: the events a stream holds already are skipped, one by one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from dueprocess.domain.envelope import NewEvent
from dueprocess.store.eventstore import ConcurrencyConflict, EventIdConflict, EventStore
from dueprocess.store.head_append import append_at_head, append_or_adopt
from fixtures.events import T0, ev, pii


async def test_a_rebuilt_batch_adopts_the_stored_one_once(store: EventStore) -> None:
    # Given a batch recorded at version 1 by an attempt whose reply was lost
    await store.append("s", 0, [ev()])
    batch = [ev("Acknowledged", {"who": pii("p-1", "Ada Lovelace")}), ev("Triaged")]
    first, adopted = await append_or_adopt(store, "s", 1, batch)
    assert adopted == []
    # When it is rebuilt later: the same ids and types, other times
    later = T0 + timedelta(seconds=3)
    rebuilt = [e.model_copy(update={"recorded_at": later, "effective_at": later})
               for e in batch]
    with pytest.raises(EventIdConflict):
        await store.append("s", 1, rebuilt)  # byte for byte it is another batch
    result, adopted = await append_or_adopt(store, "s", 1, rebuilt)
    # Then the stored batch answers, with its own times, and nothing more is written
    assert result.version == 3 and result.global_positions == first.global_positions
    assert [e.event_id for e in adopted] == [e.event_id for e in batch]
    assert [e.recorded_at for e in adopted] == [T0, T0]
    assert adopted[0].payload["who"]["value"] == "Ada Lovelace"
    assert len(await store.read_stream("s")) == 3


async def test_other_ids_or_types_are_still_a_conflict(store: EventStore) -> None:
    await store.append("s", 0, [ev("Acknowledged")])
    with pytest.raises(ConcurrencyConflict):  # someone else's event at that version
        await append_or_adopt(store, "s", 0, [ev("Acknowledged")])
    [stored] = await store.read_stream("s")
    same_id_other_type = ev("Triaged", event_id=stored.event_id, recorded_at=T0 + timedelta(1))
    with pytest.raises(EventIdConflict):
        await append_or_adopt(store, "s", 0, [same_id_other_type])
    assert len(await store.read_stream("s")) == 1


async def test_append_at_head_skips_exactly_the_events_already_recorded(
        store: EventStore) -> None:
    # Given a log stream another writer extended, holding the first of two events
    await store.append("log", 0, [ev("Read")])
    first, second = ev("Dispatched"), ev("Dispatched")
    await store.append_at_head("log", [first])
    # When a batch holding both is appended at the head (a retry after a partial record)
    result = await store.append_at_head("log", [first, second])
    # Then only the second is written, after the first, and again nothing at all
    assert result.version == 3 and len(result.global_positions) == 1
    assert [e.event_id for e in await store.read_stream("log")] == [
        (await store.read_stream("log"))[0].event_id, first.event_id, second.event_id]
    again = await store.append_at_head("log", [first, second])
    assert again.version == 3 and again.global_positions == []
    assert await store.head("log", [first.event_id, second.event_id]) == (
        3, {first.event_id, second.event_id})
    assert await store.head("nothing", [first.event_id]) == (0, set())


class _Rival:
    """The store, with another writer recording ``rival`` right after the first read of
    the stream's head (between append_at_head's read and its append)."""

    def __init__(self, store: EventStore, rival: list[NewEvent]) -> None:
        self._store, self._rival = store, rival

    async def head(self, stream_id: str, event_ids: Sequence[UUID]) -> tuple[int, set[UUID]]:
        answer = await self._store.head(stream_id, event_ids)
        if self._rival:
            rival, self._rival = self._rival, []
            await self._store.append_at_head(stream_id, rival)
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_append_at_head_appends_what_a_rival_left_out(store: EventStore) -> None:
    # Given two writers settling overlapping batches of the same records (a relay's post
    # and a sweep): the rival records the first two between our read and our append
    first, second, third = ev("Dispatched"), ev("Dispatched"), ev("Dispatched")
    racing = _Rival(store, [first, second])
    # When we append all three at the head
    await append_at_head(racing, "log", [first, second, third])
    # Then each is recorded once, ours after the rival's
    assert [e.event_id for e in await store.read_stream("log")] == [
        first.event_id, second.event_id, third.event_id]
