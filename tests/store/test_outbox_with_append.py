"""Notices queued by the append that records their events (store/outbox.py): the events and
their outbox rows commit together or not at all, in one statement; a retry of a stored
batch still finds its rows queued; a relay process is woken only at that commit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, cast

import asyncpg
import pytest
from dueprocess.domain.envelope import NewEvent
from dueprocess.store.eventstore import ConcurrencyConflict, EventIdConflict, EventStore
from dueprocess.store.outbox import WAKE, Notices
from fixtures.events import CountingPool, ev, pii


class Counting(CountingPool):
    """Counts statements sent by ``execute`` too."""

    executes = 0

    async def execute(self, *args: Any) -> str:
        self.executes += 1
        return await self.pool.execute(*args)


def _notices(events: list[NewEvent], *, wake: bool = False) -> Notices:
    return Notices([f"n-{e.event_id}" for e in events], ["c-1"] * len(events),
                   [e.event_id for e in events], ["respondent"] * len(events), "file",
                   timedelta(seconds=60), wake)


async def _queued(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT notification_id, caused_by, channel, sent_at, attempts, "
        "next_attempt_at - created_at AS due_after FROM outbox ORDER BY notification_id")


async def test_a_batch_and_its_notices_are_written_by_one_statement(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # Given a batch with personal data, and the outbox rows of its notices
    events = [ev(payload={"who": pii("m-1", "Ann")}), ev()]
    counting = Counting(pool)
    # When it is appended with them
    await EventStore(cast(asyncpg.Pool, counting)).append("case-c-1", 0, events,
                                                          _notices(events))
    # Then both were written, by one statement beside the keys' lookup
    assert (counting.fetches, counting.executes) == (2, 0)
    assert len(await store.read_stream("case-c-1")) == 2
    rows = await _queued(pool)
    assert [(r["caused_by"], r["channel"], r["sent_at"], r["attempts"]) for r in rows] \
        == sorted([(e.event_id, "file", None, 0) for e in events], key=lambda r: f"n-{r[0]}")
    assert {r["due_after"] for r in rows} == {timedelta(seconds=60)}


async def test_a_refused_or_failed_append_queues_nothing(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # Given a stream at version 1
    await store.append("case-c-1", 0, [ev()])
    # When a batch is appended at a stale version, and one reusing a stored event's id
    stale = [ev()]
    with pytest.raises(ConcurrencyConflict):
        await store.append("case-c-1", 0, stale, _notices(stale))
    stored = (await store.read_stream("case-c-1"))[0]
    reused = [ev(), ev(event_id=stored.event_id, payload={"other": True})]
    with pytest.raises(EventIdConflict):
        await store.append("case-c-1", 1, reused, _notices(reused))
    # Then neither queued a notice
    assert await _queued(pool) == []


async def test_an_empty_batch_queues_nothing(pool: asyncpg.Pool, store: EventStore) -> None:
    # Given a stream at version 1; when an empty batch (a version check) comes with notices
    await store.append("case-c-1", 0, [ev()])
    await store.append("case-c-1", 1, [], _notices([ev()]))
    # Then no notice is queued: no event was written for it
    assert await _queued(pool) == []


async def test_batches_with_notices_among_grouped_ones_queue_only_their_own(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # Given appends at once, most without notices (grouped), two with (alone)
    plain = [[ev()] for _ in range(8)]
    noticed = [[ev(), ev()] for _ in range(2)]
    # When they are appended together
    await asyncio.gather(
        *(store.append(f"case-p{i}", 0, events) for i, events in enumerate(plain)),
        *(store.append(f"case-n{i}", 0, events, _notices(events))
          for i, events in enumerate(noticed)))
    # Then every batch is stored, and exactly the notices of the two are queued
    for i in range(8):
        assert len(await store.read_stream(f"case-p{i}")) == 1
    assert sorted(r["caused_by"] for r in await _queued(pool)) \
        == sorted(e.event_id for events in noticed for e in events)


@pytest.mark.parametrize("wake", [False, True])
async def test_a_retried_batch_finds_its_notices_queued(
    pool: asyncpg.Pool, store: EventStore, wake: bool
) -> None:
    # Given a batch stored without its notices (a worker of an earlier release, which
    # queued them by a statement of their own, stopped between the two), and a relay
    # process listening
    events = [ev(), ev()]
    await store.append("case-c-1", 0, events)
    woken: list[str] = []

    def wakes(*args: object) -> None:
        woken.append(str(args[3]))

    async with pool.acquire() as listener:
        await listener.add_listener(WAKE, wakes)
        # When the same batch is appended again, with its notices, twice
        for _ in range(2):
            result = await EventStore(pool).append("case-c-1", 0, events,
                                                   _notices(events, wake=wake))
            # Then it is the stored batch, and its notices are queued once
            assert result.version == 2
        for _ in range(500):  # the notices sent are in by now, or soon
            await listener.execute("SELECT 1")
            if len(woken) == (2 if wake else 0):
                break
            await asyncio.sleep(0.01)
        await listener.remove_listener(WAKE, wakes)
    assert len(await _queued(pool)) == 2
    # And the relay processes were woken when they are to be (at each queueing)
    assert woken == (["file", "file"] if wake else [])


async def test_a_relay_process_is_woken_when_the_batch_commits(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # Given a relay process listening
    woken: asyncio.Queue[str] = asyncio.Queue()

    def wake(*args: object) -> None:
        woken.put_nowait(str(args[3]))

    async with pool.acquire() as listener:
        await listener.add_listener(WAKE, wake)
        # When a batch is refused, with notices that would wake it
        refused = [ev()]
        with pytest.raises(ConcurrencyConflict):
            await store.append("case-c-2", 3, refused, _notices(refused, wake=True))
        await listener.execute("SELECT 1")  # a round trip: a notice sent would be in by now
        # Then it is not woken
        assert woken.empty()
        # And when a batch is appended with them, it is woken, naming the channel, once the
        # batch and its rows are there
        events = [ev(event_id=uuid.uuid4())]
        await store.append("case-c-2", 0, events, _notices(events, wake=True))
        assert await asyncio.wait_for(woken.get(), 5) == "file"
        assert [r["caused_by"] for r in await _queued(pool)] == [events[0].event_id]
        await listener.remove_listener(WAKE, wake)
