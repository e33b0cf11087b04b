"""Where the read models stand: each one's checkpoint, the events it has not applied yet,
its errors and quarantined events (`dueprocess projections status`, the lag metrics)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel

from .db import Connection, Database


class ProjectionStatus(BaseModel):
    name: str
    tx_id: int
    global_position: int
    lag: int  # committed events not yet applied
    # How long the oldest of them has waited (since it was recorded); 0 when current.
    lag_seconds: float = 0.0
    # Events applied per second, measured over the status command's window (None: not
    # measured).
    applied_per_second: float | None = None
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
                               LIMIT $2) AS pending) AS behind,
       (SELECT e.data FROM events e
         WHERE (e.tx_id, e.global_position)
               > (coalesce(c.tx_id, 0)::text::xid8, coalesce(c.global_position, 0))
         ORDER BY e.tx_id, e.global_position LIMIT 1) AS first_pending
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


def waited(row: asyncpg.Record, now: datetime) -> float:
    """Seconds the oldest event a read model has not applied has waited since it was
    recorded (0 when current or when its time cannot be read: odd data is reported by the
    projection that meets it, not here)."""
    try:
        recorded = datetime.fromisoformat(orjson.loads(row["first_pending"])["recorded_at"])
        return max(0.0, (now - recorded).total_seconds())
    except Exception:
        return 0.0


# Events between two positions (the first excluded): what a read model applied meanwhile.
_APPLIED = """SELECT count(*) FROM events WHERE (tx_id, global_position) > ($1::text::xid8, $2)
                AND (tx_id, global_position) <= ($3::text::xid8, $4)"""


async def projection_status(
    db: Database, names: Sequence[str], *, show: int = 20, window: float = 0.0
) -> list[ProjectionStatus]:
    """Each projection's position, lag (events, and seconds the oldest has waited), errors
    and (latest ``show``) quarantined events; with a ``window`` (seconds), also the events
    it applied per second, measured over that window."""
    rates: dict[str, float] = {}
    if window > 0:
        async with db.acquire() as conn:
            before = {r["name"]: r for r in await projection_lags(conn, names, cap=0)}
        started = time.monotonic()
        await asyncio.sleep(window)
        async with db.acquire() as conn:
            for row in await projection_lags(conn, names, cap=0):
                was = before[row["name"]]
                applied = await conn.fetchval(
                    _APPLIED, str(was["tx_id"]), was["global_position"], str(row["tx_id"]),
                    row["global_position"])
                rates[row["name"]] = int(applied) / (time.monotonic() - started)
    result = []
    now = datetime.now(UTC)
    async with db.acquire() as conn:
        for row in await projection_lags(conn, names):
            quarantined = await conn.fetch(
                """SELECT event_id::text, stream_id, stream_version, event_type, error,
                          quarantined_at FROM projection_quarantine WHERE projection = $1
                    ORDER BY tx_id DESC, global_position DESC LIMIT $2""", row["name"], show)
            result.append(ProjectionStatus(
                name=row["name"], tx_id=int(row["tx_id"]),
                global_position=int(row["global_position"]), lag=int(row["behind"]),
                lag_seconds=waited(row, now) if row["behind"] else 0.0,
                applied_per_second=rates.get(row["name"]),
                errors=int(row["errors"]), last_error=row["last_error"],
                last_error_at=row["last_error_at"], halted=bool(row["halted"]),
                quarantined=[dict(q) for q in quarantined]))
    return result
