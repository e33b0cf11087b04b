"""The transparency statistics from their read model (`dueprocess stats`, the API's /stats,
the console's statistics page): one small row per case summed, no event read. Whole-log
reports read in batches of case streams: memory holds one batch and the counters, never
the log (the statistics folded from the log, which the read model must equal; `export
sor`; the audit replay of every case); and the open cases overdue right now, from the
case list read model."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime

from ..domain.audit import audit_case
from ..domain.audit.model import CaseAudit
from ..domain.envelope import RecordedEvent
from ..domain.statistics import CaseContribution, CaseStatistics, StatisticsBuilder
from ..domain.streams import case_id_of, is_case_stream, notification_stream
from ..store.db import Connection, Database
from ..store.reader import EventReader
from .case_list import overdue_sql

# Case streams per read: a few hundred cases of tens of events each per round trip.
CASES_PER_BATCH = 200


async def case_streams(
    store: EventReader, *, batch: int = CASES_PER_BATCH
) -> AsyncGenerator[tuple[str, list[RecordedEvent]], None]:
    """Each case stream with its events, in stream-id order, read ``batch`` streams at a
    time in one snapshot."""
    async with aclosing(store.stream_batches(is_case_stream, streams=batch)) as batches:
        async for streams in batches:
            for stream_id, events in streams.items():
                yield stream_id, events


async def log_statistics(
    store: EventReader, *, period_from: datetime | None = None,
    period_to: datetime | None = None, batch: int = CASES_PER_BATCH,
) -> CaseStatistics:
    """``case_statistics`` over every case in the log, folded one case at a time."""
    builder = StatisticsBuilder(period_from=period_from, period_to=period_to)
    async with aclosing(case_streams(store, batch=batch)) as cases:
        async for stream_id, events in cases:
            builder.add(stream_id, events)
    return builder.result()


# The period is on the report's date, as StatisticsBuilder reads it ([from, to)); the
# builder checks it again, so this is only the index's help, not a second definition.
_CONTRIBUTIONS = """
    SELECT contribution FROM case_statistics
     WHERE ($1::timestamptz IS NULL OR reported_at >= $1)
       AND ($2::timestamptz IS NULL OR reported_at < $2)"""


async def projected_statistics(
    pool: Database | Connection, *, period_from: datetime | None = None,
    period_to: datetime | None = None,
) -> CaseStatistics:
    """``case_statistics`` summed from the statistics read model: one small row per case
    in the period, no event read or decrypted. As current as the case_statistics
    projection (workers keep it; `dueprocess projections catch-up` brings it up to date);
    ``log_statistics`` is the same answer from the log."""
    builder = StatisticsBuilder(period_from=period_from, period_to=period_to)
    for row in await pool.fetch(_CONTRIBUTIONS, period_from, period_to):
        builder.add_contribution(CaseContribution.model_validate_json(row["contribution"]))
    return builder.result()


async def audit_log(
    store: EventReader, now: datetime, *, batch: int = CASES_PER_BATCH
) -> AsyncGenerator[tuple[str, CaseAudit | Exception], None]:
    """Every case audited (``audit_case``, with its notifications), one batch of cases at a
    time; a case whose stored record cannot be audited yields the error (a finding)."""
    async with aclosing(store.stream_batches(is_case_stream, streams=batch)) as batches:
        async for streams in batches:
            ids = {s: case_id_of(s) or s for s in streams}
            notes: dict[str, list[RecordedEvent]] = {}
            for note in await store.read_streams([notification_stream(i) for i in ids.values()]):
                notes.setdefault(note.stream_id, []).append(note)
            for stream_id, events in streams.items():
                case_id = ids[stream_id]
                result: CaseAudit | Exception
                try:
                    result = audit_case(
                        events, notes.get(notification_stream(case_id), []), now=now)
                except Exception as err:  # odd stored data is a finding, as in `audit case`
                    result = err
                yield case_id, result


# Overdue is judged at read time, as `dueprocess cases --overdue` does: a deadline has
# passed and is still outstanding, escalated or not (services/case_list.py:overdue_sql).
OVERDUE_BY_STAGE = f"""
    SELECT stage, count(*) AS overdue FROM case_list
     WHERE stage <> 'closed' AND {overdue_sql("$1")}
     GROUP BY stage ORDER BY stage"""


async def overdue_by_stage(pool: Database | Connection, now: datetime) -> dict[str, int]:
    """Open cases overdue at ``now`` (a deadline passed and still outstanding), by stage."""
    rows = await pool.fetch(OVERDUE_BY_STAGE, now)
    return {row["stage"]: int(row["overdue"]) for row in rows}


# Backlog ageing (issue 15): how long open cases have sat in their current stage, from the
# case list's stage_entered_at, judged at read time like overdue. A row projected before
# stage_entered_at existed counts as unknown until its case moves or the list is rebuilt.
AGE_BANDS = ("under_7_days", "7_to_28_days", "over_28_days", "unknown")
AGEING_BY_STAGE = """
    SELECT stage,
           count(*) FILTER (WHERE age < interval '7 days') AS under_7_days,
           count(*) FILTER (WHERE age BETWEEN interval '7 days' AND interval '28 days')
               AS "7_to_28_days",
           count(*) FILTER (WHERE age > interval '28 days') AS over_28_days,
           count(*) FILTER (WHERE age IS NULL) AS unknown
      FROM (SELECT stage, $1::timestamptz - stage_entered_at AS age FROM case_list
             WHERE stage <> 'closed') AS open_cases
     GROUP BY stage ORDER BY stage"""


async def ageing_by_stage(pool: Database | Connection,
                          now: datetime) -> dict[str, dict[str, int]]:
    """Open cases by stage, counted by how long they have been in it at ``now``: under 7
    days, 7 to 28 days, over 28 days (and unknown)."""
    rows = await pool.fetch(AGEING_BY_STAGE, now)
    return {row["stage"]: {band: int(row[band]) for band in AGE_BANDS} for row in rows}
