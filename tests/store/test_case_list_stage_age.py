"""The case list records when each case entered its current stage (issue 15): the effective
time of the event that changed the stage, not of later events within it; `dueprocess
cases` shows the stage's age."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import NewEvent, envelope_for
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from fixtures.case_examples import example_policy, happy_path

STEPS = {step.name: step for step in happy_path()}


async def _record(store: EventStore, state: dc.CaseState, name: str,
                  shift: timedelta) -> dc.CaseState:
    """Decide the example step ``name``, ``shift`` later than the example, and store it."""
    step = STEPS[name]
    events = dc.decide(state, step.command, step.now + shift)
    new: list[NewEvent] = [envelope_for(e, event_id=uuid.uuid4(), recorded_at=e.effective_at)
                           for e in events]
    await store.append(f"case-{state.case_id}", state.events_folded, new)
    for event in events:
        state = dc.evolve(state, event)
    return state


async def _entered(pool: asyncpg.Pool, case_id: str) -> tuple[str, datetime]:
    row = await pool.fetchrow(
        "SELECT stage, stage_entered_at FROM case_list WHERE case_id = $1", case_id)
    assert row is not None
    return row["stage"], row["stage_entered_at"]


async def test_stage_entered_at_is_when_the_stage_changed(
    db_dsn: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    runner = ProjectionRunner(pool, store, default_projections(example_policy()))
    # Given a case filed, acknowledged and triaged for investigation 30 days ago
    shift = datetime.now(UTC) - timedelta(days=30) - STEPS["file"].now
    state = dc.CaseState.empty("aged")
    for name in ("file", "acknowledge", "triage"):
        state = await _record(store, state, name, shift)
    await runner.catch_up()
    triaged_at = STEPS["triage"].now + shift
    # Then the case list says it entered its stage when it was triaged
    assert await _entered(pool, "aged") == ("under_investigation", triaged_at)
    # When an event that leaves the stage alone is recorded later
    state = await _record(store, state, "assign", shift + timedelta(days=3))
    await runner.catch_up()
    # Then the stage's entry time stays that of the triage
    assert await _entered(pool, "aged") == ("under_investigation", triaged_at)
    # When notice moves it on
    state = await _record(store, state, "notice", shift + timedelta(days=3))
    await runner.catch_up()
    noticed_at = STEPS["notice"].now + shift + timedelta(days=3)
    assert await _entered(pool, "aged") == ("notice_issued", noticed_at)
    # And a rebuild gives the same
    await runner.rebuild("case_list")
    assert await _entered(pool, "aged") == ("notice_issued", noticed_at)

    # And `dueprocess cases` shows the stage's age, in text and JSON
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    listed = await asyncio.to_thread(cli, "cases", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert datetime.fromisoformat(row["stage_entered_at"]) == noticed_at
    assert row["stage_age_days"] == (datetime.now(UTC) - noticed_at).days
    text = await asyncio.to_thread(cli, "cases")
    assert f"in-stage={row['stage_age_days']}d" in text.stdout
