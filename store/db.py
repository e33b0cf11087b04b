"""Connection pooling for dueprocess.

asyncpg's own pool costs about 30 µs of client CPU per acquire and release (a holder object,
a proxy, timeout bookkeeping, a reset hook): a tenth of append throughput here, where the
client shares two cores with PostgreSQL. ``Pool`` keeps only what dueprocess needs: a bound
on open connections, a LIFO of idle ones, and the rule that a connection whose state is
unknown is closed instead of reused.

No reset runs on release: dueprocess never leaves session state on a pooled connection (no
SET, no LISTEN, advisory locks always released in ``finally``); a connection still inside a
transaction is closed, not returned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import asyncpg.pool

# A plain connection or one borrowed from a pool: both run queries the same way.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


# As asyncpg's pool: a connection unused this long is closed rather than lent.
IDLE_LIFETIME_SECONDS = 300.0
# How long a retired connection may take to deliver the cancel of its running query.
_CANCEL_WAIT_SECONDS = 5.0


class PoolClosed(asyncpg.InterfaceError):
    """The pool was closed; no connection can be acquired."""


class Pool:
    """At most ``max_size`` connections, ``min_size`` of them opened up front (which also
    proves the database reachable at start-up)."""

    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], *, max_size: int
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size: must be at least 1")
        self._connect = connect
        self._slots = asyncio.Semaphore(max_size)
        # (connection, when it was last returned): a connection idle longer than
        # IDLE_LIFETIME_SECONDS is closed instead of lent (firewalls and NAT drop quiet
        # connections; a worker idle overnight would otherwise fail its first queries).
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self.idle_lifetime = IDLE_LIFETIME_SECONDS
        self._closed = False

    async def _fill(self, count: int) -> None:
        opened: list[asyncpg.Connection] = []
        try:
            for _ in range(count):
                opened.append(await self._connect())
        except BaseException:
            for conn in opened:
                conn.terminate()
            raise
        now = time.monotonic()
        self._idle.extend((conn, now) for conn in opened)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await self._take()
        healthy = False
        try:
            yield conn
            healthy = True
        except Exception as err:
            healthy = _connection_survives(err)
            raise
        finally:
            self._give_back(conn, healthy)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        # acquire() inlined: every append goes through here, and the context-manager
        # machinery costs more than the bookkeeping it wraps.
        conn = await self._take()
        healthy = False
        try:
            rows = await conn.fetch(query, *args)
            healthy = True
            return rows
        except Exception as err:
            healthy = _connection_survives(err)
            raise
        finally:
            self._give_back(conn, healthy)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args)

    async def close(self) -> None:
        """Close idle connections now; leased ones are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(c.close() for c, _ in idle), *self._retiring,
                             return_exceptions=True)

    def terminate(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.terminate()

    async def _take(self) -> asyncpg.Connection:
        if self._closed:
            raise PoolClosed("the connection pool is closed")
        await self._slots.acquire()
        try:
            if self._closed:  # closed while this lease waited for a slot
                raise PoolClosed("the connection pool is closed")
            while self._idle:
                conn, since = self._idle.pop()
                if conn.is_closed():
                    continue
                if time.monotonic() - since <= self.idle_lifetime:
                    return conn
                conn.terminate()
                # LIFO: everything below was idle longer still.
                for older, _ in self._idle:
                    older.terminate()
                self._idle.clear()
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    def _give_back(self, conn: asyncpg.Connection, healthy: bool) -> None:
        if healthy and not self._closed and not conn.is_closed() \
                and not conn.is_in_transaction():
            self._idle.append((conn, time.monotonic()))
            self._slots.release()
            return
        # Keep the slot until the connection is gone, so the server never holds more than
        # max_size of ours.
        task = asyncio.get_running_loop().create_task(self._retire(conn))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, conn: asyncpg.Connection) -> None:
        try:
            # A cancelled query goes on running on the server until asyncpg's cancel request
            # reaches it; terminating first would drop that request (and leave the statement
            # holding its locks, or committing after its caller gave up).
            pending = list(getattr(conn, "_cancellations", ()))
            if pending:
                await asyncio.wait(pending, timeout=_CANCEL_WAIT_SECONDS)
        finally:
            if not conn.is_closed():
                conn.terminate()
            self._slots.release()


def _connection_survives(err: Exception) -> bool:
    """A server-side error or an application error between queries leaves the connection
    usable; a client-side driver error, a lost connection or a timeout (a query may still
    be running) does not. Cancellation is not an Exception and never gets here: the
    connection is retired."""
    return not isinstance(
        err, asyncpg.InterfaceError | asyncpg.InternalClientError | OSError | TimeoutError)




async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    async def connect() -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
        return conn

    pool = Pool(connect, max_size=max_size)
    await pool._fill(min(min_size, max_size))
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


# Either pool (dueprocess creates its own, tests sometimes pass asyncpg's), or one pinned
# connection.
Database = Pool | asyncpg.Pool | Pinned
