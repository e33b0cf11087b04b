"""The append against the raw no-lock floor and pyeventsourcing's PostgreSQL recorders, on
the same embedded server, in the same run.

    python bench/append.py [--quick] [--reps N] [--json out.json]

Workload as bench/eventstore.py (8 writers, 10-event transactions, 50 streams each, the
same envelopes; 24,000 events per run, 6,000 with --quick), a fresh database per run,
contenders interleaved (rotated each rep), median of the
runs; CPU per event of the client and the server for each run. Contenders:

- ``raw-nolock``, ``dueprocess`` (personal data sealed in every event), ``dueprocess-nopii``:
  exactly as in bench/eventstore.py;
- ``es-gapless``: ``eventsourcing.postgres.PostgresApplicationRecorder`` as shipped (its
  default: ``LOCK TABLE ... IN EXCLUSIVE MODE`` per insert, so notification ids are
  gapless for its followers), over psycopg 3 and its pool (8 connections), 8 threads;
- ``es-dbfunc``: the same recorder with ``enable_db_functions`` (inserts through a
  PL/pgSQL function, one round trip; still locking);
- ``es-nogapless``: ``PostgresAggregateRecorder``, its fastest mode: no notification ids at
  all, hence no global order to follow (what raw-nolock is to dueprocess).

pyeventsourcing stores the same envelope bytes as ``state`` (no encryption: compare with
``dueprocess-nopii`` as well). Requires the ``bench`` extra (``pip install '.[bench]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from _common import load_average, log
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventstore import WRITERS, Append, Bench, Server, settle_heap

DUEPROCESS = ("raw-nolock", "dueprocess", "dueprocess-nopii")
ES = ("es-gapless", "es-dbfunc", "es-nogapless")
CONTENDERS = DUEPROCESS + ES


def _datastore(dsn: str, db_functions: bool) -> PostgresDatastore:
    url = urlsplit(dsn)
    query = parse_qs(url.query)  # the embedded server listens on a Unix socket: ?host=DIR
    return PostgresDatastore(
        dbname=url.path.lstrip("/"), host=query.get("host", [url.hostname or "localhost"])[0],
        port=query.get("port", [str(url.port or 5432)])[0],
        user=unquote(url.username or "postgres"), password=unquote(url.password or ""),
        pool_size=WRITERS, enable_db_functions=db_functions)


def _stored(plan: list[Append]) -> list[list[StoredEvent]]:
    return [[StoredEvent(originator_id=uuid.uuid5(uuid.NAMESPACE_URL, a.stream_id),
                         originator_version=a.expected_version + k + 1, topic=a.types[k],
                         state=a.data[k]) for k in range(len(a.events))] for a in plan]


async def es_run(bench: Bench, contender: str, plans: list[list[Append]]
                 ) -> tuple[float, float, float]:
    """One timed run of a pyeventsourcing recorder in a fresh database: events/s, and the
    CPU seconds of this process (its writer threads) and of the server meanwhile."""
    dsn = await bench.fresh_database(contender, "raw", "DROP TABLE events")
    datastore = _datastore(dsn, contender == "es-dbfunc")
    recorder: PostgresAggregateRecorder = (
        PostgresAggregateRecorder(datastore, events_table_name="es_events")
        if contender == "es-nogapless"
        else PostgresApplicationRecorder(datastore, events_table_name="es_events"))
    recorder.create_table()
    batches = [_stored(p) for p in plans]
    ready = threading.Barrier(WRITERS + 1)

    def writer(mine: list[list[StoredEvent]]) -> None:
        ready.wait()
        for events in mine:
            recorder.insert_events(events)

    try:
        threads = [threading.Thread(target=writer, args=(b,)) for b in batches]
        for t in threads:
            t.start()
        await bench.admin("CHECKPOINT")
        settle_heap()
        await asyncio.to_thread(ready.wait)
        server_cpu, client_cpu = bench.server.cpu_seconds(), time.process_time()
        start = time.perf_counter()
        for t in threads:
            await asyncio.to_thread(t.join)
        seconds = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        server_cpu = bench.server.cpu_seconds() - server_cpu
        gc.unfreeze()
        with datastore.get_connection() as conn:
            count = conn.execute("SELECT count(*) AS n FROM es_events").fetchone()
        stored = int(count["n"]) if count is not None else 0
        if stored != bench.events_per_run:
            raise AssertionError(f"{contender}: {stored} events stored")
    finally:
        datastore.close()
        await bench.drop_database(dsn)
    return bench.events_per_run / seconds, client_cpu, server_cpu


async def main(quick: bool, reps: int) -> dict[str, Any]:
    begun = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="dp-append-"))
    server = Server(data_dir)
    runs: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    # CPU per event (microseconds): this process + every PostgreSQL process, per run.
    cpu: dict[str, list[dict[str, float]]] = {c: [] for c in CONTENDERS}
    try:
        dsn = await asyncio.to_thread(server.start)
        bench = Bench(server, dsn, 6_000 if quick else 24_000, idle_budget=0.0)
        for rep in range(reps):
            order = CONTENDERS[rep % len(CONTENDERS):] + CONTENDERS[:rep % len(CONTENDERS)]
            for name in order:
                if name in ES:
                    rate, client_s, server_s = await es_run(bench, name, bench.plans_plain)
                else:
                    run, _, _ = await bench.run(name, rep)
                    rate, client_s, server_s = (run.events_per_s, run.client_cpu_s,
                                                run.server_cpu_s)
                runs[name].append(rate)
                n = bench.events_per_run
                cpu[name].append({"client_us": client_s / n * 1e6,
                                  "server_us": server_s / n * 1e6,
                                  "total_us": (client_s + server_s) / n * 1e6})
                log(f"rep {rep + 1} {name:17} {rate:9,.0f} events/s, CPU "
                    f"{cpu[name][-1]['total_us']:.0f} us/event (client "
                    f"{cpu[name][-1]['client_us']:.0f} + server "
                    f"{cpu[name][-1]['server_us']:.0f}); load {load_average()}")
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(data_dir, ignore_errors=True)
    median = {n: statistics.median(v) for n, v in runs.items()}
    cpu_median = {n: {k: statistics.median(r[k] for r in v) for k in v[0]}
                  for n, v in cpu.items()}
    # Per-rep ratios (each rep's contenders ran within a minute of each other): steadier
    # than a ratio of medians on a shared machine.
    paired = {n: statistics.median(a / b for a, b in zip(runs["dueprocess"], v, strict=True))
              for n, v in runs.items()}
    return {"benchmark": "append", "runs": runs, "median": median, "cpu": cpu,
            "cpu_median": cpu_median, "dueprocess_vs_paired": paired,
            "events_per_run": bench.events_per_run, "reps": reps,
            "load_average_end": load_average(), "wall_seconds": time.perf_counter() - begun}


WHAT = {"raw-nolock": "raw asyncpg INSERT ... unnest, no lock (the floor; not gapless)",
        "dueprocess": "`EventStore.append`, personal data sealed in every event (gapless)",
        "dueprocess-nopii": "`EventStore.append`, no personal data (gapless)",
        "es-gapless": "pyeventsourcing `PostgresApplicationRecorder`, default (gapless: "
                      "table lock)",
        "es-dbfunc": "pyeventsourcing `PostgresApplicationRecorder`, `enable_db_functions` "
                     "(gapless: table lock)",
        "es-nogapless": "pyeventsourcing `PostgresAggregateRecorder` (no global order)"}


def render(r: dict[str, Any]) -> str:
    m = r["median"]
    floor = m["raw-nolock"]
    lines = [
        "## Append: against the floor and pyeventsourcing",
        "",
        f"Same embedded PostgreSQL, same run: 8 writers, 10-event transactions, "
        f"{r['events_per_run']:,} events per run, fresh database per run, contenders "
        f"interleaved (order rotated each rep), median of {r['reps']}.",
        "",
        "| contender | events/s (median) | runs | vs raw-nolock | dueprocess vs it (per-rep "
        "median) | CPU µs/event: client + server | dueprocess vs it by CPU |",
        "|---|--:|---|--:|--:|--:|--:|",
    ]
    c = r["cpu_median"]
    for name in CONTENDERS:
        lines.append(f"| {WHAT[name]} | {m[name]:,.0f} | "
                     f"{' / '.join(f'{v:,.0f}' for v in r['runs'][name])} | "
                     f"{m[name] / floor:.2f} | {r['dueprocess_vs_paired'][name]:.2f}x | "
                     f"{c[name]['total_us']:.0f} ({c[name]['client_us']:.0f} + "
                     f"{c[name]['server_us']:.0f}) | "
                     f"{c[name]['total_us'] / c['dueprocess']['total_us']:.2f}x |")
    best_es = max(ES, key=lambda n: m[n])
    lines += ["", "CPU: this process (the writers; for pyeventsourcing its 8 threads) plus every "
              "PostgreSQL process, during the timed part, per event stored: what each "
              "contender costs whatever else the shared machine is doing (events/s on this "
              "machine is bound by commits, each waiting on a WAL flush, and by the load). "
              "`by CPU` > 1: dueprocess uses less CPU per event than that contender."]
    lines += ["", f"**dueprocess / raw-nolock = {m['dueprocess'] / floor:.2f}** (per-rep median "
              f"{r['dueprocess_vs_paired']['raw-nolock']:.2f}; goal 0.5 with "
              f"personal data); dueprocess / pyeventsourcing gapless = "
              f"**{m['dueprocess'] / m['es-gapless']:.2f}x**, / its fastest mode "
              f"(`{best_es}`) = **{m['dueprocess'] / m[best_es]:.2f}x**. Load average at the "
              f"end: {r['load_average_end']}; total {r['wall_seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.quick, 1 if args.quick else args.reps))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2))
    print(render(outcome))
