"""The eleven tamper classes of issue 11, each with a checkpoint signed before the
tampering: verify names the tampered events, the earliest differing position, and never
an untouched event."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dueprocess.domain.encoding import canonical_json
from dueprocess.store.checkpoints import CheckpointDir, write_checkpoint
from dueprocess.store.eventstore import EventStore, envelope_document
from dueprocess.store.verify import VerifyReport, verify_store
from dueprocess.store.witness import Witness
from fixtures.events import ev

STREAMS = ("a", "b", "c")
Ids = dict[tuple[str, int], str]


def position(stream: str, version: int) -> int:
    """Appended round by round (a1 b1 c1 a2 b2 c2 ...), one transaction each."""
    return 3 * (version - 1) + STREAMS.index(stream)


@pytest.fixture
async def signed(store: EventStore, pool: asyncpg.Pool, tmp_path: Path) -> tuple[Witness, Ids]:
    """Given three streams of five events each and a head signed over all 15."""
    ids: Ids = {}
    for version in range(1, 6):
        for stream in STREAMS:
            event = ev(payload={"n": version})
            await store.append(stream, version - 1, [event])
            ids[(stream, version)] = str(event.event_id)
    key = Ed25519PrivateKey.generate()
    directory = CheckpointDir(tmp_path / "checkpoints")
    async with pool.acquire() as conn:
        written = await write_checkpoint(conn, directory, key)
    assert written is not None and written[1].head.tree_size == 15
    return Witness(directory, key.public_key()), ids


async def _tamper(pool: asyncpg.Pool, *statements: str, args: tuple[Any, ...] = ()) -> None:
    """An attacker with owner rights, guard triggers disabled."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        for sql in statements:
            await conn.execute(sql, *args) if args and "$1" in sql else await conn.execute(sql)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")


async def _verify(pool: asyncpg.Pool, witness: Witness) -> VerifyReport:
    async with pool.acquire() as conn:
        report = await verify_store(conn, witness)
        # Read in pages of two, every stream split across pages: the same findings.
        assert await verify_store(conn, witness, page=2) == report
        return report


def _named(report: VerifyReport, check: str) -> set[str | None]:
    return {p.event_id for p in report.problems if p.check == check}


def _checkpoint(report: VerifyReport) -> set[tuple[str, int | None, str | None]]:
    return {(p.kind, p.position, p.event_id) for p in report.problems if p.check == "checkpoint"}


async def test_an_intact_log_verifies_against_its_signed_head(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool, store: EventStore
) -> None:
    witness, _ = signed
    await store.append("a", 5, [ev()])  # after the head: only chain-checked
    report = await _verify(pool, witness)
    assert report.ok, report.problems
    assert (report.signed_heads, report.signed_size, report.unsigned_events) == (1, 15, 1)
    assert report.first_difference is None


async def test_an_edit_is_named(signed: tuple[Witness, Ids], pool: asyncpg.Pool) -> None:
    witness, ids = signed
    await _tamper(pool, """UPDATE events SET data = convert_to(replace(
        convert_from(data, 'UTF8'), '"n":3', '"n":9'), 'UTF8')
        WHERE stream_id = 'b' AND stream_version = 3""")
    report = await _verify(pool, witness)
    assert report.first_difference == position("b", 3)
    assert _checkpoint(report) == {("altered", position("b", 3), ids[("b", 3)])}
    assert _named(report, "chain") == {ids[("b", 3)]}


async def test_a_deleted_middle_event_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    await _tamper(pool, "DELETE FROM events WHERE stream_id = 'a' AND stream_version = 2")
    report = await _verify(pool, witness)
    assert report.first_difference == position("a", 2)
    assert _checkpoint(report) == {("removed", position("a", 2), ids[("a", 2)])}


async def test_the_last_event_deleted_with_the_head_moved_back_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    await _tamper(
        pool, "DELETE FROM events WHERE stream_id = 'c' AND stream_version = 5",
        """UPDATE streams SET version = 4, head_hash = (SELECT hash FROM events
           WHERE stream_id = 'c' AND stream_version = 4) WHERE stream_id = 'c'""")
    report = await _verify(pool, witness)
    assert not [p for p in report.problems if p.check == "chain"]  # the chain cannot see it
    assert report.first_difference == position("c", 5) == 14
    assert _checkpoint(report) == {("removed", 14, ids[("c", 5)])}


async def test_a_dropped_stream_is_named(signed: tuple[Witness, Ids], pool: asyncpg.Pool) -> None:
    witness, ids = signed
    await _tamper(pool, "DELETE FROM events WHERE stream_id = 'b'",
                  "DELETE FROM streams WHERE stream_id = 'b'")
    report = await _verify(pool, witness)
    assert not [p for p in report.problems if p.check == "chain"]
    assert report.first_difference == position("b", 1)
    assert _checkpoint(report) == {("removed", position("b", v), ids[("b", v)])
                                   for v in range(1, 6)}


async def test_events_reordered_within_a_stream_are_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    await _tamper(pool, """UPDATE events SET stream_version = CASE stream_version
        WHEN 2 THEN 1004 WHEN 4 THEN 1002 END WHERE stream_id = 'a' AND stream_version IN (2, 4)""",
        "UPDATE events SET stream_version = stream_version - 1000 WHERE stream_version > 1000")
    report = await _verify(pool, witness)
    moved = {ids[("a", 2)], ids[("a", 4)]}
    assert _named(report, "chain") == moved  # the untouched a3 between them is not blamed
    assert _named(report, "checkpoint") == moved
    assert report.first_difference == position("a", 2)


async def test_a_swap_of_global_order_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    # a2 and c4 trade places in the global order (their transactions' ids are swapped).
    await _tamper(pool, """UPDATE events e SET tx_id = o.tx_id FROM events o
        WHERE (e.event_id, o.event_id) IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid))""",
        args=(ids[("a", 2)], ids[("c", 4)]))
    report = await _verify(pool, witness)
    assert report.first_difference == position("a", 2)
    assert _checkpoint(report) == {("reordered", position("a", 2), ids[("c", 4)]),
                                   ("reordered", position("c", 4), ids[("a", 2)])}
    assert _named(report, "chain") == {ids[("a", 2)], ids[("c", 4)]}


async def test_an_event_moved_to_another_stream_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    await _tamper(
        pool, "UPDATE events SET stream_id = 'b', stream_version = 6 "
              "WHERE stream_id = 'a' AND stream_version = 5",
        """UPDATE streams SET version = 4, head_hash = (SELECT hash FROM events
           WHERE stream_id = 'a' AND stream_version = 4) WHERE stream_id = 'a'""",
        """UPDATE streams SET version = 6, head_hash = (SELECT hash FROM events
           WHERE stream_id = 'b' AND stream_version = 6) WHERE stream_id = 'b'""")
    report = await _verify(pool, witness)
    assert _checkpoint(report) == {("altered", position("a", 5), ids[("a", 5)])}
    assert _named(report, "chain") == {ids[("a", 5)]}


async def test_a_changed_type_is_named(signed: tuple[Witness, Ids], pool: asyncpg.Pool) -> None:
    witness, ids = signed
    await _tamper(pool, "UPDATE events SET event_type = 'CaseClosed' "
                        "WHERE stream_id = 'c' AND stream_version = 2")
    report = await _verify(pool, witness)
    assert _checkpoint(report) == {("altered", position("c", 2), ids[("c", 2)])}
    assert _named(report, "chain") == {ids[("c", 2)]}


async def test_a_rechained_history_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    # b3 is edited and b3..b5 re-hashed, the head moved to the new end: every chain holds.
    rows = await pool.fetch("SELECT stream_version, data, hash FROM events "
                            "WHERE stream_id = 'b' ORDER BY stream_version")
    previous, statements = bytes(rows[1]["hash"]), []
    for row in rows[2:]:
        data = bytes(row["data"]).replace(b'"n":3', b'"n":9')
        previous = hashlib.sha256(previous + data).digest()
        statements.append(f"UPDATE events SET data = '\\x{data.hex()}'::bytea, hash = "
                          f"'\\x{previous.hex()}'::bytea WHERE stream_id = 'b' "
                          f"AND stream_version = {row['stream_version']}")
    statements.append(f"UPDATE streams SET head_hash = '\\x{previous.hex()}'::bytea "
                      "WHERE stream_id = 'b'")
    await _tamper(pool, *statements)
    report = await _verify(pool, witness)
    assert not [p for p in report.problems if p.check == "chain"]
    assert report.first_difference == position("b", 3)
    # b4 and b5 kept their bytes but their stored hashes were rewritten: altered rows.
    assert _checkpoint(report) == {("altered", position("b", v), ids[("b", v)])
                                   for v in (3, 4, 5)}


async def _forge(pool: asyncpg.Pool, stream: str, version: int, tx_id: str | None) -> str:
    """What the application role's old grants allowed: INSERT into events (any tx_id) and
    UPDATE of streams, with a correctly chained hash."""
    prev = await pool.fetchval("SELECT hash FROM events WHERE stream_id = $1 "
                               "AND stream_version = $2", stream, version - 1)
    event = ev(payload={"forged": True})
    doc = canonical_json(envelope_document(stream, version, event, dict(event.payload)))
    chained = hashlib.sha256(bytes(prev) + doc).digest()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO events (tx_id, stream_id, stream_version, event_id, event_type,
                                   data, hash)
               VALUES (coalesce($1::text::xid8, pg_current_xact_id()), $2, $3, $4, $5, $6, $7)""",
            tx_id, stream, version, event.event_id, event.event_type, doc, chained)
        await conn.execute("UPDATE streams SET version = $2, head_hash = $3 "
                           "WHERE stream_id = $1", stream, version, chained)
    return str(event.event_id)


async def test_a_forged_append_into_the_signed_log_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, ids = signed
    # Backdated into a5's transaction, so readers and the global order place it before b5.
    tx = await pool.fetchval("SELECT tx_id::text FROM events WHERE event_id = $1::uuid",
                             ids[("a", 5)])
    forged = await _forge(pool, "a", 6, tx)
    report = await _verify(pool, witness)
    assert not [p for p in report.problems if p.check == "chain"]  # it chains correctly
    assert report.first_difference == position("a", 5) + 1
    assert _checkpoint(report) == {("inserted", position("a", 5) + 1, forged)}


async def test_a_forged_append_after_the_latest_head_is_only_chain_checked(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    # The documented limit: after the latest head an append with the right grants is an
    # append; least privilege (only the append function) and the next head are the defence.
    witness, _ = signed
    await _forge(pool, "a", 6, None)
    report = await _verify(pool, witness)
    assert report.ok and report.unsigned_events == 1


async def test_an_insert_beyond_the_head_is_named(
    signed: tuple[Witness, Ids], pool: asyncpg.Pool
) -> None:
    witness, _ = signed
    prev = await pool.fetchval("SELECT hash FROM events WHERE stream_id = 'b' "
                               "AND stream_version = 5")
    event = ev(payload={"forged": True})
    doc = canonical_json(envelope_document("b", 6, event, dict(event.payload)))
    await pool.execute(
        """INSERT INTO events (stream_id, stream_version, event_id, event_type, data, hash)
           VALUES ('b', 6, $1, $2, $3, $4)""",
        event.event_id, event.event_type, doc, hashlib.sha256(bytes(prev) + doc).digest())
    report = await _verify(pool, witness)
    assert [(p.stream_id, p.stream_version, p.kind, p.event_id) for p in report.problems] == [
        ("b", 6, "altered", str(event.event_id))]
    assert "beyond the recorded stream head" in report.problems[0].detail
