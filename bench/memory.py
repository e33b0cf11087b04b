"""Worker memory: resident set of a worker process holding N open cases, each waiting on
its deadline timers, and the cost per cached workflow.

    python bench/memory.py [--quick] [--cases 10000] [--json out.json]

The worker runs in a process of its own (the product's activities and case workflow, the
workflow cache sized to hold every case: ``max_cached_workflows`` = cases + 500) against
the embedded stack; this process files real reports (the demo's) through
``DueProcessClient.file_report``, 32 at a time, and reads the worker's VmRSS from /proc at
checkpoints. Every filed case stays open, waiting on its acknowledgement and response
timers, so each is one cached workflow. Per cached workflow = the RSS slope between the
first and the last checkpoint.
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
    async with worker(s, max_cached_workflows=cache, max_concurrent_workflow_tasks=50,
                      max_concurrent_activities=50):
        print("ready", flush=True)
        await stop.wait()
    await pool.close()


async def main(cases: int, checkpoints: list[int]) -> dict[str, Any]:
    begun = time.perf_counter()
    policy = compressed(load_policy_file(None))
    result: dict[str, Any] = {"benchmark": "memory", "cases": cases, "points": []}
    with tempfile.TemporaryDirectory(prefix="dp-memory-") as tmp:
        async with stack(Path(tmp)) as s:
            child = await asyncio.create_subprocess_exec(
                sys.executable, str(BENCH / "memory.py"), "--serve", s.address, s.dsn, tmp,
                str(cases + 500), stdout=asyncio.subprocess.PIPE)
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

                    await asyncio.gather(*(one() for _ in range(32)))

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
    result["per_case_bytes"] = (last["rss"] - first["rss"]) / (last["cases"] - first["cases"])
    result["filing_per_s"] = (last["cases"] - first["cases"]) / last["seconds"]
    result["wall_seconds"] = time.perf_counter() - begun
    return result


def render(r: dict[str, Any]) -> str:
    pts = r["points"]
    lines = [
        "## Worker memory: open cases waiting on timers",
        "",
        "A worker process (case workflow, product activities, cache sized to hold every "
        "case) while real reports are filed 32 at a time; every case stays open, waiting on "
        "its deadline timers, cached in the worker.",
        "",
        "| open cases | worker RSS (MiB) |",
        "|--:|--:|",
        *(f"| {p['cases']:,} | {p['rss'] / 2**20:,.0f} |" for p in pts),
        "",
        f"**{pts[-1]['cases']:,} open cases: worker RSS {pts[-1]['rss'] / 2**30:.2f} GiB** "
        f"(goal < 1 GiB at 10,000); **{r['per_case_bytes'] / 1024:,.0f} KiB per cached "
        f"workflow** (slope from {pts[0]['cases']:,} to {pts[-1]['cases']:,}). Filed at "
        f"{r['filing_per_s']:.0f} cases/s; total {r['wall_seconds']:.0f} s.",
    ]
    if pts[-1]["cases"] < 10_000:
        at_10k = pts[0]["rss"] + r["per_case_bytes"] * (10_000 - pts[0]["cases"])
        lines += ["", f"Fewer than 10,000 cases were filed in this run (filing is slow on the "
                  f"shared machine): at this slope a worker caching 10,000 would hold about "
                  f"**{at_10k / 2**30:.1f} GiB**. To measure it: "
                  f"`python bench/run.py --only memory --cases 10000`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 cases")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", nargs=4, metavar=("ADDRESS", "DSN", "TMP", "CACHE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        address, dsn, tmp, cache = args.serve
        asyncio.run(serve(address, dsn, Path(tmp), int(cache)))
        raise SystemExit(0)
    total = 500 if args.quick else args.cases
    marks = sorted({max(100, total // 10), total // 4, total // 2, total})
    outcome = asyncio.run(main(total, marks))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2))
    print(render(outcome))
