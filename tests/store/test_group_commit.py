"""Group commit (store/group_commit.py, migration 0024): concurrent appends of one store
share a transaction, and each batch keeps its own outcome."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import asyncpg
import pytest
from dueprocess.store.eventstore import ConcurrencyConflict, EventIdConflict, EventStore
from dueprocess.store.group_commit import GroupCommit
from dueprocess.store.outbox import Notices
from dueprocess.store.verify import verify_store
from fixtures.events import ev, pii


async def _transactions(pool: asyncpg.Pool, streams: list[str]) -> int:
    """How many transactions wrote the streams' events."""
    return int(await pool.fetchval(
        "SELECT count(DISTINCT tx_id) FROM events WHERE stream_id = ANY($1)", streams))


@pytest.fixture
def grouping(pool: asyncpg.Pool) -> EventStore:
    """A store with one statement in flight at a time: appends made together after the
    first go as one group."""
    return EventStore(pool, group=GroupCommit(pool, in_flight=1))


async def _append_together(store: EventStore, *appends: tuple[str, int, list[Any]]
                           ) -> list[Any]:
    """The appends at once: the first goes alone, the others wait for it and then go as
    one group."""
    return await asyncio.gather(*(store.append(s, v, e) for s, v, e in appends),
                                return_exceptions=True)


class HeldFirstAppend:
    """The pool, but the first append waits until ``ready()``: the appends that come
    meanwhile (after their key lookups) then wait for it and go together."""

    def __init__(self, pool: asyncpg.Pool, ready: Callable[[], bool]) -> None:
        self.pool = pool
        self.ready = ready
        self.held = False

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        if "dueprocess_append(" in query and not self.held:
            self.held = True
            for _ in range(10_000):  # the others queue as their key lookups return
                if self.ready():
                    break
                await asyncio.sleep(0.001)
        return await self.pool.fetch(query, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


async def test_concurrent_appends_share_one_transaction(pool: asyncpg.Pool) -> None:
    # Given a store, and streams with personal data (new keys created with the events)
    streams = [f"group-{n}" for n in range(5)]
    held = HeldFirstAppend(pool, lambda: group.waiting == len(streams))
    group = GroupCommit(cast(asyncpg.Pool, held), in_flight=1)
    store = EventStore(pool, group=group)
    # When they are appended at the same time
    outcomes = await _append_together(
        store, ("first", 0, [ev()]),
        *((s, 0, [ev(payload={"who": pii(f"p-{s}", "Ada")}), ev()]) for s in streams))
    # Then each batch got its own versions and positions, all but the first in one
    # transaction, with their keys and person index, and everything reads back and verifies
    assert [o.version for o in outcomes] == [1] + [2] * len(streams)
    assert len({p for o in outcomes for p in o.global_positions}) == 1 + 2 * len(streams)
    assert await _transactions(pool, streams) == 1
    for s in streams:
        events = await store.read_stream(s)
        assert events[0].payload["who"]["value"] == "Ada"
        assert await pool.fetchval(
            "SELECT count(*) FROM stream_people WHERE stream_id = $1 AND person_id = $2",
            s, f"p-{s}") == 1
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert report.ok and report.events == 1 + 2 * len(streams)


async def test_a_conflicting_batch_in_a_group_leaves_the_others_committed(
    grouping: EventStore, pool: asyncpg.Pool
) -> None:
    # Given a stream already at version 1
    await grouping.append("taken", 0, [ev()])
    # When a stale append to it goes in one group with appends to other streams
    outcomes = await _append_together(
        grouping, ("first", 0, [ev()]), ("a", 0, [ev()]), ("taken", 0, [ev(), ev()]),
        ("b", 0, [ev(), ev()]))
    # Then only it conflicts; the others are stored, in one transaction
    assert isinstance(outcomes[2], ConcurrencyConflict)
    assert [outcomes[i].version for i in (0, 1, 3)] == [1, 1, 2]
    assert await grouping.version("taken") == 1
    assert await _transactions(pool, ["a", "b"]) == 1


async def test_an_error_in_a_group_is_its_batch_alone(
    grouping: EventStore, pool: asyncpg.Pool
) -> None:
    # Given an event stored in one stream
    stored = ev()
    await grouping.append("old", 0, [stored])
    # When a group holds a batch reusing its id with other content (an error that aborts
    # the group's transaction), a retry of the stored batch and a new batch
    clash = stored.model_copy(update={"payload": {"n": 2}})
    outcomes = await _append_together(
        grouping, ("first", 0, [ev()]), ("other", 0, [clash]), ("old", 0, [stored]),
        ("new", 0, [ev()]))
    # Then the reused id is refused, the retry returns the stored position and the new
    # batch is stored: each batch was appended alone after the group failed
    assert isinstance(outcomes[1], EventIdConflict)
    assert outcomes[2].version == 1 and outcomes[3].version == 1
    assert await grouping.version("other") == 0
    assert [e.event_id for e in await grouping.read_stream("old")] == [stored.event_id]


async def test_a_failed_group_is_sent_again_in_halves(pool: asyncpg.Pool) -> None:
    # Given an event stored in one stream, and a store whose next appends go as one group
    stored = ev()
    await EventStore(pool).append("old", 0, [stored])
    clash = stored.model_copy(update={"payload": {"n": 2}})
    held = HeldFirstAppend(pool, lambda: group.waiting == 4)
    group = GroupCommit(cast(asyncpg.Pool, held), in_flight=1)
    store = EventStore(pool, group=group)
    # When the group holds a batch reusing the stored id with other content (an error that
    # aborts the group's transaction) in its first half, and two good batches in its second
    outcomes = await _append_together(
        store, ("first", 0, [ev()]), ("other", 0, [clash]), ("a", 0, [ev()]),
        ("b", 0, [ev()]), ("c", 0, [ev(), ev()]))
    # Then the reused id is refused, every other batch is stored, and the half without the
    # error was committed as one group, not batch by batch
    assert isinstance(outcomes[1], EventIdConflict)
    assert [outcomes[i].version for i in (0, 2, 3, 4)] == [1, 1, 1, 2]
    assert await store.version("other") == 0
    assert await _transactions(pool, ["b", "c"]) == 1


class Recording:
    """The pool, recording the append functions each query calls."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.calls: list[str] = []

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        self.calls += re.findall(r"dueprocess_append\w*", query)
        return await self.pool.fetch(query, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


async def test_refused_batches_in_a_group_are_refused_each_alone(pool: asyncpg.Pool) -> None:
    # Given streams at version 1, a subject erased by another store (this store still holds
    # its key) and an erased subject who never had a key
    recording = Recording(pool)
    held = HeldFirstAppend(cast(asyncpg.Pool, recording), lambda: group.waiting == 5)
    held.held = True  # not yet
    group = GroupCommit(cast(asyncpg.Pool, held), in_flight=1)
    store = EventStore(pool, group=group)
    await store.append("kept", 0, [ev(payload={"who": pii("p-1", "Ada")})])
    await store.append("stale", 0, [ev()])
    other = EventStore(pool)
    await other.erase_subject("p-1")
    await other.erase_subject("p-never")
    # When one group holds batches sealing data of either, a stale append, and good
    # batches: a new stream with a new subject, and the next version of a stream
    recording.calls.clear()
    held.held = False
    outcomes = await _append_together(
        store, ("first", 0, [ev()]), ("a", 0, [ev(payload={"who": pii("p-1", "Ada")})]),
        ("b", 0, [ev(payload={"who": pii("p-never", "Bo")})]), ("stale", 0, [ev()]),
        ("c", 0, [ev(payload={"who": pii("p-2", "Cy")}), ev()]), ("kept", 1, [ev()]))
    # Then it went set-based (migration 0026), exactly those are refused and nothing of
    # them written; the others are stored in one transaction with their key and person
    # index, and the store verifies
    assert recording.calls[:2] == ["dueprocess_append", "dueprocess_append_set"]
    assert "dueprocess_append_group" not in recording.calls
    assert [type(o).__name__ for o in outcomes[1:4]] == [
        "ErasedSubject", "ErasedSubject", "ConcurrencyConflict"]
    assert [outcomes[i].version for i in (0, 4, 5)] == [1, 2, 2]
    assert await store.version("a") == 0 and await store.version("b") == 0
    assert await store.version("stale") == 1
    assert await pool.fetchval(
        "SELECT count(*) FROM subject_keys WHERE subject_id IN ('p-1', 'p-never') "
        "AND destroyed_at IS NULL") == 0
    assert await _transactions(pool, ["c", "kept"]) == 2  # kept's first append, then one
    assert (await store.read_stream("c"))[0].payload["who"]["value"] == "Cy"
    assert await pool.fetchval(
        "SELECT count(*) FROM stream_people WHERE stream_id = 'c' AND person_id = 'p-2'") == 1
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


class HeldAlone:
    """The pool, but appends sent alone wait until ``release`` is set."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.release = asyncio.Event()
        self.held = 0

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        if "dueprocess_append(" in query:
            self.held += 1
            await self.release.wait()
        return await self.pool.fetch(query, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


async def test_appends_wait_behind_two_in_flight_and_four_go_together_at_once(
    pool: asyncpg.Pool,
) -> None:
    # Given a store with the default policy, whose appends sent alone do not finish yet
    held = HeldAlone(pool)
    group = GroupCommit(cast(asyncpg.Pool, held))
    store = EventStore(pool, group=group)
    # When six appends come at once
    streams = [f"s-{n}" for n in range(6)]
    tasks = [asyncio.create_task(store.append(s, 0, [ev()])) for s in streams]
    grouped = asyncio.gather(*tasks[2:])
    # Then two went alone and the other four, waiting behind them, went as one group
    # without waiting for them to finish
    assert [o.version for o in await asyncio.wait_for(grouped, 60)] == [1] * 4
    assert held.held == 2 and not any(t.done() for t in tasks[:2])
    assert await _transactions(pool, streams[2:]) == 1
    held.release.set()
    assert [o.version for o in await asyncio.gather(*tasks[:2])] == [1, 1]


async def test_two_appends_to_one_stream_in_a_group_chain(grouping: EventStore) -> None:
    # Given a stream at version 1 whose head this store knows
    await grouping.append("s", 0, [ev()])
    # When two appends at the next version go in one group
    outcomes = await _append_together(
        grouping, ("first", 0, [ev()]), ("s", 1, [ev()]), ("s", 1, [ev()]))
    # Then exactly one of them is stored
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes[1:]) == 1
    assert await grouping.version("s") == 2


@pytest.mark.parametrize("cancel", [1, 2])
async def test_a_cancelled_caller_does_not_stop_its_group(
    grouping: EventStore, cancel: int
) -> None:
    # Given appends waiting to go in one group
    tasks = [asyncio.create_task(grouping.append(s, 0, [ev()])) for s in ("x", "y", "z")]
    await asyncio.sleep(0)
    # When one of the waiting callers is cancelled
    tasks[cancel].cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    # Then the others are stored all the same
    assert isinstance(outcomes[cancel], asyncio.CancelledError)
    for n, s in enumerate(("x", "y", "z")):
        if n != cancel:
            assert await grouping.version(s) == 1


async def test_the_application_role_appends_in_groups(app_pool: asyncpg.Pool) -> None:
    # Given a store logged in as the application role (least privilege, migration 0010)
    held = HeldFirstAppend(app_pool, lambda: group.waiting == 2)
    group = GroupCommit(cast(asyncpg.Pool, held), in_flight=1)
    store = EventStore(app_pool, group=group)
    # When appends with personal data go together
    outcomes = await _append_together(
        store, *((s, 0, [ev(payload={"who": pii(f"p-{s}", "Ada")})]) for s in "abc"))
    # Then they are stored, two of them in one transaction: the group function may do
    # what the append lets the role do
    assert [o.version for o in outcomes] == [1, 1, 1]
    assert await _transactions(app_pool, ["a", "b", "c"]) == 2
    assert (await store.read_stream("c"))[0].payload["who"]["value"] == "Ada"


async def test_an_append_waiting_for_a_lock_does_not_hold_back_the_others(
    grouping: EventStore,
) -> None:
    # Given a stream with personal data of a subject whose erasure lock is held
    await grouping.append("p", 0, [ev(payload={"who": pii("p-9", "Ada")})])
    async with grouping.erasure("p-9"):
        # When an append sealing the subject's data waits for the lock (in flight, and
        # one statement in flight at a time) and another stream is appended to meanwhile
        blocked = asyncio.create_task(
            grouping.append("p", 1, [ev(payload={"who": pii("p-9", "Bo")})]))
        await asyncio.sleep(0)  # it is sent
        # (bounded only so that a regression fails instead of hanging: it would wait for
        # the lock, which this test holds, forever)
        other = await asyncio.wait_for(grouping.append("q", 0, [ev()]), 60)
        # Then the other append is stored while the first still waits
        assert other.version == 1 and not blocked.done()
    # And the first is stored once the lock is released
    assert (await blocked).version == 2


async def test_a_batch_with_notices_goes_alone_and_counts_in_flight(
    pool: asyncpg.Pool,
) -> None:
    # Given a store with one statement in flight at a time, whose first append (a batch
    # with notices, which its own statement queues) does not finish until three wait
    streams = [f"after-{n}" for n in range(3)]
    held = HeldFirstAppend(pool, lambda: group.waiting == len(streams))
    group = GroupCommit(cast(asyncpg.Pool, held), in_flight=1)
    store = EventStore(pool, group=group)
    noticed = [ev()]
    notices = Notices([f"n-{noticed[0].event_id}"], ["c-1"], [noticed[0].event_id],
                      ["respondent"], "file", timedelta(0), wake=False)
    first = asyncio.create_task(store.append("noticed", 0, noticed, notices))
    for _ in range(10_000):  # until its statement is held
        if held.held:
            break
        await asyncio.sleep(0.001)
    # When three plain appends come meanwhile
    outcomes = await asyncio.gather(*(store.append(s, 0, [ev()]) for s in streams))
    # Then they waited for it (it counts in flight) and went together, as one group, and
    # it went alone, its notices queued with it
    assert [o.version for o in outcomes] == [1] * 3 and (await first).version == 1
    assert await _transactions(pool, streams) == 1
    assert await _transactions(pool, ["noticed", *streams]) == 2
    assert await pool.fetchval("SELECT caused_by FROM outbox") == noticed[0].event_id
