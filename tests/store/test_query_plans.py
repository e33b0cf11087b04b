"""Every query a per-person or per-case read issues uses the indexes, never a scan of the
log: subject access, the open-case check before an erasure, a member's cases and standing,
reading one case, and `audit case`'s reads.

The queries are not copied here: the real operations run on one connection whose query
logger (asyncpg's ``add_query_logger``) records each statement with its arguments, and
each recorded statement that reads ``events`` or ``stream_people`` is then EXPLAINed with
those arguments. The log is real (cases decided by the domain, encrypted, chained, a few
thousand events) and ANALYZEd, so the planner sees realistic statistics; no planner
setting is changed. An index walked whole in order (no index condition, only a filter)
is a scan of the log too and fails the test. Plans, not times: the test holds on a slow
machine.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from dueprocess.domain.base import Actor
from dueprocess.domain.records import access_stream
from dueprocess.domain.streams import case_stream, member_stream, notification_stream
from dueprocess.services.members import MemberService, case_streams_for
from dueprocess.services.record_types import ErasureBlocked
from dueprocess.services.records import RecordsClient
from dueprocess.store.db import Connection, Pinned, Pool
from dueprocess.store.eventstore import EventStore
from fixtures import case_examples as ex
from fixtures.caselog import CLOSED, OPEN, case_appends, joined, people_of

CASES, MEMBERS = 300, 120
AUDITOR = Actor(id="auditor-1", role="auditor")
PERSON = "m-5"  # respondent, complainant and witness in a few cases each
# Statements that read the log or the person index (the rest: keys, heads, appends).
_READS_LOG = re.compile(r"\b(from|join)\s+(events|stream_people)\b", re.IGNORECASE)


@pytest.fixture
async def large_log(pool: Pool, store: EventStore) -> EventStore:
    for n in range(CASES):
        template = OPEN if n % 3 == 0 else CLOSED
        case_id = f"c-{n:04d}"
        for version, events in _versions(case_appends(template, case_id, people_of(n, MEMBERS))):
            await store.append(case_stream(case_id), version, events)
    for m in range(MEMBERS):
        await store.append(member_stream(f"m-{m}"), 0, joined(f"m-{m}"))
    await pool.execute("ANALYZE")
    return store


def _versions(appends: list[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    version = 0
    for events in appends:
        yield version, events
        version += len(events)


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


_INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


async def _scans(conn: Connection, sql: str, args: tuple[Any, ...]) -> list[
        tuple[str, str]]:
    """(node type, relation) of every scan of a table in the plan of ``sql``; an index
    scan without an index condition (a whole index walked in order) counts as a
    "Full Index Scan"."""
    raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    [top] = orjson.loads(raw)
    return [("Full Index Scan" if n["Node Type"] in _INDEX_SCANS and "Index Cond" not in n
             else n["Node Type"], n.get("Relation Name", "")) for n in _nodes(top["Plan"])
            if "Relation Name" in n or n["Node Type"] in _INDEX_SCANS]


Operation = Callable[[EventStore, Pinned], Awaitable[object]]


async def _subject_access(store: EventStore, db: Pinned) -> object:
    return await RecordsClient(store, db).events_concerning(PERSON)


async def _erasure_check(store: EventStore, db: Pinned) -> object:
    # PERSON is named in open cases: the check reads their streams and refuses.
    with pytest.raises(ErasureBlocked):
        await RecordsClient(store, db).erase_subject(PERSON, AUDITOR, reason="asked",
                                                     authority="gdpr#art17")
    return await RecordsClient(store, db).open_cases_of(PERSON)


async def _members_cases(store: EventStore, db: Pinned) -> object:
    return await case_streams_for(db, PERSON)


async def _standing(store: EventStore, db: Pinned) -> object:
    policy = ex.example_policy()
    return await MemberService(store, policy).standing(
        PERSON, policy, datetime.now(UTC), case_streams=await case_streams_for(db, PERSON))


async def _read_case(store: EventStore, db: Pinned) -> object:
    await RecordsClient(store, db).read_case_file("c-0005", AUDITOR, purpose="audit",
                                                  authority="audit#annual")
    return await RecordsClient(store, db).access_log("c-0005")


async def _audit_case(store: EventStore, db: Pinned) -> object:
    # What `dueprocess audit case` reads: the case and its notifications.
    return (await store.read_stream(case_stream("c-0005")),
            await store.read_stream(notification_stream("c-0005")),
            await store.read_stream(access_stream("c-0005")))


OPERATIONS: dict[str, Operation] = {
    "subject access": _subject_access, "erasure open-case check": _erasure_check,
    "member's cases": _members_cases, "member standing": _standing,
    "read one case": _read_case, "audit case": _audit_case,
}


async def test_per_person_and_per_case_reads_use_the_indexes(
    pool: Pool, large_log: EventStore
) -> None:
    assert await pool.fetchval("SELECT count(*) FROM events") >= 3_000
    async with pool.acquire() as conn:
        for operation in OPERATIONS:  # one log for all: building it is the slow part
            # given the operation run for real on one connection, its statements recorded
            issued = await _issued(conn, large_log, OPERATIONS[operation])
            assert issued, f"{operation}: no statement read the log"
            # when each is explained with its own arguments
            for sql, args in issued:
                scans = await _scans(conn, sql, args)
                # then none scans the log or the index whole, and the log is read by index
                assert ("Seq Scan", "events") not in scans, (operation, sql, scans)
                assert ("Seq Scan", "stream_people") not in scans, (operation, sql, scans)
                assert all(kind != "Full Index Scan" for kind, _ in scans), (
                    operation, sql, scans)
                on_events = [kind for kind, table in scans if table == "events"]
                assert all(k in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
                           for k in on_events), (operation, sql, scans)


async def _issued(conn: Connection, store: EventStore,
                  operation: Operation) -> list[tuple[str, tuple[Any, ...]]]:
    """The distinct statements reading the log or the index that ``operation`` issued."""
    issued: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = {}

    def record(query: Any) -> None:
        if _READS_LOG.search(query.query):
            issued[query.query, repr(query.args)] = (query.query, tuple(query.args))

    conn.add_query_logger(record)
    try:
        await operation(store.pinned(conn), Pinned(conn))
        await asyncio.sleep(0)  # asyncpg calls query loggers soon after, not at once
    finally:
        conn.remove_query_logger(record)
    return list(issued.values())
