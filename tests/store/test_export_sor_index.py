"""The DSA statement-of-reasons export reads only the cases with a restrictive decision in
the period, from the restrictive_decisions index (store/projections_sor.py), and writes
exactly what a scan of every case would.

Given cases decided with a suspension (at two different times), with a warning only, and
one undecided, in a real store; when the index is caught up and periods are asked, then
only the cases with a suspension decided in the period are read, the statements equal the
full scan's for every period, and the index's query can use its index.
"""

from __future__ import annotations

import uuid
from contextlib import aclosing
from datetime import datetime, timedelta
from typing import Any

from dueprocess.domain.case import CaseState, Sanction, ScheduleHearing, decide, evolve
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.policy import SanctionKind
from dueprocess.domain.streams import case_id_of, case_stream
from dueprocess.domain.transparency import statements_of_reasons
from dueprocess.services.statistics import case_streams
from dueprocess.store.db import Pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projection_runner import ProjectionRunner
from dueprocess.store.projections_sor import RestrictiveDecisionsProjection, restricted_streams
from fixtures import case_examples as ex

SUSPENSION = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=30))
LATER = timedelta(days=400)


async def _decided(store: EventStore, case_id: str, sanction: Sanction, shift: timedelta,
                   steps: int = 11) -> None:
    """The example case up to its decision (``steps`` of it), every time moved by ``shift``."""
    state, envelopes = CaseState.empty(case_id), []
    for step in ex.happy_path(sanction)[:steps]:
        command = step.command
        if isinstance(command, ScheduleHearing):
            command = command.model_copy(update={"at": command.at + shift})
        for event in decide(state, command, step.now + shift):
            state = evolve(state, event)
            envelopes.append(envelope_for(event, event_id=uuid.uuid4(),
                                          recorded_at=step.now + shift))
    await store.append(case_stream(case_id), 0, envelopes)


async def _indexed(pool: Pool, start: datetime | None, end: datetime | None,
                   page: int = 500) -> list[str]:
    async with aclosing(restricted_streams(pool, start, end, page=page)) as streams:
        return [s async for s in streams]


async def _exported(pool: Pool, store: EventStore, start: datetime | None,
                    end: datetime | None) -> list[dict[str, Any]]:
    """What `export sor` prints: the indexed cases' statements, in stream-id order."""
    found = []
    for stream_id in await _indexed(pool, start, end):
        events = await store.read_stream(stream_id)
        found += statements_of_reasons(case_id_of(stream_id) or stream_id, events,
                                       start=start, end=end)
    return found


async def _scanned(store: EventStore, start: datetime | None,
                   end: datetime | None) -> list[dict[str, Any]]:
    """What the export printed before the index: every case stream read and folded."""
    found = []
    async with aclosing(case_streams(store)) as cases:
        async for stream_id, events in cases:
            found += statements_of_reasons(case_id_of(stream_id) or stream_id, events,
                                           start=start, end=end)
    return found


async def test_the_export_reads_only_the_restricted_cases_of_the_period(
    pool: Pool, store: EventStore,
) -> None:
    # Given two suspensions a year apart, a warning, and a case not yet decided
    await _decided(store, "sor-early", SUSPENSION, timedelta(0))
    await _decided(store, "sor-late", SUSPENSION, LATER)
    await _decided(store, "sor-warned", ex.WARNING, timedelta(0))
    await _decided(store, "sor-open", SUSPENSION, timedelta(0), steps=8)
    # When the index is caught up (incrementally: a second catch-up has nothing to do)
    runner = ProjectionRunner(pool, store, [RestrictiveDecisionsProjection()])
    assert await runner.catch_up() > 0 and await runner.catch_up() == 0
    early, late = ex.DECIDED_AT, ex.DECIDED_AT + LATER
    # Then each period names only the cases with a suspension decided in it
    periods: list[tuple[datetime | None, datetime | None, list[str]]] = [
        (None, None, ["case-sor-early", "case-sor-late"]),
        (early, early + timedelta(seconds=1), ["case-sor-early"]),
        (early + timedelta(seconds=1), None, ["case-sor-late"]),
        (None, early, []),
        (late, late + timedelta(days=1), ["case-sor-late"]),
        (late + timedelta(seconds=1), None, []),
    ]
    for start, end, streams in periods:
        assert await _indexed(pool, start, end) == streams, (start, end)
        # and the statements are exactly those a scan of every case gives
        assert await _exported(pool, store, start, end) == await _scanned(store, start, end)
    # and the index is read a page at a time, in the same order
    assert await _indexed(pool, None, None, page=1) == ["case-sor-early", "case-sor-late"]
    assert [s["decision_account"] for s in await _exported(pool, store, None, None)] == [
        "DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_SUSPENDED"]


async def test_the_period_query_can_use_its_index(pool: Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("SET enable_seqscan = off")  # a tiny table: ask whether it can
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT DISTINCT stream_id FROM restrictive_decisions "
            "WHERE effective_at >= $1 AND effective_at < $2 ORDER BY stream_id LIMIT 500",
            ex.DECIDED_AT, ex.DECIDED_AT + LATER))
        await conn.execute("RESET enable_seqscan")
    assert "restrictive_decisions_effective_idx" in plan, plan
