"""Connection pooling for dueprocess: asyncpg's own pool, with a cheaper reset.

Until issue 14 dueprocess had a hand-written pool. It was 1.01-1.08x asyncpg's pool with a
no-op reset (faster in 8 of 9 rounds, append benchmark), but to stop a cancelled query
safely it had to wait on a private attribute of asyncpg's Connection. asyncpg's pool
does that wait itself (and reuses the connection once the server has cancelled the query),
so a few per cent did not pay for owning that code.

The reset: asyncpg's default (``Connection.reset``) sends RESET ALL, UNLISTEN, CLOSE ALL and
pg_advisory_unlock_all on every release: a round trip per query through the pool. With a
``reset`` given, the pool still rolls back a transaction left open and drops listeners
(``Connection._reset``, asyncpg's own code) and then calls ours, which does nothing more:
dueprocess never leaves session state on a pooled connection (no SET, no LISTEN, advisory
locks released in ``finally``, and a connection whose unlock failed is terminated).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
import asyncpg.pool

# A plain connection or one borrowed from a pool: both run queries the same way.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
Pool = asyncpg.Pool

# As asyncpg's default: a connection unused this long is closed rather than lent (firewalls
# and NAT drop quiet connections; a worker idle overnight would fail its first queries).
IDLE_LIFETIME_SECONDS = 300.0


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Nothing to undo beyond what asyncpg's pool already does (see the module doc)."""


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10,
    idle_lifetime: float = IDLE_LIFETIME_SECONDS,
) -> Pool:
    """At most ``max_size`` connections, ``min_size`` of them opened up front (which also
    proves the database reachable at start-up).

    asyncpg's own ``min_size`` is 0: it would keep that many connections open however long
    they sit idle, and a connection a firewall dropped overnight fails its first query. So
    every connection idle longer than ``idle_lifetime`` is closed, and reopened when needed."""
    if max_size < 1:
        raise ValueError("max_size: must be at least 1")
    pool: Pool = await asyncpg.create_pool(
        dsn, min_size=0, max_size=max_size,
        max_inactive_connection_lifetime=idle_lifetime, reset=_no_session_state)
    try:
        async with AsyncExitStack() as opened:
            for _ in range(min(min_size, max_size)):
                await opened.enter_async_context(pool.acquire())
    except BaseException:
        pool.terminate()
        raise
    return pool


class Pinned:
    """One connection lent as a ``Database``: every query and ``acquire`` use it. For work
    that must stay on the connection holding a session lock (erasure), whatever pool size."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        yield self.conn

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self.conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self.conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        return await self.conn.execute(query, *args)


# The pool, or one pinned connection.
Database = asyncpg.Pool | Pinned
