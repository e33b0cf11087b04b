"""Where the read models stand: each one's checkpoint, the events it has not applied yet,
its errors and quarantined events (`dueprocess projections status`, the lag metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from .db import Connection, Database


class ProjectionStatus(BaseModel):
    name: str
    tx_id: int
    global_position: int
    lag: int  # committed events not yet applied
    errors: int
    last_error: str | None
    last_error_at: datetime | None
    halted: bool
    quarantined: list[dict[str, Any]]


# Each read model's checkpoint and the committed events it has not applied yet, counted up
# to a cap when one is given (then it is one bounded range scan on events_global_order_idx;
# LIMIT NULL counts them all). $1 names the read models (one without a checkpoint row is at
# the start of the log); NULL means every one that has a checkpoint.
_LAG = """
SELECT n.name, coalesce(c.tx_id, 0) AS tx_id,
       coalesce(c.global_position, 0) AS global_position, c.updated_at,
       coalesce(c.errors, 0) AS errors, c.last_error, c.last_error_at,
       coalesce(c.halted, false) AS halted,
       (SELECT count(*) FROM (SELECT 1 FROM events e
                               WHERE (e.tx_id, e.global_position)
                                     > (coalesce(c.tx_id, 0)::text::xid8,
                                        coalesce(c.global_position, 0))
                               LIMIT $2) AS pending) AS behind
  FROM unnest(coalesce($1::text[], ARRAY(SELECT name FROM projection_checkpoints)))
       WITH ORDINALITY AS n(name, place)
  LEFT JOIN projection_checkpoints c ON c.name = n.name
 ORDER BY n.place"""


async def projection_lags(
    conn: Connection, names: Sequence[str] | None = None, *, cap: int | None = None
) -> list[asyncpg.Record]:
    """Per read model (``names``, or every one with a checkpoint), in that order: its
    checkpoint columns and ``behind``, the events not applied yet (at most ``cap``). The
    one lag query: ``projections status`` and the projection-lag metric both use it."""
    return list(await conn.fetch(_LAG, None if names is None else list(names), cap))


async def projection_status(
    db: Database, names: Sequence[str], *, show: int = 20
) -> list[ProjectionStatus]:
    """Each projection's position, lag, errors and (latest ``show``) quarantined events."""
    result = []
    async with db.acquire() as conn:
        for row in await projection_lags(conn, names):
            quarantined = await conn.fetch(
                """SELECT event_id::text, stream_id, stream_version, event_type, error,
                          quarantined_at FROM projection_quarantine WHERE projection = $1
                    ORDER BY tx_id DESC, global_position DESC LIMIT $2""", row["name"], show)
            result.append(ProjectionStatus(
                name=row["name"], tx_id=int(row["tx_id"]),
                global_position=int(row["global_position"]), lag=int(row["behind"]),
                errors=int(row["errors"]), last_error=row["last_error"],
                last_error_at=row["last_error_at"], halted=bool(row["halted"]),
                quarantined=[dict(q) for q in quarantined]))
    return result
