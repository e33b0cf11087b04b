"""`dueprocess worker`, a real process, stops on SIGTERM within the issue's bound while its
projections still have a backlog (the in-process version of this is test_worker_stop.py):
on a real database and a real Temporal test server, with the product's default settings
for everything but where the services are."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import envelope_for
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projection_runner import projection_status
from fixtures.case_examples import T0, example_policy, file_report
from temporalio.testing import WorkflowEnvironment

BACKLOG = 400  # reports of one respondent: each member-standing batch refolds them all
STOP_BOUND_SECONDS = 10  # the bound for a stop; not a performance assertion
START_PATIENCE_SECONDS = 300  # a loaded machine may take long to start projecting


async def _projecting(pool: asyncpg.Pool, worker: asyncio.subprocess.Process) -> None:
    """Until the worker has applied some of the backlog, with more to come."""
    while True:
        assert worker.returncode is None, "the worker exited before it was stopped"
        status = {s.name: s for s in await projection_status(
            pool, ["case_list", "member_standing"])}
        if status["case_list"].global_position > 0:
            assert status["member_standing"].lag > 0
            return
        await asyncio.sleep(0.05)


async def test_the_worker_process_stops_on_sigterm_while_projecting_a_backlog(
    db_dsn: str, pool: asyncpg.Pool, test_env: WorkflowEnvironment, tmp_path: Path,
) -> None:
    # given a backlog of reports in the log
    store = EventStore(pool)
    report = file_report(policy=example_policy())
    for i in range(BACKLOG):
        event = dc.decide(dc.CaseState.empty(f"c{i}"), report, T0)[0]
        await store.append(
            f"case-c{i}", 0, [envelope_for(event, event_id=uuid.uuid4(), recorded_at=T0)])
    env = {**os.environ,
           "DUEPROCESS_DATABASE_URL": db_dsn,
           "DUEPROCESS_TEMPORAL_ADDRESS": test_env.client.service_client.config.target_host,
           "DUEPROCESS_DATA_DIR": str(tmp_path),
           "DUEPROCESS_PAYLOAD_KEY": base64.b64encode(bytes(32)).decode()}
    # and `dueprocess worker` projecting it (its log in a file: a pipe nobody reads fills)
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dueprocess", "worker", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log)
    try:
        await asyncio.wait_for(_projecting(pool, worker), START_PATIENCE_SECONDS)
        # when it is sent SIGTERM
        worker.send_signal(signal.SIGTERM)
        # then it exits, cleanly, within the bound
        await asyncio.wait_for(worker.wait(), STOP_BOUND_SECONDS)
        assert worker.returncode == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        log.close()
