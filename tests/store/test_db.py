"""dueprocess's connection pool (asyncpg's, with a cheap reset), against a real PostgreSQL:
the properties dueprocess relies on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from dueprocess.store import db
from dueprocess.store.db import Pool, create_pool


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


async def test_a_cancelled_query_is_stopped_before_its_connection_is_lent_again(
    small: Pool
) -> None:
    task = asyncio.create_task(small.fetch("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Whichever connection answers, it is idle (not still sleeping) and usable.
    async with small.acquire() as a, small.acquire() as b:
        assert not a.is_in_transaction() and not b.is_in_transaction()
        assert (await a.fetchval("SELECT 41 + 1")) == 42 == (await b.fetchval("SELECT 42"))
        sleeping = await a.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' "
            "AND state = 'active'")
    assert sleeping == 0


async def test_a_connection_left_in_a_transaction_is_rolled_back_before_reuse(
    small: Pool
) -> None:
    async with small.acquire() as conn:
        await conn.execute("BEGIN; CREATE TEMP TABLE left_behind (x int)")
    async with small.acquire() as a, small.acquire() as b:
        for conn in (a, b):
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_behind')") is None


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
    with pytest.raises(asyncpg.InterfaceError, match="clos"):
        await pool.fetch("SELECT 1")


async def test_an_unreachable_database_fails_at_creation() -> None:
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=1)


async def test_a_pool_needs_room_for_one_connection(db_dsn: str) -> None:
    with pytest.raises(ValueError, match="max_size"):
        await create_pool(db_dsn, max_size=0)


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


async def test_a_connection_idle_too_long_is_replaced(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, min_size=1, max_size=1, idle_lifetime=0.3)
    try:
        first = await _pid(pool)
        assert await _pid(pool) == first  # reused while fresh
        await asyncio.sleep(1.0)
        assert await _pid(pool) != first
    finally:
        await pool.close()


def test_session_state_is_never_read_from_asyncpg_internals() -> None:
    # The hand-written pool read asyncpg's private Connection._cancellations; none does now.
    assert "_cancellations" not in Path(db.__file__).read_text()
