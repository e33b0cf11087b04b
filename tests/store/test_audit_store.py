"""The audit over a history written straight to the real store, bypassing the deciders.

The deciders would refuse this history (a decision relying on evidence never disclosed),
which is exactly why the audit must judge the stored events themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.base import Actor, personal
from dueprocess.domain.case.events import (
    CaseEvent,
    CaseTriaged,
    DecisionRecorded,
    HearingHeld,
    HearingScheduled,
    InvestigatorAssigned,
    NoticeIssued,
    PanelAppointed,
    ReportAcknowledged,
    ReportFiled,
)
from dueprocess.domain.case.values import (
    Admissibility,
    Allegation,
    AutomatedDecision,
    Complainant,
    ComplainantKind,
    EvidenceItem,
    Finding,
    NoticedAllegation,
    PanelMember,
    Respondent,
    Sanction,
)
from dueprocess.domain.envelope import NewEvent
from dueprocess.domain.policy import (
    Deadlines,
    EvidencePolicy,
    PolicyVersion,
    Rule,
    SanctionKind,
    SourceKind,
)
from dueprocess.services.case_audit import audit_stored_case
from dueprocess.store.db import create_pool
from dueprocess.store.eventstore import EventStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFICER = Actor(id="officer-1", role="case_officer")
PANELLIST = Actor(id="panel-1", role="panel_member")
D = timedelta(days=1)

VERSION = PolicyVersion(
    version="2026.1", effective_from=date(2025, 1, 1),
    rules=[Rule(rule_id="R1", title="Abuse", definition="No abuse.", examples=["Threats."],
                allowed_sanctions=[SanctionKind.WARNING])],
    statuses={"interim_suspended": [], "warned": [], "suspended": [], "expelled": []},
    deadlines=Deadlines(acknowledge=7 * D, respond=14 * D, minimum_hearing_notice=14 * D,
                        disclosure_lead_time=7 * D, appeal_window=28 * D,
                        interim_suspension_review=56 * D, rejoin_continuity_window=90 * D),
    evidence=EvidencePolicy(acceptable_source_kinds=[SourceKind.PUBLIC_POST]),
)


def meta(actor: Actor, at: datetime) -> dict[str, Any]:
    return {"actor": actor, "authority": "policy:2026.1#procedure", "effective_at": at}


def broken_history() -> list[CaseEvent]:
    """A case heard and decided on evidence the respondent never saw."""
    threats = personal("resp-1", "posted threats")
    return [
        ReportFiled(
            **meta(Actor(id="comp-1", role="complainant"), T0), case_id="X",
            complainant=Complainant(kind=ComplainantKind.MEMBER, person_id="comp-1",
                                    name=personal("comp-1", "Casey")),
            respondent=Respondent(person_id="resp-1", name=personal("resp-1", "Robin")),
            allegations=[Allegation(allegation_id="a1", rule_id="R1",
                                    conduct_date=date(2026, 2, 20), particulars=threats)],
            evidence=[EvidenceItem(evidence_id="ev-1", description=personal("resp-1", "post"),
                                   source_kind=SourceKind.PUBLIC_POST, captured_by="comp-1",
                                   captured_at=T0 - D, captured_from="forum",
                                   content_hash="sha256:00")],
            admissibility=[Admissibility(evidence_id="ev-1", admissible=True)],
            good_faith_declaration=True, automated=False, policy_id="code",
            procedure_version="2026.1", rule_versions={"a1": "2026.1"},
            pinned_versions=[VERSION]),
        ReportAcknowledged(**meta(OFFICER, T0 + D)),
        CaseTriaged(**meta(OFFICER, T0 + 2 * D), reasons="a case to answer",
                    reviewed_by="officer-1"),
        InvestigatorAssigned(**meta(OFFICER, T0 + 2 * D), investigator_id="inv-1"),
        NoticeIssued(
            **meta(Actor(id="inv-1", role="investigator"), T0 + 3 * D),
            allegations=[NoticedAllegation(allegation_id="a1", rule_id="R1", rule_title="Abuse",
                                           policy_version="2026.1",
                                           conduct_date=date(2026, 2, 20), particulars=threats)],
            possible_consequences=[SanctionKind.WARNING], complainant_identified=True,
            response_due=T0 + 17 * D),
        PanelAppointed(**meta(OFFICER, T0 + 6 * D),
                       members=[PanelMember(member_id="panel-1", declared=True)]),
        HearingScheduled(**meta(OFFICER, T0 + 6 * D), at=T0 + 24 * D, location="Room 1"),
        HearingHeld(**meta(PANELLIST, T0 + 24 * D), attendees=["panel-1", "resp-1"],
                    respondent_attended=True),
        DecisionRecorded(
            **meta(PANELLIST, T0 + 25 * D),
            findings=[Finding(allegation_id="a1", upheld=True, findings=threats,
                              reasons="threats under R1", relied_on_evidence=["ev-1"],
                              sanction=Sanction(kind=SanctionKind.WARNING))],
            upheld=True, sanction=Sanction(kind=SanctionKind.WARNING), automated_detection=False,
            automated_decision=AutomatedDecision.NOT_AUTOMATED, how_to_appeal="write to us",
            appeal_deadline=T0 + 53 * D),
    ]


def as_new(event: CaseEvent) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), event_type=event.type,
                    payload=event.model_dump(mode="json"), actor=event.actor,
                    authority=event.authority, recorded_at=event.effective_at,
                    effective_at=event.effective_at)


async def test_audit_names_the_decision_that_relied_on_undisclosed_evidence(
    store: EventStore,
) -> None:
    written = [as_new(e) for e in broken_history()]
    await store.append("case-X", 0, written)

    stored = await store.read_stream("case-X")
    result = audit_case(stored, now=T0 + 30 * D)

    assert result.case_id == "X" and not result.ok
    disclosure = next(c for c in result.checks if c.check_id == "disclosure-before-reliance")
    assert disclosure.status is CheckStatus.FAIL
    [offending] = disclosure.offending
    decision = written[-1]
    assert (offending.event_id, offending.stream_version, offending.event_type) == (
        decision.event_id, len(written), "DecisionRecorded")
    assert "'ev-1'" in disclosure.explanation and "never disclosed" in disclosure.explanation
    # Personal data went through encryption and back, and every event still reads.
    readable = next(c for c in result.checks if c.check_id == "events-readable")
    assert readable.status is CheckStatus.PASS
    assert [t.event_type for t in result.timeline] == [e.event_type for e in written]


def _cli(db_dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    env["DUEPROCESS_DATABASE_URL"] = db_dsn
    return subprocess.run([sys.executable, "-m", "dueprocess", *args, "--json"], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_the_cli_fails_the_audit_and_the_verify_naming_the_events(
    store: EventStore, pool: asyncpg.Pool, db_dsn: str
) -> None:
    written = [as_new(e) for e in broken_history()]
    await store.append("case-X", 0, written)

    audit = await asyncio.to_thread(_cli, db_dsn, "audit", "case", "X")
    assert audit.returncode == 1, audit.stderr
    failed = {c["check_id"]: c for c in json.loads(audit.stdout)["checks"]
              if c["status"] == "fail"}
    assert failed["disclosure-before-reliance"]["offending"][0]["event_type"] == \
        "DecisionRecorded"

    assert (await asyncio.to_thread(_cli, db_dsn, "verify")).returncode == 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        await conn.execute("""UPDATE events SET data = convert_to(replace(
            convert_from(data, 'UTF8'), 'comp-1', 'comp-2'), 'UTF8')
            WHERE stream_id = 'case-X' AND stream_version = 1""")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
    verify = await asyncio.to_thread(_cli, db_dsn, "verify")
    assert verify.returncode == 1
    [problem] = json.loads(verify.stdout)["problems"]
    assert (problem["stream_id"], problem["stream_version"], problem["kind"]) == (
        "case-X", 1, "altered")
    assert problem["event_id"] == str(written[0].event_id)
    # and the audit of the case is not green about its record either: it names the event
    checks = {c["check_id"]: c for c in json.loads(audit.stdout)["checks"]}
    assert checks["stored-record-intact"]["status"] == "pass"  # before the change
    tampered = await asyncio.to_thread(_cli, db_dsn, "audit", "case", "X")
    assert tampered.returncode == 1, tampered.stderr
    record = {c["check_id"]: c for c in json.loads(tampered.stdout)["checks"]}[
        "stored-record-intact"]
    assert record["status"] == "fail" and "case-X v1: altered" in record["explanation"]


async def test_the_audit_of_a_case_changed_in_the_database_is_not_green(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    # Given a case recorded through the store
    written = [as_new(e) for e in broken_history()]
    await store.append("case-Y", 0, written)
    before = await audit_stored_case(store, pool, "Y", T0 + 30 * D)
    assert before is not None
    intact = {c.check_id: c for c in before.checks}["stored-record-intact"]
    assert intact.status is CheckStatus.PASS
    # When whoever runs the database rewrites an event so that it still reads (its
    # authority), triggers off, as an insider can
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        await conn.execute("""UPDATE events SET data = convert_to(replace(
            convert_from(data, 'UTF8'), 'policy:2026.1#procedure', 'policy:2026.1#procedurX'),
            'UTF8') WHERE stream_id = 'case-Y' AND stream_version = 2""")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
    # Then the audit still reads the case, and fails it naming the changed event
    after = await audit_stored_case(store, pool, "Y", T0 + 30 * D)
    assert after is not None and not after.ok
    check = {c.check_id: c for c in after.checks}["stored-record-intact"]
    assert check.status is CheckStatus.FAIL and "case-Y v2: altered" in check.explanation
    assert [(o.stream_version, o.event_id) for o in check.offending] == [
        (2, written[1].event_id)]


async def test_a_database_gone_is_no_audit_finding(db_dsn: str) -> None:
    # Given a store whose database connections are gone (its pool closed)
    gone = await create_pool(db_dsn)
    await gone.close()
    # When a case is audited; then the outage is raised (exit 3 / 503 upstream), never
    # reported as a finding about the record
    with pytest.raises(asyncpg.InterfaceError):
        await audit_stored_case(EventStore(gone), gone, "Y", T0)
