"""A case stays overdue after its deadline's miss is recorded and escalated, until the step
it waited for happens (issue 15), in every reader of the case list: `dueprocess cases`,
the list both clients and the API page through, and the statistics. A held report's hold
end shows in the list too."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.base import SYSTEM_ACTOR
from dueprocess.domain.case.values import TriageOutcome
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.policy import PolicyDocument, RepeatReporting
from dueprocess.domain.streams import case_stream
from dueprocess.services.case_list import list_cases
from dueprocess.services.statistics import overdue_by_stage
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from fixtures.case_examples import actor, example_policy, file_report

DAY = timedelta(days=1)
NOW = datetime.now(UTC)
HOLDS = RepeatReporting(threshold=3, window=180 * DAY, hold_period=90 * DAY,
                        warning="Several of your reports were manifestly unfounded.")


def _policy() -> PolicyDocument:
    base = example_policy()
    return base.model_copy(update={"versions": [
        v.model_copy(update={"repeat_reporting": HOLDS}) for v in base.versions]})


class Case:
    """A case decided step by step with the real decider, its events stored as recorded."""

    def __init__(self, store: EventStore, case_id: str) -> None:
        self.store, self.case_id = store, case_id
        self.state, self.version = dc.CaseState.empty(case_id), 0

    async def do(self, command: Any, at: datetime) -> list[dc.CaseEvent]:
        events = dc.decide(self.state, command, at)
        assert events, command
        await self.store.append(case_stream(self.case_id), self.version, [
            envelope_for(e, event_id=uuid.uuid4(), recorded_at=at) for e in events])
        self.version += len(events)
        self.state = dc.fold(events, self.state)
        return events

    def timer(self, kind: dc.DeadlineKind) -> dc.CaseCommand:
        [found] = [d for d in dc.pending_deadlines(self.state) if d.kind is kind]
        return found.command


async def test_an_escalated_case_stays_overdue_until_triaged_and_a_hold_shows_its_end(
    db_dsn: str, pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    # Given a report acknowledged 19 days ago whose triage deadline passed 5 days ago and
    # whose timer recorded the miss (escalated); its next pending deadline is in the future
    late = Case(store, "late")
    await late.do(file_report(policy=_policy()), NOW - 20 * DAY)
    await late.do(dc.AcknowledgeReport(actor=actor("case_officer"), authority="code#ack"),
                  NOW - 19 * DAY)
    due = NOW - 5 * DAY
    [missed] = await late.do(late.timer(dc.DeadlineKind.TRIAGE), due)
    assert isinstance(missed, dc.DeadlineMissed) and missed.next_step
    assert all(d.due_at > NOW for d in dc.pending_deadlines(late.state))
    # and a report held because its reporter was warned 10 days ago
    held = Case(store, "held")
    await held.do(file_report(policy=_policy()), NOW - DAY)
    warning = dc.ReporterWarning(case_id="case-w", warned_at=NOW - 10 * DAY,
                                 hold_until=NOW + 80 * DAY, involved=["staff-officer-9"])
    assert held.state.report is not None
    record = dc.ReporterRecord(reporter_id=held.state.report.complainant.person_id,
                               warnings=[warning])
    await held.do(dc.HoldReport(actor=SYSTEM_ACTOR, authority="policy#repeat_reporting",
                                record=record), NOW - DAY)
    runner = ProjectionRunner(pool, store, default_projections(_policy()))
    await runner.catch_up()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dueprocess", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    # When the case list is read, then the escalated case is overdue since its deadline
    rows = {r["case_id"]: r for r in json.loads((await asyncio.to_thread(
        cli, "cases", "--overdue", "--json")).stdout)}
    assert list(rows) == ["late"]
    assert datetime.fromisoformat(rows["late"]["overdue_since"]) == due
    page = await list_cases(pool, NOW, overdue=True)
    assert [(c.case_id, c.overdue, c.overdue_since) for c in page.items] == [
        ("late", True, due)]
    assert await overdue_by_stage(pool, NOW) == {"acknowledged": 1}
    # (the list's SQL judges as the domain's overdue_at does, for every case)
    listed = {c.case_id: c.overdue for c in (await list_cases(pool, NOW)).items}
    assert listed == {c.case_id: dc.overdue_at(c.state, NOW) for c in (late, held)}
    # and the held report shows when its hold ends
    text = (await asyncio.to_thread(cli, "cases")).stdout
    [line] = [x for x in text.splitlines() if x.startswith("held")]
    assert "held-until=" in line and "OVERDUE" not in line
    [row] = (await list_cases(pool, NOW, stage=dc.CaseStage.HELD)).items
    assert row.held_until == NOW + 80 * DAY
    # When the late report is triaged, then it is overdue no more
    await late.do(dc.TriageCase(actor=actor("case_officer"), authority="code#triage",
                                outcome=TriageOutcome.INVESTIGATE, reasons="A case to answer."),
                  NOW - DAY)
    await runner.catch_up()
    assert (await list_cases(pool, NOW, overdue=True)).items == []
    assert await overdue_by_stage(pool, NOW) == {}
    assert not dc.overdue_at(late.state, NOW)
