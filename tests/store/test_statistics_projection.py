"""The statistics read model (issue 14): the case_statistics projection keeps one summary
row per case, refolding only the case an event belongs to, and the statistics summed from
those rows equal the statistics folded from the whole log, for any period, as cases go on,
and after a rebuild. The rows hold no personal data."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.cli.main import build_parser
from dueprocess.cli.stats import _stats
from dueprocess.domain.envelope import NewEvent, envelope_for
from dueprocess.services.statistics import log_statistics, projected_statistics
from dueprocess.settings import Settings
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import CaseStatisticsProjection, ProjectionRunner
from fixtures import case_examples as ex
from fixtures.events import ev
from fixtures.statistics_cases import CASES, DAY, LATER, Case, happy

PERIODS: list[tuple[datetime | None, datetime | None]] = [
    (None, None), (LATER, None), (None, LATER), (ex.T0, ex.T0 + DAY), (LATER + DAY, None)]


def _new(case: Case) -> list[NewEvent]:
    return [envelope_for(e, event_id=uuid.uuid4(), recorded_at=e.effective_at)
            for e in case.events]


async def _assert_agree(pool: asyncpg.Pool, store: EventStore) -> None:
    for start, end in PERIODS:
        projected = await projected_statistics(pool, period_from=start, period_to=end)
        assert projected == await log_statistics(store, period_from=start, period_to=end)


async def _rows(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch("SELECT * FROM case_statistics ORDER BY 1")]


async def test_the_read_model_gives_the_statistics_of_the_log_as_cases_go_on(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    # given five realistic cases each recorded half way, and a stream that is not a case
    cases = [build(f"s{i}") for i, build in enumerate(CASES)]
    for case in cases:
        await store.append(case.stream_id, 0, _new(case)[:len(case.events) // 2])
    await store.append("notes-1", 0, [ev()])
    runner = ProjectionRunner(pool, store, [CaseStatisticsProjection()], batch_size=7)
    # when the projection catches up
    assert await runner.catch_up() > 0
    # then the statistics from its rows are those of the log, whatever the period
    await _assert_agree(pool, store)
    assert len(await _rows(pool)) == len(cases)

    # when the rest of each case is recorded, a few events at a time, and it catches up
    for case in cases:
        events = _new(case)
        for at in range(len(events) // 2, len(events), 3):
            await store.append(case.stream_id, at, events[at:at + 3])
    assert await runner.catch_up() > 0
    # then they agree again, every event of every case counted once
    await _assert_agree(pool, store)
    stats = await projected_statistics(pool)
    assert stats.cases == len(cases) and stats.appeals.decided == 2
    assert stats.generated_from_events == sum(len(c.events) for c in cases)

    # and a rebuild from the log gives the same rows
    live = await _rows(pool)
    assert [r["version"] for r in live] == [len(c.events) for c in cases]
    await runner.rebuild()
    assert await _rows(pool) == live


async def test_the_rows_hold_no_personal_data(pool: asyncpg.Pool, store: EventStore) -> None:
    # given every realistic case recorded and projected
    for i, build in enumerate(CASES):
        case = build(f"s{i}")
        await store.append(case.stream_id, 0, _new(case))
    await ProjectionRunner(pool, store, [CaseStatisticsProjection()]).catch_up()
    # when the table is read as text
    text = str(await pool.fetch("SELECT reported_at, contribution FROM case_statistics"))
    # then no person id and no personal value is in it
    people = [ex.COMPLAINANT_ID, ex.RESPONDENT_ID, ex.WITNESS_ID, ex.INTAKE_ID, ex.DETECTOR_ID,
              ex.OFFICER_ID, ex.INVESTIGATOR_ID, *ex.PANEL_IDS, *ex.APPEAL_PANEL_IDS]
    values = ["Ada Member", "ada@example.org", "Bob Respondent", "bob@example.org",
              "what happened", "I deny it", "The facts are wrong", "Risk to members"]
    assert [s for s in people + values if s.lower() in text.lower()] == []
    assert '"pii"' not in text and "subject_id" not in text


async def test_a_period_without_an_aware_bound_is_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await projected_statistics(pool, period_from=LATER.replace(tzinfo=None))


async def test_stats_reads_the_read_model_and_says_when_it_is_behind(
    db_dsn: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a case recorded and not yet projected
    case = happy("late")
    await store.append(case.stream_id, 0, _new(case))
    settings = Settings.from_env({"DUEPROCESS_DATABASE_URL": db_dsn,
                                  "DUEPROCESS_DATA_DIR": str(tmp_path / "cli")})
    args = build_parser().parse_args(["stats", "--json"])
    capsys.readouterr()
    # when `dueprocess stats` is asked, then it gives the read model's figures (none yet)
    # and says on stderr how far behind the log they are
    assert await _stats(args, settings) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["cases"] == 0
    assert f"{len(case.events)} event(s) behind the log" in out.err
    # when the projection has caught up, then the figures are the log's, with no note
    await ProjectionRunner(pool, store, [CaseStatisticsProjection()]).catch_up()
    assert await _stats(args, settings) == 0
    out = capsys.readouterr()
    figures = json.loads(out.out)
    figures.pop("backlog_ageing")  # the open cases' ageing now: not a figure of the log's
    assert figures == (await log_statistics(store)).model_dump(mode="json")
    assert out.err == ""
