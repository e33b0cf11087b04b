"""dueprocess's connection pool, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from dueprocess.store.db import Pool, PoolClosed, create_pool


@pytest.fixture
async def small(db_dsn: str) -> AsyncIterator[Pool]:
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def _pid(pool: Pool) -> int:
    return int(await pool.fetchval("SELECT pg_backend_pid()"))


async def test_at_most_max_size_connections_are_leased(small: Pool) -> None:
    async with small.acquire() as a, small.acquire() as b:
        assert a is not b
        third = asyncio.create_task(_pid(small))
        await asyncio.sleep(0.2)
        assert not third.done()  # waits for a lease to come back
    assert await third in {await _pid(small), await _pid(small)}


async def test_a_server_error_leaves_the_connection_in_the_pool(small: Pool) -> None:
    before = await _pid(small)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await small.fetch("SELECT 1 / 0")
    assert await _pid(small) == before


async def test_a_cancelled_query_closes_its_connection_and_frees_the_slot(small: Pool) -> None:
    before = await _pid(small)
    task = asyncio.create_task(small.fetch("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pids = await asyncio.gather(_pid(small), _pid(small), _pid(small))
    assert before not in pids  # never handed out again, whatever its state
    assert (await small.fetchval("SELECT 41 + 1")) == 42


async def test_a_connection_left_in_a_transaction_is_not_reused(small: Pool) -> None:
    async with small.acquire() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("BEGIN")
    assert await _pid(small) != pid


async def test_an_application_error_between_queries_keeps_the_connection(small: Pool) -> None:
    with pytest.raises(LookupError):
        async with small.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            async with conn.transaction():
                await conn.execute("SELECT 1")
                raise LookupError("domain rule")
    assert await _pid(small) == pid


async def test_a_connection_the_server_dropped_is_replaced(small: Pool, db_dsn: str) -> None:
    doomed = await _pid(small)
    admin = await asyncpg.connect(db_dsn)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", doomed)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the client sees the socket close
    assert await _pid(small) != doomed


async def test_a_closed_pool_refuses_to_lend(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, min_size=2, max_size=2)
    await pool.close()
    with pytest.raises(PoolClosed):
        await pool.fetch("SELECT 1")


async def test_an_unreachable_database_fails_at_creation() -> None:
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=1)


def test_a_pool_needs_room_for_one_connection() -> None:
    async def never() -> asyncpg.Connection:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="max_size"):
        Pool(never, max_size=0)


async def test_a_cancelled_query_stops_on_the_server_and_connections_stay_bounded(
    small: Pool, db_dsn: str
) -> None:
    admin = await asyncpg.connect(db_dsn)
    try:
        await admin.execute("CREATE TABLE lk (id int PRIMARY KEY); INSERT INTO lk VALUES (1)")
        async with admin.transaction():
            await admin.execute("SELECT * FROM lk FOR UPDATE")
            for _ in range(5):  # each waits on the lock, then its caller gives up
                task = asyncio.create_task(small.fetch("UPDATE lk SET id = 1 WHERE id = 1"))
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            await asyncio.sleep(0.5)
            ours = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
            waiting = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")
        assert waiting == 0  # every cancelled UPDATE was really cancelled
        assert ours <= 2  # never more than max_size connections of ours
        assert await small.fetchval("SELECT 1") == 1
    finally:
        await admin.close()


async def test_a_connection_idle_too_long_is_replaced(small: Pool) -> None:
    first = await _pid(small)
    assert await _pid(small) == first  # reused while fresh
    small.idle_lifetime = 0.0
    await asyncio.sleep(0.01)
    assert await _pid(small) != first
