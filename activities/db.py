"""Connection pools for the event store.

asyncpg resets every connection when it goes back to its pool (advisory locks, prepared
cursors, LISTEN, session settings): a round trip that cost a third of append throughput
here. dueprocess never leaves session state behind on a pooled connection (no SET, no
LISTEN, advisory locks always released in ``finally``), so the reset is skipped.
"""

from __future__ import annotations

import asyncpg

from .eventstore import Connection


async def _no_reset(_: Connection) -> None:
    return None


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_no_reset)
    assert pool is not None
    return pool
