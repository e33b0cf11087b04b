"""The index of restrictive decisions (migration 0020): which case streams hold a decision
that restricts an account, and when it was taken, so the DSA statement-of-reasons export
(`dueprocess export sor`) reads only those cases, by period, never the whole log.

Incremental: each restricting event (a decision or an appeal with a suspension or an
expulsion, an interim suspension imposed or renewed) adds (or, replayed, rewrites) its own
row; no stream is re-read. Rows indexed before appeals and interim suspensions were (issue
15) are completed by a rebuild (`dueprocess projections rebuild`). The row says only that
a statement may be due: the export folds the case and the domain (domain/transparency.py)
decides, so the index cannot drift from the statements' definition, only narrow the cases
read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime

from ..domain.envelope import RecordedEvent
from ..domain.policy import SanctionKind
from ..domain.streams import is_case_stream
from ..domain.transparency import DECISION_ACCOUNT, RESTRICTING_EVENTS
from .db import Connection, Database

RESTRICTING = frozenset(str(kind) for kind in DECISION_ACCOUNT)
PAGE = 500  # case streams per index read: the export holds one page of ids and one case


# Where each restricting event keeps the sanction; an interim suspension is one by nature.
_SANCTION_FIELD = {"DecisionRecorded": "sanction", "AppealDecided": "new_sanction"}


def _restricting_kind(event: RecordedEvent) -> str | None:
    if event.event_type not in RESTRICTING_EVENTS or not is_case_stream(event.stream_id):
        return None
    field = _SANCTION_FIELD.get(event.event_type)
    if field is None:
        return str(SanctionKind.SUSPENSION)  # InterimSuspensionImposed / Renewed
    sanction = event.payload.get(field)
    kind = sanction.get("kind") if isinstance(sanction, dict) else None
    return kind if isinstance(kind, str) and kind in RESTRICTING else None


class RestrictiveDecisionsProjection:
    """One row per decision restricting an account: event id, case stream, time, kind."""

    name = "restrictive_decisions"
    tables: tuple[str, ...] = ("restrictive_decisions",)

    async def apply(self, conn: Connection, store: object,
                    events: Sequence[RecordedEvent]) -> None:
        rows = [(e.event_id, e.stream_id, e.effective_at, kind) for e in events
                if (kind := _restricting_kind(e)) is not None]
        if rows:
            await conn.executemany(
                """INSERT INTO restrictive_decisions (event_id, stream_id, effective_at, kind)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (event_id) DO UPDATE SET stream_id = excluded.stream_id,
                       effective_at = excluded.effective_at, kind = excluded.kind""", rows)


_STREAMS = """
    SELECT DISTINCT stream_id FROM restrictive_decisions
     WHERE ($1::timestamptz IS NULL OR effective_at >= $1)
       AND ($2::timestamptz IS NULL OR effective_at < $2)
       AND ($3::text IS NULL OR stream_id > $3)
     ORDER BY stream_id LIMIT $4"""


async def restricted_streams(
    pool: Database | Connection, start: datetime | None, end: datetime | None,
    *, page: int = PAGE,
) -> AsyncGenerator[str, None]:
    """The case streams with a restrictive decision in ``[start, end)``, in stream-id order,
    read a page at a time (keyset on the stream id)."""
    after: str | None = None
    while True:
        rows = await pool.fetch(_STREAMS, start, end, after, page)
        for row in rows:
            yield row["stream_id"]
        if len(rows) < page:
            return
        after = rows[-1]["stream_id"]
