"""Contract suite for the event store, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import pytest
from dueprocess.domain.base import Actor, ActorKind
from dueprocess.domain.encoding import Upcasters, canonical_json
from dueprocess.domain.envelope import NewEvent, Position
from dueprocess.store import crypto
from dueprocess.store.db import create_pool
from dueprocess.store.eventstore import (
    ConcurrencyConflict,
    ErasedSubject,
    EventIdConflict,
    EventStore,
    envelope_document,
)
from dueprocess.store.verify import verify_store
from fixtures.events import T0, CountingPool, ev, pii

# -- append, versions, metadata ----------------------------------------------------------


async def test_append_and_read_back_with_full_envelope(store: EventStore) -> None:
    detector = Actor(id="detector-1", role="detector", kind=ActorKind.AUTOMATED)
    first = ev("ReportFiled", {"rule": "R2"}, actor=detector, correlation_id="corr-1",
               causation_id="cmd-1", workflow_id="case-abc", run_id="run-1",
               effective_at=datetime(2026, 2, 20, tzinfo=UTC))
    result = await store.append("case-abc", 0, [first, ev()])
    assert result.version == 2 and len(result.global_positions) == 2

    events = await store.read_stream("case-abc")
    assert [e.stream_version for e in events] == [1, 2]
    got = events[0]
    assert got.event_id == first.event_id and got.event_type == "ReportFiled"
    assert got.actor == detector and got.authority == "policy:2023.1#s4"
    assert (got.correlation_id, got.causation_id) == ("corr-1", "cmd-1")
    assert (got.workflow_id, got.run_id) == ("case-abc", "run-1")
    assert got.recorded_at == T0 and got.effective_at == datetime(2026, 2, 20, tzinfo=UTC)
    assert got.payload == {"rule": "R2"}
    assert await store.version("case-abc") == 2


async def test_stale_expected_version_conflicts_and_writes_nothing(store: EventStore) -> None:
    await store.append("s", 0, [ev()])
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append("s", 0, [ev(), ev()])
    assert caught.value.stream_id == "s" and "expected version 0" in str(caught.value)
    assert len(await store.read_stream("s")) == 1


async def test_two_appends_at_one_version_exactly_one_wins(store: EventStore) -> None:
    await store.append("race", 0, [ev()])
    for _ in range(5):
        version = await store.version("race")
        outcomes = await asyncio.gather(
            *(store.append("race", version, [ev(payload={"w": w})]) for w in range(6)),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        losers = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(o, ConcurrencyConflict) for o in losers)
    assert await store.version("race") == 6


async def test_two_first_appends_to_a_new_stream_exactly_one_wins(store: EventStore) -> None:
    outcomes = await asyncio.gather(
        *(store.append("fresh", 0, [ev()]) for _ in range(6)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, ConcurrencyConflict) for o in outcomes if isinstance(o, Exception))


# -- idempotency -------------------------------------------------------------------------


async def test_retried_batch_is_idempotent(store: EventStore) -> None:
    batch = [ev(payload={"who": pii("p-1", "Ada Lovelace")}), ev()]
    first = await store.append("s", 0, batch)
    await store.append("s", 2, [ev()])  # the stream moves on before the retry arrives
    retry = await store.append("s", 0, batch)
    assert retry.global_positions == first.global_positions
    assert len(await store.read_stream("s")) == 3


async def test_same_event_id_with_other_content_is_refused(store: EventStore) -> None:
    original = ev(payload={"n": 1})
    await store.append("s", 0, [original])
    tampered = original.model_copy(update={"payload": {"n": 2}})
    with pytest.raises(EventIdConflict):
        await store.append("s", 0, [tampered])
    with pytest.raises(EventIdConflict):
        await store.append("s", 1, [tampered])
    with pytest.raises(EventIdConflict):
        await store.append("other", 0, [original])
    assert [e.payload for e in await store.read_stream("s")] == [{"n": 1}]


async def test_bad_input_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="recorded_at"):
        ev(recorded_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="authority"):
        ev(authority="")


# -- gapless global order ----------------------------------------------------------------


async def test_tailing_reader_sees_every_event_once_under_8_writers(store: EventStore) -> None:
    writers, batches, per_batch = 8, 75, 10  # 6,000 events
    done = asyncio.Event()
    seen: list[uuid.UUID] = []

    async def write(w: int) -> None:
        for b in range(batches):
            await store.append(f"w{w}", b * per_batch, [ev() for _ in range(per_batch)])

    async def tail() -> None:
        position = Position()
        while True:
            finished = done.is_set()
            page = await store.read_all(position, limit=500)
            seen.extend(e.event_id for e in page)
            if page:
                position = page[-1].position
            elif finished:
                return
            else:
                await asyncio.sleep(0.001)

    reader = asyncio.create_task(tail())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    await reader
    assert len(seen) == writers * batches * per_batch
    assert len(set(seen)) == len(seen)


async def test_read_all_waits_for_an_older_open_transaction(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        await slow.execute("SELECT pg_current_xact_id()")  # takes a transaction id first
        await store.append("fast", 0, [ev()])
        # The fast writer committed, but an older transaction is open: not yet readable.
        assert await store.read_all() == []
        await tx.rollback()
    assert len(await store.read_all()) == 1


# -- append-only -------------------------------------------------------------------------


async def test_update_delete_truncate_are_refused(store: EventStore, pool: asyncpg.Pool) -> None:
    await store.append("s", 0, [ev()])
    for sql in ("UPDATE events SET event_type = 'X'", "DELETE FROM events",
                "TRUNCATE events"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await pool.execute(sql)
    assert len(await store.read_stream("s")) == 1


async def test_application_role_may_only_insert_and_select(
    store: EventStore, pool: asyncpg.Pool, db_dsn: str
) -> None:
    await store.append("s", 0, [ev()])
    login = f"app_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE ROLE {login} LOGIN IN ROLE dueprocess_app")
    try:
        conn = await asyncpg.connect(db_dsn, user=login)
        try:
            app_store_pool = await asyncpg.create_pool(db_dsn, user=login, min_size=1, max_size=2)
            assert app_store_pool is not None
            app_store = EventStore(app_store_pool)
            await app_store.append("s", 1, [ev(payload={"who": pii("p-2", "Bo")})])
            assert len(await app_store.read_stream("s")) == 2
            await app_store_pool.close()
            for sql in ("UPDATE events SET event_type = 'X'", "DELETE FROM events"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DROP TABLE events")
        finally:
            await conn.close()
    finally:
        await pool.execute(f"DROP OWNED BY {login}")
        await pool.execute(f"DROP ROLE {login}")


# -- tamper evidence ---------------------------------------------------------------------


async def _tamper(pool: asyncpg.Pool, *statements: str) -> None:
    """Simulate an attacker with owner rights who disables the guard triggers."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        for sql in statements:
            await conn.execute(sql)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")


async def _three_streams(store: EventStore) -> None:
    for s in ("a", "b", "c"):
        await store.append(s, 0, [ev(payload={"n": n}) for n in range(1, 6)])


async def test_verify_passes_on_an_intact_store(store: EventStore, pool: asyncpg.Pool) -> None:
    await _three_streams(store)
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert report.ok and (report.streams, report.events) == (3, 15)


async def test_verify_names_an_edited_event(store: EventStore, pool: asyncpg.Pool) -> None:
    await _three_streams(store)
    await _tamper(pool, """UPDATE events SET data = convert_to(
        replace(convert_from(data, 'UTF8'), '"n":3', '"n":9'), 'UTF8')
        WHERE stream_id = 'b' AND stream_version = 3""")
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert [(p.stream_id, p.stream_version, p.kind) for p in report.problems] == [
        ("b", 3, "altered")]


async def test_verify_names_a_deleted_event(store: EventStore, pool: asyncpg.Pool) -> None:
    await _three_streams(store)
    await _tamper(pool, "DELETE FROM events WHERE stream_id = 'a' AND stream_version = 2",
                  "DELETE FROM events WHERE stream_id = 'c' AND stream_version = 5")
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert [(p.stream_id, p.stream_version, p.kind) for p in report.problems] == [
        ("a", 3, "removed"), ("c", 5, "removed")]
    assert "2 missing" in report.problems[0].detail


async def test_verify_names_swapped_events(store: EventStore, pool: asyncpg.Pool) -> None:
    await _three_streams(store)
    await _tamper(pool, """UPDATE events SET stream_version = CASE stream_version
        WHEN 2 THEN 1004 WHEN 4 THEN 1002 END WHERE stream_id = 'b' AND stream_version IN (2, 4)""",
        "UPDATE events SET stream_version = stream_version - 1000 WHERE stream_version > 1000")
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    flagged = {(p.stream_id, p.stream_version, p.kind) for p in report.problems}
    assert {("b", 2, "reordered"), ("b", 4, "reordered")} <= flagged
    assert all(p.stream_id == "b" for p in report.problems)


# -- personal data and erasure -----------------------------------------------------------


async def test_personal_data_is_encrypted_at_rest(store: EventStore, pool: asyncpg.Pool) -> None:
    await store.append("s", 0, [ev(payload={"name": pii("p-1", "Jane Marple")})])
    raw = await pool.fetchval("SELECT convert_from(data, 'UTF8') FROM events")
    assert "Jane Marple" not in raw
    [got] = await store.read_stream("s")
    assert got.payload["name"] == {"pii": True, "subject_id": "p-1", "value": "Jane Marple",
                                   "erased": False}


async def test_erasure_redacts_and_the_chain_still_verifies(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("s", 0, [
        ev(payload={"name": pii("p-1", "Jane"), "witness": pii("p-2", "Hercule")}),
        ev(payload={"posts": [pii("p-1", "post text")]}),
    ])
    assert await store.erase_subject("p-1") == 1
    first, second = await store.read_stream("s")
    assert first.payload["name"] == {"pii": True, "subject_id": "p-1", "value": None,
                                     "erased": True}
    assert first.payload["witness"]["value"] == "Hercule"
    assert second.payload["posts"][0]["erased"] is True
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok
    # An erased person stays erased: nothing about them is written again, no new key.
    with pytest.raises(ErasedSubject, match="p-1"):
        await store.append("s", 2, [ev(payload={"name": pii("p-1", "Jane again")})])
    assert await store.version("s") == 2
    key_ids = await pool.fetch("SELECT key_id FROM subject_keys WHERE subject_id = 'p-1'")
    assert len(key_ids) == 1
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("DELETE FROM subject_keys")


# -- upcasting ---------------------------------------------------------------------------


async def test_old_shape_reads_back_as_current_shape(pool: asyncpg.Pool) -> None:
    upcasters = Upcasters()

    @upcasters.register("HearingScheduled", 1)
    def _v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
        return {"at": p["when"], "venue": "unknown"}

    @upcasters.register("HearingScheduled", 2)
    def _v2_to_v3(p: dict[str, Any]) -> dict[str, Any]:
        return {**p, "remote": False}

    await EventStore(pool).append("s", 0, [ev("HearingScheduled", {"when": "2026-04-01"})])
    [got] = await EventStore(pool, upcasters=upcasters).read_stream("s")
    assert got.schema_version == 3
    assert got.payload == {"at": "2026-04-01", "venue": "unknown", "remote": False}


async def test_two_writers_alternating_on_a_stream_keep_one_valid_chain(
    pool: asyncpg.Pool,
) -> None:
    first, second = EventStore(pool), EventStore(pool)  # separate head caches
    for version in range(0, 8, 2):
        await first.append("shared", version, [ev()])
        await second.append("shared", version + 1, [ev()])
    with pytest.raises(ConcurrencyConflict):
        await first.append("shared", 6, [ev()])  # its cached head is stale
    assert await first.version("shared") == 8
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


# -- reviewed defects --------------------------------------------------------------------


async def test_verify_flags_a_chained_event_inserted_beyond_the_head(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # The application role may INSERT into events: a forger can chain a row correctly, but
    # only the append function moves the stream head.
    await store.append("s", 0, [ev(), ev()])
    prev = await pool.fetchval("SELECT hash FROM events WHERE stream_id = 's' "
                               "AND stream_version = 2")
    forged = [ev(payload={"forged": n}) for n in (1, 2)]
    for version, event in enumerate(forged, start=3):
        doc = canonical_json(envelope_document("s", version, event, dict(event.payload)))
        prev = hashlib.sha256(bytes(prev) + doc).digest()
        await pool.execute(
            """INSERT INTO events (stream_id, stream_version, event_id, event_type, data, hash)
               VALUES ('s', $1, $2, $3, $4, $5)""",
            version, event.event_id, event.event_type, doc, prev,
        )
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert [(p.stream_id, p.stream_version, p.kind, p.event_id) for p in report.problems] == [
        ("s", 3, "altered", str(forged[0].event_id)),
        ("s", 4, "altered", str(forged[1].event_id)),
    ]
    assert all("beyond the recorded stream head" in p.detail for p in report.problems)


async def test_verify_flags_a_head_hash_that_differs_from_the_chain(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("s", 0, [ev(), ev()])
    await pool.execute("UPDATE streams SET head_hash = '\\x00'::bytea WHERE stream_id = 's'")
    async with pool.acquire() as conn:
        report = await verify_store(conn)
    assert [(p.stream_id, p.stream_version, p.kind) for p in report.problems] == [
        ("s", 2, "altered")]


async def test_a_key_erased_by_another_store_is_not_used_for_new_events(
    pool: asyncpg.Pool,
) -> None:
    worker, dpo = EventStore(pool), EventStore(pool)  # e.g. two processes
    await worker.append("m-1", 0, [ev(payload={"name": pii("p-1", "Alice")})])
    old_key = await pool.fetchval("SELECT key_id FROM subject_keys WHERE subject_id = 'p-1'")
    assert await dpo.erase_subject("p-1") == 1
    # The worker's key cache still holds the destroyed key: refused, and no new key is
    # made for the erased person either.
    with pytest.raises(ErasedSubject, match="p-1"):
        await worker.append("m-2", 0, [ev(payload={"name": pii("p-1", "Alice again"),
                                                   "other": pii("p-2", "Bob")})])
    assert await dpo.version("m-2") == 0
    assert await pool.fetchval(
        "SELECT array_agg(key_id) FROM subject_keys WHERE subject_id = 'p-1'") == [old_key]
    await worker.append("m-2", 0, [ev(payload={"other": pii("p-2", "Bob")})])
    [back] = await dpo.read_stream("m-2")
    assert back.payload["other"]["value"] == "Bob"
    [first] = await dpo.read_stream("m-1")
    assert first.payload["name"]["erased"] is True
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_a_retry_of_an_erased_subjects_batch_still_returns_the_stored_positions(
    pool: asyncpg.Pool,
) -> None:
    # Already stored: the function answers from the stored rows before it looks at keys.
    worker, dpo = EventStore(pool), EventStore(pool)
    batch = [ev(payload={"name": pii("p-1", "Alice")})]
    first = await worker.append("m", 0, batch)
    await dpo.erase_subject("p-1")
    retry = await worker.append("m", 0, batch)
    assert retry.global_positions == first.global_positions


async def test_concurrent_first_appends_about_one_new_subject_all_succeed(
    pool: asyncpg.Pool,
) -> None:
    for round_ in range(5):
        subject = f"person-{round_}"
        stores = [EventStore(pool) for _ in range(8)]
        results = await asyncio.gather(*(
            s.append(f"k-{round_}-{i}", 0, [ev(payload={"name": pii(subject, f"A{i}")})])
            for i, s in enumerate(stores)
        ))
        assert all(r.version == 1 for r in results)
        assert await pool.fetchval(
            "SELECT count(*) FROM subject_keys WHERE subject_id = $1", subject) == 1
        for i in range(8):
            [got] = await stores[0].read_stream(f"k-{round_}-{i}")
            assert got.payload["name"]["value"] == f"A{i}"


async def test_first_key_committed_while_the_lookup_waits_is_found(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # Deterministic form of the race above: the lookup's INSERT waits on another
    # transaction's first key for the subject; its own snapshot cannot see that key.
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "INSERT INTO subject_keys (subject_id, key_material) VALUES ('p-9', $1)",
            crypto.new_key(),
        )
        task = asyncio.create_task(store.append("k", 0, [ev(payload={"n": pii("p-9", "Z")})]))
        await asyncio.sleep(0.3)
        assert not task.done()
        await tx.commit()
    assert (await task).version == 1
    [got] = await store.read_stream("k")
    assert got.payload["n"]["value"] == "Z"




async def test_a_retry_on_another_store_does_not_poison_its_head_cache(
    pool: asyncpg.Pool,
) -> None:
    a = EventStore(pool)
    counting = CountingPool(pool)
    b = EventStore(cast(asyncpg.Pool, counting))
    await a.append("h", 0, [ev()])
    batch = [ev(), ev()]
    first = await a.append("h", 1, batch)
    retry = await b.append("h", 1, batch)  # the same batch retried on another worker
    assert retry.global_positions == first.global_positions and retry.version == 3
    counting.fetches = 0
    assert (await b.append("h", 3, [ev()])).version == 4
    assert counting.fetches == 1  # the head read during the retry is the real one
    counting.fetches = 0
    assert (await b.append("h", 4, [ev()])).version == 5
    assert counting.fetches == 1
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_every_attempt_maps_violations_after_a_stale_head(pool: asyncpg.Pool) -> None:
    a, b = EventStore(pool), EventStore(pool)
    await a.append("h", 0, [ev()])
    await b.append("h", 1, [ev()])
    await a.append("h", 2, [ev()])
    # b's cached head claims the current version with a wrong hash (as a poisoned cache
    # did): the function refuses the chain's start, b refreshes the head, and another
    # writer moves the stream on before b's second attempt. That attempt's conflict must be
    # mapped like the first's.
    b._heads["h"] = (3, b"\x00" * 32)
    original = b._prepare
    calls = 0

    async def prepare_then_race(
        stream_id: str, expected: int, subjects: set[str]
    ) -> Any:
        nonlocal calls
        calls += 1
        out = await original(stream_id, expected, subjects)
        if calls == 2:
            await a.append("h", 3, [ev()])
        return out

    b._prepare = prepare_then_race  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyConflict):
        await b.append("h", 3, [ev()])
    assert calls == 2 and await a.version("h") == 4
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


# -- upgrade from the plpgsql append (migration 0005) to the lean one (0006) ---------------


async def test_events_written_before_0006_read_verify_extend_and_retry(empty_dsn: str) -> None:
    from dueprocess.store.migrations import bundled_migrations, migrate

    conn = await asyncpg.connect(empty_dsn)
    try:
        await migrate(conn, [m for m in bundled_migrations() if m.version <= 5])
        material = crypto.new_key()
        key_id = await conn.fetchval(
            "INSERT INTO subject_keys (subject_id, key_material) VALUES ('p-1', $1) "
            "RETURNING key_id", material)
        key = crypto.SubjectKey(key_id, material)
        batch = [ev(payload={"who": pii("p-1", "Ada")}), ev()]
        # The bytes the 0005-era client wrote: string ids and times, hmac nonces.
        docs = []
        for version, event in enumerate(batch, start=1):
            doc = envelope_document("old", version, event,
                                    crypto.seal(event.payload, str(event.event_id), {"p-1": key},
                                                crypto.CIPHER_GCM_HMAC_NONCE))
            doc |= {"event_id": str(event.event_id),
                    "recorded_at": event.recorded_at.isoformat(),
                    "effective_at": event.effective_at.isoformat()}
            docs.append(canonical_json(doc))
        hashes, link = [], b""
        for raw in docs:
            link = hashlib.sha256(link + raw).digest()
            hashes.append(link)
        written = await conn.fetch(
            "SELECT * FROM dueprocess_append($1, 0, ''::bytea, $2, $3, $4, $5, $6, $7, $8)",
            "old", [e.event_id for e in batch], [e.event_type for e in batch],
            [e.recorded_at for e in batch], [e.effective_at for e in batch], docs, hashes,
            [key_id])
        assert [r["stream_version"] for r in written] == [1, 2]
        assert (await migrate(conn))[:5] == ["0006_lean_append.sql",
                                             "0007_append_for_workers_before_0006.sql",
                                             "0008_keys_created_with_the_append.sql",
                                             "0009_wrapped_subject_keys.sql",
                                             "0010_least_privilege.sql"]
        # A worker still on the 0005-era client keeps its contract during the upgrade:
        # a retry returns the stored rows, a stale version raises, a fresh one appends.
        old_call = ("SELECT * FROM dueprocess_append($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                    "$10)")

        def old_args(expected: int, prev: bytes, events: list[NewEvent],
                     data: list[bytes], chain: list[bytes]) -> list[Any]:
            return ["old", expected, prev, [e.event_id for e in events],
                    [e.event_type for e in events], [e.recorded_at for e in events],
                    [e.effective_at for e in events], data, chain, [key_id]]

        again = await conn.fetch(old_call, *old_args(0, b"", batch, docs, hashes))
        assert [r["global_position"] for r in again] == [r["global_position"] for r in written]
        with pytest.raises(asyncpg.UniqueViolationError) as stale:
            await conn.fetch(old_call, *old_args(0, b"", [ev()], [b"{}"], [b"x" * 32]))
        assert stale.value.constraint_name == "events_stream_version_key"
        third = ev()
        third_doc = canonical_json(envelope_document("old", 3, third, dict(third.payload)))
        third_hash = hashlib.sha256(hashes[-1] + third_doc).digest()
        [row] = await conn.fetch(old_call, *old_args(2, hashes[-1], [third], [third_doc],
                                                      [third_hash]))
        assert row["stream_version"] == 3
        assert "recorded_at" not in {r["attname"] for r in await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'events'::regclass "
            "AND NOT attisdropped")}
    finally:
        await conn.close()

    pool = await create_pool(empty_dsn, min_size=1, max_size=2)
    try:
        store = EventStore(pool)
        [first, second, _] = await store.read_stream("old")
        assert first.payload["who"]["value"] == "Ada" and second.stream_version == 2
        # A retry of the old batch by an upgraded worker is recognised byte for byte.
        retry = await store.append("old", 0, batch)
        assert retry.global_positions == [r["global_position"] for r in written]
        assert (await store.append("old", 3, [ev(payload={"who": pii("p-1", "Ada")})])
                ).version == 4
        async with pool.acquire() as c:
            assert (await verify_store(c)).ok
    finally:
        await pool.close()
