"""`dueprocess cases` flags cases whose next deadline has passed, and `--overdue` lists
only those (issue 15: backlogs of untouched complaints)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.envelope import NewEvent, envelope_for
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from fixtures.case_examples import T0, example_policy, file_report


def _report(case_id: str, at: datetime) -> NewEvent:
    event = dc.decide(dc.CaseState.empty(case_id), file_report(policy=example_policy()), at)[0]
    return envelope_for(event, event_id=uuid.uuid4(), recorded_at=at)


async def test_cases_flags_overdue_and_filters_them(
    db_dsn: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    # Given a case reported long ago and never acknowledged, and one reported just now
    await store.append("case-old", 0, [_report("old", T0)])
    await store.append("case-new", 0, [_report("new", datetime.now(UTC))])
    await ProjectionRunner(pool, store, default_projections(example_policy())).catch_up()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    # When the case list is read
    listed = await asyncio.to_thread(cli, "cases", "--json")
    assert listed.returncode == 0, listed.stderr
    # Then the old case is overdue, the new one is not
    overdue = {r["case_id"]: r["overdue"] for r in json.loads(listed.stdout)}
    assert overdue == {"old": True, "new": False}
    text = await asyncio.to_thread(cli, "cases")
    [old_line] = [line for line in text.stdout.splitlines() if line.startswith("old")]
    assert old_line.endswith("OVERDUE") and "acknowledge@" in old_line
    # And --overdue lists only the overdue case
    only = await asyncio.to_thread(cli, "cases", "--overdue", "--json")
    assert [r["case_id"] for r in json.loads(only.stdout)] == ["old"]
