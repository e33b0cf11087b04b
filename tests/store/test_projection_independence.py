"""Projections follow the log independently: one stuck in a batch holds no other back, and
a stop ends the runner however long a batch would take (the batch rolls back and its
checkpoint stays, so it is applied again later)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import NewEvent, RecordedEvent, envelope_for
from dueprocess.store.db import Connection
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import CaseListProjection, Projection, ProjectionRunner
from fixtures.case_examples import T0, example_policy, file_report

CASES = 30


def _report(case_id: str) -> NewEvent:
    event = dc.decide(dc.CaseState.empty(case_id), file_report(policy=example_policy()), T0)[0]
    return envelope_for(event, event_id=uuid.uuid4(), recorded_at=T0)


class Stuck:
    """A projection whose batch never ends (as a slow one would seem to the others)."""

    name = "stuck"
    tables: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def apply(
        self, conn: Connection, store: EventStore, events: Sequence[RecordedEvent]
    ) -> None:
        await conn.execute("SELECT 1")  # inside the batch's transaction
        self.entered.set()
        await asyncio.Event().wait()


async def test_a_stuck_projection_neither_starves_the_case_list_nor_delays_the_stop(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given a backlog of cases, and a projection that never finishes a batch listed first
    for i in range(CASES):
        await store.append(f"case-c{i}", 0, [_report(f"c{i}")])
    stuck = Stuck()
    runner = ProjectionRunner(pool, store, [stuck, CaseListProjection()], batch_size=7,
                              stop_grace=0.2)
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run(stop, interval=0.05))
    # when they run, then the case list catches up all the same
    while await pool.fetchval("SELECT count(*) FROM case_list") < CASES:
        assert not loop.done(), loop
        await asyncio.sleep(0.05)
    assert stuck.entered.is_set()
    # and a stop ends the runner (a generous bound, not a timing assertion)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    # the stuck batch rolled back: its checkpoint never moved, and no connection is left
    # inside its transaction
    assert await pool.fetchval("SELECT coalesce(max(global_position), 0) FROM "
                               "projection_checkpoints WHERE name = 'stuck'") == 0
    assert await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%'") == 0


async def test_events_appended_while_a_batch_is_under_way_reach_the_other_projections(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given a projection stuck inside a batch (its transaction open, its checkpoint locked)
    await store.append("case-c0", 0, [_report("c0")])
    stuck = Stuck()
    runner = ProjectionRunner(pool, store, [stuck, CaseListProjection()], stop_grace=0.2)
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run(stop, interval=0.05))
    try:
        await asyncio.wait_for(stuck.entered.wait(), timeout=10)
        # when cases are appended after that batch began
        for i in range(1, CASES):
            await store.append(f"case-c{i}", 0, [_report(f"c{i}")])
        # then the case list lists them all the same: the open batch holds no transaction
        # id back (the log's tail shows only events older than every running transaction)
        async with asyncio.timeout(30):
            while await pool.fetchval("SELECT count(*) FROM case_list") < CASES:
                assert not loop.done(), loop
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)


async def test_catch_up_takes_the_projections_in_turns(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given a backlog several batches long
    for i in range(CASES):
        await store.append(f"case-c{i}", 0, [_report(f"c{i}")])
    order: list[str] = []

    class Recording(CaseListProjection):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        async def apply(self, conn: Connection, store: EventStore,
                        events: Sequence[RecordedEvent]) -> None:
            order.append(self.name)
            await super().apply(conn, store, events)

    runner = ProjectionRunner(pool, store, [Recording("a"), Recording("b")], batch_size=10)
    # when it catches up, then batches alternate: neither waits for the other to finish
    assert await runner.catch_up() == 2 * CASES
    assert order == ["a", "b"] * 3


async def test_a_following_projection_goes_on_at_once_only_after_a_full_batch(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given a backlog of 5 cases, and a runner taking batches of 2 that polls once an hour
    for i in range(5):
        await store.append(f"case-c{i}", 0, [_report(f"c{i}")])
    steps: list[int] = []

    class Counting(ProjectionRunner):
        async def step(self, projection: Projection, limit: int | None = None) -> int:
            steps.append(n := await super().step(projection, limit))
            return n

    runner = Counting(pool, store, [CaseListProjection()], batch_size=2)
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run(stop, interval=3600))
    try:
        # when it follows the log until the backlog is applied
        async with asyncio.timeout(30):
            while await pool.fetchval("SELECT count(*) FROM case_list") < 5:
                assert not loop.done(), loop
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # room for a further step, were one to be taken
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)
    # then the full batches went on at once, and the short one (the head reached) waited
    # for the interval instead of asking again: events arriving meanwhile make one batch
    assert steps == [2, 2, 1]
