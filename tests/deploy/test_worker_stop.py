"""A worker stops promptly whatever its projections are doing: with a large backlog still
being projected, run_worker returns within a generous bound of the stop (SIGTERM in
`dueprocess worker`), on a real database and a real Temporal test server."""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path

from dueprocess.domain import case as dc
from dueprocess.domain.envelope import envelope_for
from dueprocess.settings import Settings
from dueprocess.store.projections import projection_status
from dueprocess.worker import open_runtime, run_worker
from fixtures.case_examples import T0, example_policy, file_report
from temporalio.testing import WorkflowEnvironment

BACKLOG = 400  # reports of one respondent: each member-standing batch refolds them all
STOP_BOUND_SECONDS = 10  # the bound for a stop; not a performance assertion


async def test_a_worker_stops_within_the_bound_while_its_projections_have_a_backlog(
    db_dsn: str, test_env: WorkflowEnvironment, tmp_path: Path,
) -> None:
    settings = Settings.from_env({
        "DUEPROCESS_DATABASE_URL": db_dsn,
        "DUEPROCESS_TEMPORAL_ADDRESS": test_env.client.service_client.config.target_host,
        "DUEPROCESS_DATA_DIR": str(tmp_path), "DUEPROCESS_SHUTDOWN_GRACE_SECONDS": "2",
        "DUEPROCESS_CHECKPOINT_INTERVAL": "0",
        "DUEPROCESS_PAYLOAD_KEY": base64.b64encode(bytes(32)).decode()})
    report = file_report(policy=example_policy())
    async with open_runtime(settings) as runtime:
        # given a backlog of reports
        for i in range(BACKLOG):
            event = dc.decide(dc.CaseState.empty(f"c{i}"), report, T0)[0]
            await runtime.store.append(
                f"case-c{i}", 0, [envelope_for(event, event_id=uuid.uuid4(), recorded_at=T0)])
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(runtime, stop))
        # when the worker is projecting it (some applied, more to come)
        while True:
            assert not worker.done(), worker
            status = {s.name: s for s in await projection_status(
                runtime.pool, ["case_list", "member_standing"])}
            if status["case_list"].global_position > 0:
                break
            await asyncio.sleep(0.05)
        assert status["member_standing"].lag > 0
        # then a stop ends it within the bound
        stop.set()
        await asyncio.wait_for(worker, timeout=STOP_BOUND_SECONDS)
