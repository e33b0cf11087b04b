"""Workflow throughput: domain events recorded per second through CaseWorkflow, against a
bare one-activity Temporal workflow on the same dev server.

    python bench/workflows.py [--quick] [--json out.json]

Both run on the embedded stack (Temporal dev server with WAL SQLite, embedded
PostgreSQL) started in a temporary directory. Cases follow the demo's script up to the
panel (nine Updates each: report, acknowledgement, triage, investigator, interim
suspension, notice, disclosure, response, panel), many cases at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from dueprocess.activities.notifications import NotificationActivities
from dueprocess.activities.reporter import ReporterActivities
from dueprocess.activities.respondent import RespondentActivities
from dueprocess.activities.rulebook import RulebookActivities
from dueprocess.activities.store import EventStoreActivities
from dueprocess.devstack.demo import Story, compressed, demo_rulebook
from dueprocess.devstack.stack import DevTemporal, EmbeddedPostgres
from dueprocess.services.client import DueProcessClient
from dueprocess.services.notifications import FileSink
from dueprocess.services.policyfile import load_policy_file
from dueprocess.store.eventstore import EventStore
from dueprocess.workflows.case import CaseWorkflow
from dueprocess.workflows.search_attributes import registrations
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

sys.path.insert(0, str(Path(__file__).parent))
from _stack import namespace_ready
from bare_workflow import BareWorkflow, bare_step

QUEUE = "bench"


async def _bare(client: Client, total: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await client.execute_workflow(BareWorkflow.run, "x" * 600, id=f"bare-{uuid.uuid4()}",
                                          task_queue=QUEUE)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    return total / (time.perf_counter() - start)


async def _case(client: DueProcessClient, policy: Any) -> int:
    story = Story(client, policy)
    events = len((await story.file()).events)
    await story.acknowledge_and_investigate()
    await story.suspend_pending_hearing()
    await story.notify_and_disclose()
    await story.respond()
    await story.appoint_panel()
    return events


async def _cases(client: DueProcessClient, store: EventStore, cases: int,
                 concurrency: int) -> dict[str, float]:
    policy = compressed(load_policy_file(None))
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await _case(client, policy)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(cases)))
    elapsed = time.perf_counter() - start
    updates = cases * 9
    case_events = cases * 9  # one domain event per update on this script
    return {"seconds": elapsed, "updates_per_s": updates / elapsed,
            "domain_events_per_s": case_events / elapsed}


async def main(quick: bool) -> dict[str, Any]:
    cases, bare_total, concurrency, runs = (20, 100, 10, 1) if quick else (60, 300, 16, 3)
    with tempfile.TemporaryDirectory(prefix="dp-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        dsn = await asyncio.to_thread(pg.start)
        temporal = DevTemporal(Path(tmp), ui=False, search_attributes=registrations())
        try:
            address = await temporal.start()
            import asyncpg
            from dueprocess.store.migrations import migrate

            pool = await asyncpg.create_pool(dsn, min_size=2, max_size=20)
            assert pool is not None
            async with pool.acquire() as conn:
                await migrate(conn)
            store = EventStore(pool)
            client = await Client.connect(address, data_converter=pydantic_data_converter)
            await namespace_ready(client)
            notes = NotificationActivities(pool, store, FileSink(Path(tmp) / "outbox"), "b@x")
            async with Worker(client, task_queue=QUEUE, workflows=[CaseWorkflow, BareWorkflow],
                              activities=[EventStoreActivities(store).append_events,
                                          EventStoreActivities(store).load_stream,
                                          notes.dispatch_notifications, bare_step,
                                          RulebookActivities(demo_rulebook(
                                              load_policy_file(None))).load_rulebook,
                                          ReporterActivities(pool, store).load_reporter_record,
                                          RespondentActivities(pool, store).load_respondent_record],
                              max_concurrent_workflow_tasks=100,
                              max_concurrent_activities=100):
                await _bare(client, 20, concurrency)  # warm-up
                bare = [await _bare(client, bare_total, concurrency) for _ in range(runs)]
                dp = [await _cases(DueProcessClient(client, QUEUE), store, cases, concurrency)
                      for _ in range(runs)]
            await pool.close()
        finally:
            await temporal.stop()
            await asyncio.to_thread(pg.stop)
    bare_median = statistics.median(bare)
    dp_events = statistics.median(d["domain_events_per_s"] for d in dp)
    result = {
        "bare_workflows_per_s": round(bare_median, 1),
        "bare_runs": [round(b, 1) for b in bare],
        "case_updates_per_s": round(statistics.median(d["updates_per_s"] for d in dp), 1),
        "case_domain_events_per_s": round(dp_events, 1),
        "case_runs": [round(d["domain_events_per_s"], 1) for d in dp],
        "ratio_events_vs_bare_workflows": round(dp_events / bare_median, 2),
        "cases": cases, "concurrency": concurrency, "runs": runs,
    }
    return result


def render(result: dict[str, Any]) -> str:
    return "\n".join([
        "| contender | per second (median) | runs |",
        "|---|--:|---|",
        f"| bare one-activity workflow (start → activity → result) | "
        f"{result['bare_workflows_per_s']} workflows | {result['bare_runs']} |",
        f"| CaseWorkflow Updates (decide → one append activity → evolve) | "
        f"{result['case_updates_per_s']} updates | |",
        f"| domain events recorded through CaseWorkflow | "
        f"{result['case_domain_events_per_s']} events | {result['case_runs']} |",
        "",
        f"{result['cases']} cases x 9 Updates, {result['concurrency']} at once; "
        f"events per second / bare workflows per second = "
        f"{result['ratio_events_vs_bare_workflows']}.",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.quick))
    if args.json:
        args.json.write_text(json.dumps(outcome, indent=2))
    print(render(outcome))
