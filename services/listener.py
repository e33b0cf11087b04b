"""LISTEN on a PostgreSQL connection of its own (a relay process's wake-ups), kept alive.

Not a pooled connection: asyncpg hands a pooled connection that died back to its pool,
after which every call on it (``is_closed`` included) raises, and a pooled connection
would be released with a listener on it. Each ``ensure`` probes the connection with a
bounded query, so one dropped (a database restart, a failover) or stalled (a half-open
TCP connection) is replaced, and the wake-ups missed meanwhile are made up by the sweep
that follows; a lost connection also wakes the loop at once. ``close`` terminates it
without a round trip, so a stalled one never holds a shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]

PROBE_SECONDS = 5.0  # a live connection answers SELECT 1 far sooner


class Listener:
    def __init__(self, connect: Connect, channel: str, wake: asyncio.Event) -> None:
        self._connect, self._channel, self._wake = connect, channel, wake
        self._conn: asyncpg.Connection | None = None

    async def ensure(self) -> None:
        """A live connection listening on the channel (reconnected when it was lost)."""
        if self._conn is not None:
            try:
                async with asyncio.timeout(PROBE_SECONDS):
                    await self._conn.fetchval("SELECT 1")
                return
            except Exception:  # dropped, stalled or terminated: listen on a new one
                self.close()
        conn = await self._connect()
        try:
            await conn.add_listener(self._channel, self._woken)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    def _woken(self, *_: object) -> None:
        self._wake.set()

    def _lost(self, _: object) -> None:
        self._wake.set()  # the next pass finds it gone and listens again
