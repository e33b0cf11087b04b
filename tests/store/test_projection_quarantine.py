"""Projections never die silently: a poison event is quarantined (or halts its projection,
by configuration), the others go on, status shows it, and audit names it as a finding."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import NewEvent, envelope_for
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import (
    ProjectionRunner,
    default_projections,
    projection_status,
)
from fixtures.case_examples import T0, example_policy, file_report

NAMES = ["case_list", "member_standing"]


def _report(case_id: str) -> NewEvent:
    event = dc.decide(dc.CaseState.empty(case_id), file_report(policy=example_policy()), T0)[0]
    return envelope_for(event, event_id=uuid.uuid4(), recorded_at=T0)


def _poison(case_id: str) -> NewEvent:
    """Issue 11: a report stored before policies were bounded, pinning a 3,000,000-day
    appeal window; today's model refuses to read it."""
    good = _report(case_id)
    payload: dict[str, Any] = json.loads(json.dumps(good.payload))
    payload["pinned_versions"][0]["deadlines"]["appeal_window"] = "P3000000D"
    return good.model_copy(update={"payload": payload})


async def _given_poison_then_good(store: EventStore) -> None:
    await store.append("case-poison", 0, [_poison("poison")])
    await store.append("case-good", 0, [_report("good")])


async def test_a_poison_event_is_quarantined_and_the_projections_go_on(
    pool: asyncpg.Pool, store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a poison event followed by a good one
    await _given_poison_then_good(store)
    runner = ProjectionRunner(pool, store, default_projections(example_policy()))
    # When the projections catch up
    with caplog.at_level(logging.ERROR, logger="dueprocess.projections"):
        await runner.catch_up()
    # Then the good case is listed, the poison one is not
    listed = {r["case_id"] for r in await pool.fetch("SELECT case_id FROM case_list")}
    assert listed == {"good"}
    # And status shows each projection caught up, with the poison event quarantined
    statuses = {s.name: s for s in await projection_status(pool, NAMES)}
    case_list = statuses["case_list"]
    assert (case_list.lag, case_list.errors, case_list.halted) == (0, 1, False)
    [quarantined] = case_list.quarantined
    assert quarantined["stream_id"] == "case-poison"
    assert "appeal_window" in quarantined["error"]
    assert statuses["member_standing"].lag == 0
    # And the worker's log says so
    assert any("cannot apply event" in r.getMessage() for r in caplog.records)
    # And a rebuild starts the quarantine afresh, arriving at the same place
    await runner.rebuild()
    assert len((await projection_status(pool, ["case_list"]))[0].quarantined) == 1


async def test_a_projection_configured_to_halt_stops_visibly_at_the_poison_event(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _given_poison_then_good(store)
    runner = ProjectionRunner(pool, store, default_projections(example_policy()),
                              on_error="halt")
    await runner.catch_up()
    [status] = await projection_status(pool, ["case_list"])
    assert status.halted and status.lag == 2 and status.quarantined == []
    assert status.last_error is not None and "appeal_window" in status.last_error
    assert await pool.fetchval("SELECT count(*) FROM case_list") == 0


async def test_the_run_loop_survives_the_poison_event(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await _given_poison_then_good(store)
    runner = ProjectionRunner(pool, store, default_projections(example_policy()))
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run(stop, interval=0.05))
    while await pool.fetchval("SELECT count(*) FROM case_list") == 0:
        assert not loop.done(), loop
        await asyncio.sleep(0.05)
    await store.append("case-later", 0, [_report("later")])
    while await pool.fetchval("SELECT count(*) FROM case_list") < 2:
        assert not loop.done(), loop
        await asyncio.sleep(0.05)
    stop.set()
    await loop


async def test_status_and_audit_report_the_poison_as_findings_not_tracebacks(
    db_dsn: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    await _given_poison_then_good(store)
    await ProjectionRunner(pool, store, default_projections(example_policy())).catch_up()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    status = await asyncio.to_thread(cli, "projections", "status", "--json")
    assert status.returncode == 1, status.stderr
    doc = {s["name"]: s for s in json.loads(status.stdout)}
    assert doc["case_list"]["quarantined"][0]["stream_id"] == "case-poison"
    audit = await asyncio.to_thread(cli, "audit", "case", "poison", "--json")
    assert audit.returncode == 1 and "Traceback" not in audit.stderr, audit.stderr
    finding = json.loads(audit.stdout)
    assert finding["ok"] is False
    failed = {c["check_id"] for c in finding["checks"] if c["status"] == "fail"}
    assert failed & {"events-readable", "stored-record-readable"}, finding["checks"]


async def test_a_crashed_projection_loop_is_logged_and_restarted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import dueprocess.worker_tasks as tasks

    runs: list[int] = []

    class CrashesOnce:
        async def run(self, stop: asyncio.Event) -> None:
            runs.append(1)
            if len(runs) == 1:
                raise RuntimeError("boom")
            stop.set()

    monkeypatch.setattr(tasks, "projection_runner", lambda runtime: CrashesOnce())
    with caplog.at_level(logging.ERROR, logger="dueprocess"):
        await tasks.keep_projections(cast(Any, None), asyncio.Event(), pause=0.01)
    assert len(runs) == 2
    assert "projection loop crashed; restarting it" in caplog.text
