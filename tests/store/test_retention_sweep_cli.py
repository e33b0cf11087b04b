"""`dueprocess retention sweep --dry-run` against a real store: the closed cases that have a
retention period are listed with their retention end, those without one are counted, and
nothing is started (no Temporal needed)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.policy import Retention
from dueprocess.domain.streams import case_stream
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from fixtures import case_examples as ex

PERIOD = timedelta(days=30)
RETENTION = Retention(dismissed=PERIOD, not_upheld=PERIOD, sanctioned=PERIOD,
                      membership=PERIOD)
OFFICER = ex.actor("case_officer")


async def closed(store: EventStore, case_id: str, retention: Retention | None) -> dc.CaseState:
    base = ex.example_policy()
    policy = base.model_copy(update={"versions": [
        v.model_copy(update={"retention": retention}) for v in base.versions]})
    state, envelopes = dc.CaseState.empty(case_id), []
    steps: list[tuple[dc.CaseCommand, datetime]] = [
            (ex.file_report(policy=policy), ex.T0),
            (dc.TriageCase(actor=OFFICER, authority=ex.AUTHORITY,
                           outcome=dc.TriageOutcome.DISMISS, reasons="Out of scope.",
                           dismissal_reason=dc.DismissalReason.NO_CASE_TO_ANSWER),
             ex.T0 + timedelta(hours=1)),
            (dc.CloseCase(actor=OFFICER, authority=ex.AUTHORITY), ex.T0 + timedelta(days=1))]
    for command, now in steps:
        for event in dc.decide(state, command, now):
            state = dc.evolve(state, event)
            envelopes.append(envelope_for(event, event_id=uuid.uuid4(), recorded_at=now))
    await store.append(case_stream(case_id), 0, envelopes)
    return state


async def test_a_dry_run_lists_the_closed_cases_a_sweep_would_time(
        db_dsn: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path) -> None:
    # Given two closed cases on the case list, one under a rulebook with retention
    timed = await closed(store, "timed", RETENTION)
    await closed(store, "kept", None)
    await ProjectionRunner(pool, store, default_projections(ex.example_policy())).catch_up()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}
    # When the sweep is run as a dry run
    out = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "dueprocess", "retention", "sweep", "--dry-run", "--json"],
        env=env, capture_output=True, text=True, timeout=120)
    # Then the case with a period is listed with its end, the other counted, none started
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert timed.closed_at is not None and report["dry_run"]
    assert list(report["timed"]) == ["timed"]
    assert datetime.fromisoformat(report["timed"]["timed"]) == timed.closed_at + PERIOD
    assert report["without_period"] == ["kept"]
