"""`dueprocess retention sweep --dry-run` against a real store: the closed cases that have a
retention period are listed with their retention end, those without one are counted, the
ended memberships are listed with theirs (under the published rulebook), and nothing is
started (no Temporal needed)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
from dueprocess.domain import case as dc
from dueprocess.domain.base import Actor
from dueprocess.domain.envelope import envelope_for
from dueprocess.domain.membership.member import RecordJoined, RecordResigned
from dueprocess.domain.policy import PolicyDocument, Retention
from dueprocess.domain.rulebook import POLICY_ADMIN_ROLE
from dueprocess.domain.streams import case_stream
from dueprocess.services.members import MemberService
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from fixtures import case_examples as ex

PERIOD = timedelta(days=30)
RETENTION = Retention(dismissed=PERIOD, not_upheld=PERIOD, sanctioned=PERIOD,
                      membership=PERIOD)
OFFICER = ex.actor("case_officer")


def with_retention(retention: Retention | None) -> PolicyDocument:
    base = ex.example_policy()
    return base.model_copy(update={"versions": [
        v.model_copy(update={"retention": retention}) for v in base.versions]})


async def resigned(store: EventStore, member: str) -> datetime:
    """A member who joined in 2020 and resigned at T0; returns when it ended."""
    admin = Actor(id="backoffice-1", role="membership_admin")
    service = MemberService(store, with_retention(RETENTION))
    await service.record(member, RecordJoined(actor=admin, authority="bylaws",
                                              membership_number="N-1",
                                              joined_on=date(2020, 1, 1)), ex.T0)
    await service.record(member, RecordResigned(actor=admin, authority="bylaws",
                                                in_protest=False), ex.T0)
    state, _ = await service.load(member)
    assert state.left_at is not None
    return state.left_at


async def closed(store: EventStore, case_id: str, retention: Retention | None) -> dc.CaseState:
    policy = with_retention(retention)
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
    # and a membership ended, under a published rulebook that sets its period
    await RulebookService(store).publish(with_retention(RETENTION), Actor(
        id="admin-1", role=POLICY_ADMIN_ROLE), "constitution")
    ended = await resigned(store, "m-left")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")},
           "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_DATA_DIR": str(tmp_path)}
    # When the sweep is run as a dry run
    out = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "dueprocess", "retention", "sweep", "--dry-run", "--json"],
        env=env, capture_output=True, text=True, timeout=120)
    # Then the case with a period is listed with its end, the other counted, the ended
    # membership listed with its end, and none started
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert timed.closed_at is not None and report["dry_run"]
    assert list(report["timed"]) == ["timed"]
    assert datetime.fromisoformat(report["timed"]["timed"]) == timed.closed_at + PERIOD
    assert report["without_period"] == ["kept"]
    assert list(report["members_timed"]) == ["m-left"]
    assert datetime.fromisoformat(report["members_timed"]["m-left"]) == ended + PERIOD
