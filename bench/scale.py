"""Scale: reads about one person or one case at growing log sizes, and whole-log reads
(verify, replay) against a raw keyset scan of the same rows, with their peak memory.

    python bench/scale.py [--quick] [--sizes 10000,100000,1000000] [--json out.json]

One embedded PostgreSQL; one log of real cases (decided by the domain, 14 events for a
closed case, 8 for an open one, each member in three cases, their personal values sealed
to them) appended through ``EventStore.append`` by 16 concurrent writers (see
_common.CaseLog), grown from one size to the next (never rebuilt). At each size, after
``ANALYZE`` (what autovacuum does on its own schedule), each operation runs three rounds
over 10 different people (or their cases), the same people at every size (all named early
in the log):

- subject access: ``RecordsClient.export_subject`` (everything held, redacted; recorded);
- erasure check: ``RecordsClient.open_cases_of`` (the check before an erasure);
- erasure: ``RecordsClient.erase_subject`` of a member whose cases are closed (a fresh
  one at each size; ends with the re-verify of their streams);
- member standing: ``case_streams_for`` + ``MemberService.standing``;
- read one case: ``RecordsClient.read_case_file`` (as an auditor; recorded);
- audit case: what `dueprocess audit case` does (case + notifications, ``audit_case``).

Whole log: ``verify_store`` and a replay (``read_all`` pages of 1,000, decoded and
decrypted) against a keyset scan of the same rows in global order (asyncpg, rows only),
and the peak resident set of this process during each (high-water mark reset first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from _common import (
    CaseLog,
    PeakRss,
    erasable,
    generation_pool,
    load_average,
    log,
    machine_text,
    mib,
)
from dueprocess.devstack.stack import EmbeddedPostgres
from dueprocess.domain.audit import audit_case
from dueprocess.domain.base import Actor
from dueprocess.domain.envelope import Position
from dueprocess.domain.streams import case_stream, notification_stream
from dueprocess.services.members import MemberService, case_streams_for
from dueprocess.services.records import RecordsClient
from dueprocess.store.db import Database, Pinned, Pool, create_pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.migrations import migrate
from dueprocess.store.verify import verify_store
from fixtures import case_examples as ex

AUDITOR = Actor(id="auditor-1", role="auditor")
DPO = Actor(id="dpo-1", role="data_protection_officer")
PROBES = [f"m-{n}" for n in range(101, 111)]  # named in cases 99..110: early in any log
REPS = len(PROBES)
_RAW = """SELECT global_position, tx_id::text AS tx, stream_id, stream_version, data, hash
            FROM events WHERE (tx_id, global_position) > ($1::text::xid8, $2)
           ORDER BY tx_id, global_position LIMIT $3"""


def _case_of(member: str) -> str:
    return f"c-{int(member.split('-')[1]):07d}"


class Operations:
    def __init__(self, pool: Database, store: EventStore) -> None:
        self.pool, self.store = pool, store
        self.records = RecordsClient(store, pool)
        self.policy = ex.example_policy()

    async def subject_access(self, person: str) -> int:
        doc = await self.records.export_subject(person, DPO, authority="gdpr#art15")
        return len(doc["events"])

    async def erasure_check(self, person: str) -> int:
        return len(await self.records.open_cases_of(person))

    async def erasure(self, person: str) -> int:
        result = await self.records.erase_subject(person, DPO, reason="asked",
                                                  authority="gdpr#art17")
        assert result.store_verifies, person
        return int(result.keys_destroyed)

    async def member_standing(self, person: str) -> int:
        cases = await case_streams_for(self.pool, person)
        result = await MemberService(self.store, self.policy).standing(
            person, self.policy, datetime.now(UTC), case_streams=cases)
        return len(result.reasons)

    async def read_case(self, person: str) -> int:
        file = await self.records.read_case_file(_case_of(person), AUDITOR, purpose="audit",
                                                 authority="audit#annual")
        return len(file.events)

    async def audit_case(self, person: str) -> int:
        case_id = _case_of(person)
        events = await self.store.read_stream(case_stream(case_id))
        notes = await self.store.read_stream(notification_stream(case_id))
        audit = audit_case(events, notes, now=datetime.now(UTC))
        return len(audit.timeline)


OPERATIONS = ("subject_access", "erasure_check", "erasure", "member_standing", "read_case",
              "audit_case")
LABELS = {"subject_access": "subject access (export, one person)",
          "erasure_check": "erasure check (open cases of one person)",
          "erasure": "erasure of one person (key destroyed, their streams re-verified)",
          "member_standing": "member standing (one member)",
          "read_case": "read one case (case file, recorded)",
          "audit_case": "`audit case` (one case)"}


def _backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend has used (same machine; 10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(pool: Pool, store: EventStore, name: str, people: list[str],
                   rounds: int) -> dict[str, Any]:
    """Wall time per call, and CPU per call (this process + its one database backend,
    summed over all calls): CPU is what the operation costs whatever else the machine is
    doing, so it is the steadier growth figure on a shared machine."""
    seconds, sizes = [], []
    async with pool.acquire() as conn:
        call: Callable[[str], Awaitable[int]] = getattr(
            Operations(Pinned(conn), store.pinned(conn)), name)
        if rounds > 1:
            await call(people[0])  # warm: the first call of a kind parses its statements
        backend = conn.get_server_pid()
        cpu_server, cpu_client = _backend_cpu(backend), time.process_time()
        for _ in range(rounds):
            for person in people:
                start = time.perf_counter()
                sizes.append(await call(person))
                seconds.append(time.perf_counter() - start)
        cpu = (time.process_time() - cpu_client) + (_backend_cpu(backend) - cpu_server)
    return {"ms_p50": statistics.median(seconds) * 1000, "ms_max": max(seconds) * 1000,
            "cpu_ms": cpu / len(seconds) * 1000, "items_p50": statistics.median(sizes),
            "n": len(seconds)}


async def raw_scan(pool: Pool) -> tuple[int, float]:
    n, after = 0, ("0", 0)
    start = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        while rows := await conn.fetch(_RAW, after[0], after[1], 2000):
            n += len(rows)
            after = (rows[-1]["tx"], rows[-1]["global_position"])
    return n, time.perf_counter() - start


async def replay(store: EventStore) -> tuple[int, float]:
    n, after = 0, Position()
    start = time.perf_counter()
    while batch := await store.read_all(after, limit=1000):
        n += len(batch)
        after = batch[-1].position
    return n, time.perf_counter() - start


async def whole_log(pool: Pool, store: EventStore) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with PeakRss() as mem:
        n, seconds = await raw_scan(pool)
    out["raw_scan"] = {"events": n, "events_per_s": n / seconds, "peak_rss": mem.peak,
                       "rss_before": mem.before}
    with PeakRss() as mem:
        start = time.perf_counter()
        async with pool.acquire() as conn:
            report = await verify_store(conn)
        seconds = time.perf_counter() - start
    out["verify"] = {"events": report.events, "ok": report.ok,
                     "events_per_s": report.events / seconds, "peak_rss": mem.peak,
                     "rss_before": mem.before}
    with PeakRss() as mem:
        n, seconds = await replay(store)
    out["replay"] = {"events": n, "events_per_s": n / seconds, "peak_rss": mem.peak,
                     "rss_before": mem.before}
    for key in ("verify", "replay"):
        out[key]["vs_raw"] = out[key]["events_per_s"] / out["raw_scan"]["events_per_s"]
    return out


async def main(sizes: list[int]) -> dict[str, Any]:
    begun = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "scale", "machine": machine_text(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="dp-scale-") as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        dsn = await asyncio.to_thread(pg.start)
        try:
            conn = await asyncpg.connect(dsn)
            await migrate(conn)
            result["postgres"] = await conn.fetchval("SHOW server_version")
            await conn.close()
            pool = await create_pool(dsn, min_size=2, max_size=10)
            store = EventStore(pool)
            writer_pool = await generation_pool(dsn)
            caselog = CaseLog(EventStore(writer_pool))
            erased = 120  # members erased at each size: fresh ones, early in the log
            for size in sizes:
                log(f"growing the log to {size:,} events")
                await caselog.grow_to(size)
                await pool.execute("ANALYZE")
                events = await pool.fetchval("SELECT count(*) FROM events")
                row: dict[str, Any] = {"target": size, "events": events,
                                       "cases": caselog.next_case,
                                       "load_average": load_average(), "ops": {}}
                log(f"{events:,} events ({caselog.next_case:,} cases, generated at "
                    f"{caselog.events / caselog.seconds:,.0f} events/s); load {load_average()}")
                for name in OPERATIONS:
                    if name == "erasure":
                        people: list[str] = []
                        while len(people) < REPS:
                            erased += 1
                            assert erased < caselog.next_case - 20, "log too small"
                            if erasable(erased):
                                people.append(f"m-{erased}")
                    else:
                        people = PROBES
                    # Three rounds over the people (each erased once): the machine is shared.
                    row["ops"][name] = await _measure(pool, store, name, people,
                                                      1 if name == "erasure" else 3)
                    log(f"  {name:16} {row['ops'][name]['ms_p50']:8.1f} ms p50, "
                        f"{row['ops'][name]['cpu_ms']:6.1f} ms CPU")
                row["whole_log"] = await whole_log(pool, store)
                w = row["whole_log"]
                log(f"  verify {w['verify']['events_per_s']:,.0f} ev/s, replay "
                    f"{w['replay']['events_per_s']:,.0f} ev/s, raw "
                    f"{w['raw_scan']['events_per_s']:,.0f} ev/s")
                result["sizes"].append(row)
            result["generation"] = {"events": caselog.events, "appends": caselog.appends,
                                    "seconds": caselog.seconds}
            await pool.close()
            await writer_pool.close()
        finally:
            await asyncio.to_thread(pg.stop)
    result["wall_seconds"] = time.perf_counter() - begun
    return result


def render(r: dict[str, Any]) -> str:
    sizes = r["sizes"]
    first, last = sizes[0], sizes[-1]
    head = " | ".join(f"{s['events']:,} events" for s in sizes)
    lines = [
        "## Scale: one person or one case, as the log grows",
        "",
        f"One log of real cases (domain-decided, encrypted, chained; {sizes[-1]['cases']:,} "
        "cases, 10% open) grown through `EventStore.append` (one append per case and one "
        "per member join; 16 concurrent writers, `synchronous_commit=off` while generating "
        "only) at "
        f"{r['generation']['events'] / r['generation']['seconds']:,.0f} events/s, measured at "
        "each size in the same run; median of 3 rounds over 10 people (the same ones at "
        "every size; erasure: 10 fresh people once each). "
        "PostgreSQL " + str(r.get("postgres")) + ", embedded, default settings.",
        "",
        f"| operation (median ms) | {head} | growth {first['events']:,} → "
        f"{last['events']:,} |",
        "|---|" + "--:|" * (len(sizes) + 1),
    ]
    for name in OPERATIONS:
        cells = " | ".join(f"{s['ops'][name]['ms_p50']:.1f}" for s in sizes)
        growth = last["ops"][name]["ms_p50"] / first["ops"][name]["ms_p50"]
        lines.append(f"| {LABELS[name]} | {cells} | **{growth:.2f}x** |")
    lines += [
        "",
        f"| operation (CPU ms per call: client + its database backend) | {head} | growth |",
        "|---|" + "--:|" * (len(sizes) + 1),
    ]
    for name in OPERATIONS:
        cells = " | ".join(f"{s['ops'][name]['cpu_ms']:.1f}" for s in sizes)
        growth = last["ops"][name]["cpu_ms"] / max(first["ops"][name]["cpu_ms"], 1e-9)
        lines.append(f"| {LABELS[name]} | {cells} | **{growth:.2f}x** |")
    lines += [
        "",
        "Wall time depends on how busy the shared machine was at each size (load averages "
        "below); CPU per call (this process's CPU plus that of the one PostgreSQL backend "
        "the calls ran on, summed over all calls; 10 ms ticks on the backend side) does not, "
        "so it is the growth figure to trust here.",
        "",
        "Items per answer (median; the same at every size): " + ", ".join(
            f"{name} {first['ops'][name]['items_p50']:g}" for name in OPERATIONS) + ".",
        "",
        "### Whole log: verify and replay against a raw keyset scan",
        "",
        "| log | raw keyset scan ev/s | `verify_store` ev/s | vs raw | replay (`read_all`, "
        "decoded + decrypted) ev/s | vs raw | peak RSS verify (MiB) | peak RSS replay (MiB) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in sizes:
        w = s["whole_log"]
        lines.append(
            f"| {s['events']:,} | {w['raw_scan']['events_per_s']:,.0f} | "
            f"{w['verify']['events_per_s']:,.0f} | {w['verify']['vs_raw']:.2f}x | "
            f"{w['replay']['events_per_s']:,.0f} | {w['replay']['vs_raw']:.2f}x | "
            f"{mib(w['verify']['peak_rss'])} (before {mib(w['verify']['rss_before'])}) | "
            f"{mib(w['replay']['peak_rss'])} (before {mib(w['replay']['rss_before'])}) |")
    loads = "; ".join(f"{s['events']:,}: {s['load_average']}" for s in sizes)
    lines += ["", f"Load average (1/5/15 min) at each size: {loads}. "
              f"Total {r['wall_seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 3,000 and 10,000")
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated log sizes in events (grown in order)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [3000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    outcome = asyncio.run(main(sizes))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2, default=str))
    print(render(outcome))
