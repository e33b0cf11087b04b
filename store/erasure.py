"""A data subject's erasure under way: the subject's lock is held (EventStore.erasure), so
appends that would seal the subject's data wait, and are refused once the key is gone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .db import Connection

if TYPE_CHECKING:
    from .eventstore import EventStore


class Erasure:
    def __init__(self, owner: EventStore, pinned: EventStore, conn: Connection,
                 subject_id: str) -> None:
        self.subject_id = subject_id
        self.store = pinned  # reads every committed event, on the locked connection
        self._owner = owner
        self._conn = conn

    async def destroy(self) -> int:
        """Destroy the subject's key(s) (or mark a never-keyed subject erased); returns
        how many keys were destroyed."""
        self._owner.forget_key(self.subject_id)
        destroyed = await self._conn.fetchval(
            "SELECT dueprocess_erase_subject($1)", self.subject_id)
        self._owner.forget_key(self.subject_id)  # in case it raced a lookup
        return int(destroyed)


async def unlock_subject(conn: Connection, subject_id: str) -> None:
    """Release the session lock; a connection that cannot say it did is closed (which
    releases it) rather than returned to the pool still holding it."""
    try:
        if await conn.fetchval("SELECT dueprocess_unlock_subject($1)", subject_id):
            return
    except BaseException:
        conn.terminate()
        raise
    conn.terminate()
