"""Whole-log reads: ``verify_store`` and a replay (``read_all`` pages of 1,000, decoded and
decrypted) against a raw keyset scan of the same rows, with CPU per event and peak memory.

    python bench/whole_log.py [--quick] [--sizes 100000,300000] [--rounds 3] [--json out.json]

The log is grown as in bench/scale.py (real cases decided by the domain, personal values
sealed, appended through ``EventStore.append`` by 16 writers); at each size, after
``ANALYZE``, each round runs the three readers one after the other (the order rotated
from round to round), each on one connection in one snapshot. For each: events/s (wall),
the CPU per event of this process and of its one PostgreSQL backend (load-independent:
what the reader costs, whatever else the shared machine is doing), and the peak resident
set of this process (high-water mark reset first). The ratios are the medians of the
per-round ratios (the contenders of one round ran within seconds of each other).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from _common import CaseLog, PeakRss, generation_pool, load_average, log, machine_text, mib
from dueprocess.devstack.stack import EmbeddedPostgres
from dueprocess.domain.envelope import Position
from dueprocess.store.db import Connection, create_pool
from dueprocess.store.eventstore import EventStore
from dueprocess.store.migrations import migrate
from dueprocess.store.verify import verify_store
from scale import _backend_cpu

READERS = ("raw", "verify", "replay")
LABELS = {"raw": "raw keyset scan (asyncpg rows, global order, pages of 2,000)",
          "verify": "`verify_store` (every stream's chain and head)",
          "replay": "replay: `read_all` pages of 1,000, decoded + decrypted"}
_RAW = """SELECT global_position, tx_id::text AS tx, stream_id, stream_version, data, hash
            FROM events WHERE (tx_id, global_position) > ($1::text::xid8, $2)
           ORDER BY tx_id, global_position LIMIT $3"""


async def raw(conn: Connection, store: EventStore) -> int:
    n, after = 0, ("0", 0)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        while rows := await conn.fetch(_RAW, after[0], after[1], 2000):
            n += len(rows)
            after = (rows[-1]["tx"], rows[-1]["global_position"])
    return n


async def verify(conn: Connection, store: EventStore) -> int:
    report = await verify_store(conn)
    assert report.ok, report.problems[:3]
    return report.events


async def replay(conn: Connection, store: EventStore) -> int:
    pinned, n, after = store.pinned(conn), 0, Position()
    while batch := await pinned.read_all(after, limit=1000):
        n += len(batch)
        after = batch[-1].position
    return n


CALLS: dict[str, Callable[[Connection, EventStore], Awaitable[int]]] = {
    "raw": raw, "verify": verify, "replay": replay}


async def measure(pool: asyncpg.Pool, store: EventStore, name: str) -> dict[str, float]:
    async with pool.acquire() as conn:
        backend = conn.get_server_pid()
        with PeakRss() as mem:
            cpu_server, cpu_client = _backend_cpu(backend), time.process_time()
            start = time.perf_counter()
            n = await CALLS[name](conn, store)
            seconds = time.perf_counter() - start
            client = time.process_time() - cpu_client
            server = _backend_cpu(backend) - cpu_server
    return {"events": n, "events_per_s": n / seconds, "client_us": client / n * 1e6,
            "backend_us": server / n * 1e6, "cpu_us": (client + server) / n * 1e6,
            "peak_rss": mem.peak, "rss_before": mem.before}


async def at_size(pool: asyncpg.Pool, store: EventStore, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {r: [] for r in READERS}
    for i in range(rounds):
        for name in READERS[i % 3:] + READERS[:i % 3]:
            runs[name].append(await measure(pool, store, name))
            m = runs[name][-1]
            log(f"  round {i + 1} {name:7} {m['events_per_s']:9,.0f} ev/s, "
                f"{m['cpu_us']:6.2f} us CPU/event (client {m['client_us']:.2f} + backend "
                f"{m['backend_us']:.2f}); load {load_average()}")
    out: dict[str, Any] = {"runs": runs}
    for name in READERS:
        out[name] = {k: statistics.median(r[k] for r in runs[name])
                     for k in runs[name][0]} | {"peak_rss": max(r["peak_rss"] for r in runs[name])}
    for name in ("verify", "replay"):
        out[name]["vs_raw_wall"] = statistics.median(
            m["events_per_s"] / r["events_per_s"]
            for m, r in zip(runs[name], runs["raw"], strict=True))
        out[name]["vs_raw_cpu"] = statistics.median(
            r["cpu_us"] / m["cpu_us"] for m, r in zip(runs[name], runs["raw"], strict=True))
    return out


async def main(sizes: list[int], rounds: int) -> dict[str, Any]:
    begun = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "whole_log", "machine": machine_text(),
                              "rounds": rounds, "sizes": []}
    with tempfile.TemporaryDirectory(prefix="dp-wholelog-") as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        dsn = await asyncio.to_thread(pg.start)
        try:
            conn = await asyncpg.connect(dsn)
            await migrate(conn)
            result["postgres"] = await conn.fetchval("SHOW server_version")
            await conn.close()
            pool = await create_pool(dsn, min_size=1, max_size=2)
            store = EventStore(pool)
            writer_pool = await generation_pool(dsn)
            caselog = CaseLog(EventStore(writer_pool))
            for size in sizes:
                log(f"growing the log to {size:,} events")
                await caselog.grow_to(size)
                await pool.execute("ANALYZE")
                events = await pool.fetchval("SELECT count(*) FROM events")
                log(f"{events:,} events; load {load_average()}")
                row = {"target": size, "events": events, "load_before": load_average()}
                row |= await at_size(pool, store, rounds)
                row["load_after"] = load_average()
                result["sizes"].append(row)
            await pool.close()
            await writer_pool.close()
        finally:
            await asyncio.to_thread(pg.stop)
    result["wall_seconds"] = time.perf_counter() - begun
    return result


def render(r: dict[str, Any]) -> str:
    lines = [
        "## Whole log: verify and replay against a raw keyset scan",
        "",
        "A log of real cases (domain-decided, personal values sealed, chained) grown through "
        f"`EventStore.append`; at each size {r['rounds']} rounds, the three readers one after "
        "the other in rotated order, each on one connection in one snapshot. Ratios: median "
        "of the per-round ratios. CPU: this process plus its PostgreSQL backend, per event "
        "(what a reader costs whatever else the shared machine runs; 10 ms ticks on the "
        "backend side). Peak RSS: this process, high-water mark reset before each reader. "
        f"PostgreSQL {r.get('postgres')}, embedded, default settings.",
        "",
        "| log | reader | events/s (median) | vs raw (wall) | CPU µs/event (client + "
        "backend) | vs raw (CPU) | peak RSS MiB (before) |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for s in r["sizes"]:
        for name in READERS:
            m = s[name]
            wall = f"**{m['vs_raw_wall']:.2f}x**" if name != "raw" else "1"
            cpu = f"**{m['vs_raw_cpu']:.2f}x**" if name != "raw" else "1"
            lines.append(
                f"| {s['events']:,} | {LABELS[name]} | {m['events_per_s']:,.0f} | {wall} | "
                f"{m['cpu_us']:.1f} ({m['client_us']:.1f} + {m['backend_us']:.1f}) | {cpu} | "
                f"{mib(m['peak_rss'])} ({mib(m['rss_before'])}) |")
    loads = "; ".join(f"{s['events']:,}: {s['load_before']} → {s['load_after']}"
                      for s in r["sizes"])
    lines += ["", "`vs raw (CPU)` is the raw scan's CPU per event over the reader's: the "
              "throughput ratio on a machine with a core to spare for each. Load average "
              f"(1/5/15 min) before → after each size: {loads}. Total {r['wall_seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 3,000 and 10,000, 2 rounds")
    parser.add_argument("--sizes", default="100000,300000",
                        help="comma-separated log sizes in events (grown in order)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [3000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    outcome = asyncio.run(main(sizes, 2 if args.quick else args.rounds))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2, default=str))
    print(render(outcome))
