"""Erasure is exact and race-free: it sees every committed event, however long another
transaction stays open, and no case can open between its check and the shredding."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor, Personal
from dueprocess.domain.envelope import NewEvent, envelope_for
from dueprocess.services.records import ErasureBlocked, RecordsClient
from dueprocess.store.eventstore import ErasedSubject, EventStore
from dueprocess.workflows.case import case_stream
from fixtures.case_examples import (
    RESPONDENT_ID,
    T0,
    allegation,
    default_evidence,
    file_report,
    respondent,
)
from fixtures.events import ev, pii

DPO = Actor(id="dpo-1", role="data_protection_officer")


def _report(case_id: str, person_id: str = RESPONDENT_ID) -> list[NewEvent]:
    """The events that open a case against ``person_id``."""
    def theirs(value: Personal) -> Personal:
        return value.model_copy(update={"subject_id": person_id})

    them = respondent().model_copy(update={"person_id": person_id,
                                           "name": theirs(respondent().name), "contact": None})
    command = file_report(
        allegations=[a.model_copy(update={"particulars": theirs(a.particulars)})
                     for a in [allegation()]],
        evidence_items=[e.model_copy(update={"description": theirs(e.description)})
                        for e in default_evidence()],
    ).model_copy(update={"respondent": them})
    events = dc.decide(dc.CaseState.empty(case_id), command, T0)
    return [envelope_for(e, event_id=uuid.uuid4(), recorded_at=datetime.now(UTC),
                         correlation_id=case_id) for e in events]


async def _erase(records: RecordsClient, person_id: str) -> int:
    result = await records.erase_subject(person_id, DPO, reason="Art 17 request",
                                         authority="GDPR Art 17")
    return result.keys_destroyed


async def _live_keys(pool: asyncpg.Pool, person_id: str) -> int:
    return int(await pool.fetchval(
        "SELECT count(*) FROM subject_keys WHERE subject_id = $1 AND destroyed_at IS NULL",
        person_id))


async def _waiting_backend(pool: asyncpg.Pool, other_than: set[int]) -> int:
    """The pid of a backend of this database waiting for an advisory lock."""
    while True:
        pid = await pool.fetchval(
            """SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event = 'advisory'
                  AND NOT (pid = ANY ($1::int[]))""", list(other_than))
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)


async def test_a_case_opened_while_another_transaction_is_open_blocks_erasure(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # Given a transaction that stays open (a worker's projection transaction was enough
    # to blind the gapless reader) and a report filed after it began
    async with pool.acquire() as held, held.transaction():
        await held.fetchval("SELECT pg_current_xact_id()")  # holds the snapshot horizon back
        await store.append(case_stream("c-open"), 0, _report("c-open"))
        assert await store.read_all() == []  # the gapless tail does not see it yet
        records = RecordsClient(store, pool)
        # When the respondent's erasure is asked for, then it is refused, nothing shredded
        with pytest.raises(ErasureBlocked, match="c-open"):
            await _erase(records, RESPONDENT_ID)
        assert await _live_keys(pool, RESPONDENT_ID) == 1
        # and subject access shows the report
        export = await records.export_subject(RESPONDENT_ID, DPO, authority="GDPR Art 15")
        assert "ReportFiled" in {e["event_type"] for e in export["events"]}


async def test_erasure_waits_for_an_append_in_flight_and_then_sees_the_case(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # Given a report against the person being appended in a transaction not yet committed
    async with pool.acquire() as held:
        async with held.transaction():
            await store.pinned(held).append(case_stream("c-race"), 0, _report("c-race"))
            # When the person's erasure starts, then it waits for that append
            erasure = asyncio.create_task(_erase(RecordsClient(store, pool), RESPONDENT_ID))
            await _waiting_backend(pool, {held.get_server_pid()})
            assert not erasure.done()
        # and, once the case is in the log (committed), refuses: nothing is shredded
        with pytest.raises(ErasureBlocked, match="c-race"):
            await erasure
    assert await _live_keys(pool, RESPONDENT_ID) == 1


async def test_an_append_waits_for_an_erasure_under_way_and_is_then_refused(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # Given an erasure holding the person's lock (checking, about to shred)
    async with store.erasure(RESPONDENT_ID) as erasure:
        # When a report against them is appended meanwhile, then it waits
        append = asyncio.create_task(
            EventStore(pool).append(case_stream("c-late"), 0, _report("c-late")))
        await _waiting_backend(pool, set())
        assert not append.done()
        assert await erasure.destroy() == 0  # never keyed: they are marked erased
    # and is refused once the person is erased: no case against them is opened
    with pytest.raises(ErasedSubject, match=RESPONDENT_ID):
        await append
    assert await store.version(case_stream("c-late")) == 0


@pytest.mark.parametrize("seed", range(3))
async def test_concurrent_reports_and_erasures_never_leave_an_open_case_shredded(
    store: EventStore, pool: asyncpg.Pool, seed: int
) -> None:
    people = [f"m-race-{seed}-{n}" for n in range(6)]
    records = RecordsClient(store, pool)

    async def report(person: str) -> str:
        try:
            await EventStore(pool).append(case_stream(f"c-{person}"), 0,
                                          _report(f"c-{person}", person))
            return "opened"
        except ErasedSubject:
            return "refused"

    async def erase(person: str) -> str:
        try:
            await _erase(records, person)
            return "erased"
        except ErasureBlocked:
            return "blocked"

    jobs = []
    for n, person in enumerate(people):  # both orders of starting
        pair = [report(person), erase(person)]
        jobs += pair if (n + seed) % 2 else pair[::-1]
    outcomes = await asyncio.gather(*jobs)
    for person in people:
        opened = await store.version(case_stream(f"c-{person}")) > 0
        live = await _live_keys(pool, person) == 1
        # Either the case opened first and the erasure was refused, or the erasure won
        # and the report was refused: never an open case with its respondent shredded.
        assert (opened and live) or (not opened and not live), (person, outcomes)
    assert set(outcomes) <= {"opened", "refused", "erased", "blocked"}


async def test_a_person_erased_before_anything_was_written_stays_erased(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    assert await store.erase_subject("p-never") == 0
    with pytest.raises(ErasedSubject):
        await store.append("s", 0, [ev(payload={"who": pii("p-never", "Nobody")})])
    await store.append("s", 0, [ev(payload={"who": pii("p-other", "Somebody")})])
    assert await store.version("s") == 1


async def test_the_erasure_lock_is_released_when_the_check_refuses(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append(case_stream("c-1"), 0, _report("c-1"))
    records = RecordsClient(store, pool)
    with pytest.raises(ErasureBlocked):
        await _erase(records, RESPONDENT_ID)
    # The next append naming the person does not wait for a lock left behind.
    await store.append("s", 0, [ev(payload={"who": pii(RESPONDENT_ID, "Bob again")})])
    assert await pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
