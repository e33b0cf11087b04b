"""Worker memory: resident set of a worker process holding N open cases, each waiting on
its deadline timers, and the cost per cached workflow.

    python bench/memory.py [--quick] [--cases 10000] [--cache N] [--concurrency 64]
                           [--json out.json]

The worker runs in a process of its own (the product's activities, case workflow and
sandbox, ``workflows/sandbox.py``; its workflow cache the product's default,
``DUEPROCESS_MAX_CACHED_WORKFLOWS``, unless ``--cache``) against the embedded stack; this
process files real reports (the demo's) through ``DueProcessClient.file_report``,
``--concurrency`` at a time, and reads the worker's VmRSS from /proc at checkpoints. Every
filed case stays open, waiting on its acknowledgement and response timers. Up to the cache
size each is one cached workflow: per cached workflow = the RSS slope from the first
checkpoint to the last one within the cache. Beyond it the worker evicts the least
recently used cases (replayed from their history when a timer fires or a decision comes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import load_average, log, rss_bytes
from _stack import QUEUE, Stack, stack, worker
from dueprocess.devstack.demo import Story, compressed
from dueprocess.services.client import DueProcessClient
from dueprocess.services.policyfile import load_policy_file
from dueprocess.settings import DEFAULT_MAX_CACHED_WORKFLOWS
from dueprocess.store.db import create_pool
from dueprocess.store.eventstore import EventStore
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

BENCH = Path(__file__).resolve().parent


async def serve(address: str, dsn: str, tmp: Path, cache: int) -> None:
    """The worker process: until SIGTERM."""
    pool = await create_pool(dsn, min_size=2, max_size=10)
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    s = Stack(tmp, dsn, address, pool, EventStore(pool), client)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    # The product's sandbox runner: bench/_stack.py's worker composes it as worker.py does.
    async with worker(s, max_cached_workflows=cache, max_concurrent_workflow_tasks=50,
                      max_concurrent_activities=50):
        print("ready", flush=True)
        await stop.wait()
    await pool.close()


async def main(cases: int, checkpoints: list[int], cache: int, concurrency: int
               ) -> dict[str, Any]:
    begun = time.perf_counter()
    policy = compressed(load_policy_file(None))
    result: dict[str, Any] = {"benchmark": "memory", "cases": cases, "cache": cache,
                              "concurrency": concurrency, "points": []}
    with tempfile.TemporaryDirectory(prefix="dp-memory-") as tmp:
        async with stack(Path(tmp)) as s:
            child = await asyncio.create_subprocess_exec(
                sys.executable, str(BENCH / "memory.py"), "--serve", s.address, s.dsn, tmp,
                str(cache), stdout=asyncio.subprocess.PIPE)
            try:
                assert child.stdout is not None
                line = await child.stdout.readline()
                assert line.strip() == b"ready", line
                client = DueProcessClient(s.client, QUEUE)
                filed = 0
                start = time.perf_counter()

                async def file_until(target: int) -> None:
                    nonlocal filed

                    async def one() -> None:
                        nonlocal filed
                        while filed < target:
                            filed += 1
                            await Story(client, policy).file()

                    await asyncio.gather(*(one() for _ in range(concurrency)))

                one = await Story(client, policy).file()
                filed = 1
                state = await client.state(one.case_id)
                result["state_bytes"] = len(state.model_dump_json())
                await file_until(20)  # warm-up: imports, sandbox, first workflow tasks
                await asyncio.sleep(2)
                result["points"].append({"cases": filed, "rss": rss_bytes(child.pid)})
                for target in checkpoints:
                    await file_until(target)
                    await asyncio.sleep(2)  # the last workflow tasks settle
                    point: dict[str, Any] = {"cases": filed, "rss": rss_bytes(child.pid),
                             "seconds": time.perf_counter() - start,
                             "load_average": load_average()}
                    result["points"].append(point)
                    log(f"{filed:,} open cases: worker RSS {point['rss'] / 2**20:,.0f} MiB "
                        f"({filed / point['seconds']:.0f} cases/s filed; load "
                        f"{load_average()})")
            finally:
                child.send_signal(signal.SIGTERM)
                await asyncio.wait_for(child.wait(), 30)
    first, last = result["points"][0], result["points"][-1]
    cached = [p for p in result["points"] if p["cases"] <= cache][-1]
    result["per_case_bytes"] = (cached["rss"] - first["rss"]) / (cached["cases"] - first["cases"])
    result["slope_to"] = cached["cases"]
    result["filing_per_s"] = (last["cases"] - first["cases"]) / last["seconds"]
    result["wall_seconds"] = time.perf_counter() - begun
    return result


def render(r: dict[str, Any]) -> str:
    pts, cache = r["points"], r["cache"]
    last = pts[-1]
    lines = [
        "## Worker memory: open cases waiting on timers",
        "",
        f"A worker process (the product's case workflow, activities and sandbox, "
        f"`workflows/sandbox.py`; workflow cache {cache:,} cases"
        + (", the default `DUEPROCESS_MAX_CACHED_WORKFLOWS`" if r.get("default_cache") else "")
        + f") while real reports are filed through the client, {r['concurrency']} at a time; "
        "every case stays open, waiting on its deadline timers.",
        "",
        "| open cases | of them cached | worker RSS (MiB) | load average |",
        "|--:|--:|--:|---|",
        *(f"| {p['cases']:,} | {min(p['cases'], cache):,} | {p['rss'] / 2**20:,.0f} | "
          f"{p.get('load_average', '')} |" for p in pts),
        "",
        f"**{last['cases']:,} open cases: worker RSS {last['rss'] / 2**30:.2f} GiB** (goal "
        f"< 1 GiB at 10,000); **{r['per_case_bytes'] / 1024:,.0f} KiB per cached workflow** "
        f"(slope from {pts[0]['cases']:,} to {r['slope_to']:,} cases, all cached), of which "
        f"the case's own state is {r['state_bytes'] / 1024:.1f} KiB (its JSON); the rest is "
        "the SDK's per-run machinery (Rust core state, retained protobufs, the sandboxed "
        f"instance). Filed at {r['filing_per_s']:.0f} cases/s; total {r['wall_seconds']:.0f} s.",
    ]
    if last["cases"] > cache:
        lines += ["", f"Beyond {cache:,} the worker evicts the least recently used cases; an "
                  "evicted case is replayed from its (short) history when its timer fires or "
                  "a decision arrives, so the resident set stays flat however many cases are "
                  "open."]
    if last["cases"] < 10_000:
        lines += ["", "Fewer than 10,000 cases were filed in this run. To measure it: "
                  "`python bench/run.py --only memory --cases 10000`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 cases")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--cache", type=int, default=DEFAULT_MAX_CACHED_WORKFLOWS,
                        help="the worker's max_cached_workflows (default: the product's)")
    parser.add_argument("--concurrency", type=int, default=64, help="reports filed at a time")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", nargs=4, metavar=("ADDRESS", "DSN", "TMP", "CACHE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        address, dsn, tmp, cache = args.serve
        asyncio.run(serve(address, dsn, Path(tmp), int(cache)))
        raise SystemExit(0)
    total = 500 if args.quick else args.cases
    marks = sorted({max(100, total // 10), total // 4, total // 2, total}
                   | ({args.cache} if 100 < args.cache < total else set()))
    outcome = asyncio.run(main(total, marks, args.cache, args.concurrency))
    outcome["default_cache"] = args.cache == DEFAULT_MAX_CACHED_WORKFLOWS
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2))
    print(render(outcome))
