"""The person index (migration 0013): the append lists every stream under each person its
events name (from the types), so subject access, the erasure check and a member's cases
read only the person's streams. On a larger log the plans use the indexes (no scan of
events), and the answers equal those of a scan of the whole log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import asyncpg
import orjson
import pytest
from dueprocess.domain.base import Actor
from dueprocess.domain.ids import ITEM, VALUE, Path
from dueprocess.domain.people import document_people
from dueprocess.domain.records import STORED_EVENT_MODELS, person_paths
from dueprocess.services.members import CASE_STREAMS, case_streams_for
from dueprocess.services.records import RecordsClient
from dueprocess.services.redaction import concerns
from dueprocess.store.eventstore import EventStore
from dueprocess.store.reader import PERSON_STREAMS, STREAMS_SCAN
from fixtures.events import ev, pii

SYSTEM = Actor(id="dueprocess", role="system", kind="system")


def placed(path: Path, value: str) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == ITEM:
        return [placed(rest, value)]
    if head == VALUE:
        return {"any-key": placed(rest, value)}
    return {head: placed(rest, value)}


PLACES = sorted((name, path) for name in STORED_EVENT_MODELS for path in person_paths(name))


async def _indexed(pool: asyncpg.Pool, person: str) -> set[str]:
    return {r["stream_id"] for r in await pool.fetch(PERSON_STREAMS, person)}


async def test_every_person_id_field_the_actor_and_data_subjects_are_indexed(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given one event per PersonId field of every event type, naming a person only there
    for i, (event_type, path) in enumerate(PLACES):
        await store.append(f"s-{i}", 0, [ev(event_type, placed(path, f"p-{i}"), actor=SYSTEM)])
    # and one naming a person only as its actor, one only as a data subject
    await store.append("by-actor", 0, [ev(actor=Actor(id="p-actor", role="case_officer"))])
    await store.append("sealed", 0, [ev(payload={"x": pii("p-sealed", "Ada")}, actor=SYSTEM)])
    # then each stream is listed under exactly its person, and nobody lists the system
    for i in range(len(PLACES)):
        assert await _indexed(pool, f"p-{i}") == {f"s-{i}"}, PLACES[i]
    assert await _indexed(pool, "p-actor") == {"by-actor"}
    assert await _indexed(pool, "p-sealed") == {"sealed"}
    assert await _indexed(pool, "dueprocess") == set()


async def test_the_sql_derivation_for_old_workers_and_the_backfill_finds_at_least_the_types(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given events naming people in every way the types know
    for i, (event_type, path) in enumerate(PLACES):
        await store.append(f"s-{i}", 0, [ev(event_type, placed(path, f"p-{i}"))])
    await store.append("sealed", 0, [ev(payload={"x": pii("p-sealed", "Ada")})])
    # then what the SQL derives from each stored document (used by pre-0013 workers'
    # appends and the backfill) includes everyone the types name
    for row in await pool.fetch("SELECT data, dueprocess_people_in("
                                "convert_from(data, 'UTF8')::jsonb) AS people FROM events"):
        assert set(document_people(orjson.loads(row["data"]))) <= set(row["people"])


async def test_an_append_through_the_pre_0013_signature_is_indexed(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given an event stored by this release, and its bytes replayed into another stream
    # through the 11-argument append an older worker calls
    await store.append("src", 0, [ev("ReportFiled", {"respondent": {"person_id": "p-old"}})])
    row = await pool.fetchrow("SELECT data, hash FROM events WHERE stream_id = 'src'")
    assert row is not None
    await pool.fetch(
        "SELECT * FROM dueprocess_append('old', 0, ''::bytea, $1, $2, $3, $4, '{}', '{}', "
        "'{}', '{}')", [uuid.uuid4()], ["ReportFiled"], [row["data"]], [row["hash"]])
    # then the stream is indexed under the person all the same
    assert await _indexed(pool, "p-old") == {"src", "old"}


# -- a larger log ------------------------------------------------------------------------

CASES, MEMBERS, STAFF = 400, 100, 10


def _case_events(i: int) -> list[Any]:
    respondent, complainant = f"m-{i % MEMBERS}", f"m-{(i * 7 + 3) % MEMBERS}"
    staff = Actor(id=f"staff-{i % STAFF}", role="case_officer")
    report = ev("ReportFiled", {"respondent": {"person_id": respondent},
                                "complainant": {"person_id": complainant},
                                "summary": pii(respondent, "said something")},
                actor=Actor(id=complainant, role="complainant"))
    rest = [ev("Noted", {"n": n}, actor=staff) for n in range(7)]
    return [report, *rest]


@pytest.fixture
async def large_log(pool: asyncpg.Pool, store: EventStore) -> EventStore:
    for i in range(CASES):
        await store.append(f"case-c{i}", 0, _case_events(i))
    for m in range(MEMBERS):
        await store.append(f"member-m-{m}", 0, [ev("MemberJoined", {"member_id": f"m-{m}"})])
    await pool.execute("ANALYZE events; ANALYZE stream_people")
    return store


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _scans(pool: asyncpg.Pool, sql: str, *args: Any) -> list[tuple[str, str]]:
    """(node type, relation) of every scan the plan of ``sql`` makes."""
    raw = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    [top] = orjson.loads(raw)
    return [(n["Node Type"], n["Relation Name"]) for n in _nodes(top["Plan"])
            if "Relation Name" in n]


async def test_per_person_queries_use_the_indexes_on_a_larger_log(
    pool: asyncpg.Pool, large_log: EventStore
) -> None:
    assert await pool.fetchval("SELECT count(*) FROM events") >= 3_000
    person = "m-5"
    streams = await large_log.person_streams(person)
    plans = {
        "person streams": await _scans(pool, PERSON_STREAMS, person),
        "their events": await _scans(pool, STREAMS_SCAN, streams),
        "member's cases": await _scans(pool, CASE_STREAMS, person),
    }
    for name, scans in plans.items():
        assert ("Seq Scan", "events") not in scans, (name, scans)
        assert ("Seq Scan", "stream_people") not in scans, (name, scans)
        assert scans, name


def _whole_log_keep(person_id: str) -> Any:
    """Subject access as it was before the index: judged over every event of the log."""
    own: set[str] = set()

    def keep(stream_id: str, doc: Mapping[str, Any]) -> bool:
        payload = doc["payload"]
        if (doc["event_type"] == "ReportFiled"
                and (payload.get("respondent") or {}).get("person_id") == person_id):
            own.add(stream_id)
        return stream_id in own or concerns(doc, person_id)
    return keep


@pytest.mark.parametrize("person", ["m-5", "m-42", "staff-3", "nobody"])
async def test_indexed_answers_equal_a_scan_of_the_whole_log(
    pool: asyncpg.Pool, large_log: EventStore, person: str
) -> None:
    records = RecordsClient(large_log, pool)
    indexed = await records.events_concerning(person)
    scanned = await large_log.select_all(_whole_log_keep(person))
    assert [e.event_id for e in indexed] == [e.event_id for e in scanned]
    whole = await pool.fetch(
        """SELECT DISTINCT stream_id FROM events WHERE event_type = 'ReportFiled'
             AND convert_from(data, 'UTF8')::jsonb #>> '{payload,respondent,person_id}' = $1
            ORDER BY stream_id""", person)
    assert await case_streams_for(pool, person) == [r["stream_id"] for r in whole]
    if person == "m-5":
        # their own cases whole, their joining, and the reports they filed
        assert len(indexed) == 8 * (CASES // MEMBERS) + 1 + CASES // MEMBERS
