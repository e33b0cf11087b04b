"""Backlog ageing (issue 15): open cases by stage, counted by how long they have been in it
(under 7 days, 7 to 28 days, over 28 days), read from the case list; shown by `stats`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from dueprocess.services.statistics import ageing_by_stage

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def _case(pool: asyncpg.Pool, case_id: str, stage: str,
                entered: datetime | None) -> None:
    # The case list row as the projection writes it (only the columns ageing reads matter).
    await pool.execute(
        """INSERT INTO case_list (case_id, stage, updated_at, version, stage_entered_at)
           VALUES ($1, $2, $3, 1, $4)""", case_id, stage, NOW, entered)


async def test_open_cases_are_counted_by_days_in_their_stage(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Given open cases in their stages for 1, 7, 28 and 40 days, one of unknown age,
    # and a closed case
    await _case(pool, "a", "under_investigation", NOW - DAY)
    await _case(pool, "b", "under_investigation", NOW - 7 * DAY)
    await _case(pool, "c", "under_investigation", NOW - 28 * DAY)
    await _case(pool, "d", "under_investigation", NOW - 40 * DAY)
    await _case(pool, "e", "notice_issued", NOW - 29 * DAY)
    await _case(pool, "f", "notice_issued", None)
    await _case(pool, "g", "closed", NOW - 100 * DAY)
    # When backlog ageing is read
    ageing = await ageing_by_stage(pool, NOW)
    # Then each open case is in its band (7 and 28 days both count as 7-28), closed ones not
    assert ageing == {
        "notice_issued": {"under_7_days": 0, "7_to_28_days": 0, "over_28_days": 1,
                          "unknown": 1},
        "under_investigation": {"under_7_days": 1, "7_to_28_days": 2, "over_28_days": 1,
                                "unknown": 0},
    }

    # And `dueprocess stats` shows it, in text and JSON
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    listed = await asyncio.to_thread(cli, "stats", "--json")
    assert listed.returncode == 0, listed.stderr
    # (read at the real now: these rows are years older than that, or of unknown age)
    assert json.loads(listed.stdout)["backlog_ageing"]["notice_issued"] == {
        "under_7_days": 0, "7_to_28_days": 0, "over_28_days": 1, "unknown": 1}
    text = await asyncio.to_thread(cli, "stats")
    assert "backlog ageing" in text.stdout
    assert "notice_issued 0/0/1 (+1 unknown)" in text.stdout
