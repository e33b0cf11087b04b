"""Records over real cases (run through the real workflow): projections, the access log,
subject access, erasure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from dueprocess.activities.eventstore import EventStore
from dueprocess.activities.members import MemberService
from dueprocess.activities.projections import ProjectionRunner
from dueprocess.activities.verify import verify_store
from dueprocess.demo import Story
from dueprocess.domain.base import Actor, InvalidCommand, NotPermitted
from dueprocess.domain.member import RecordJoined
from dueprocess.records import ErasureBlocked, RecordsClient
from dueprocess.registration import projections
from dueprocess.workflows.case import case_stream
from temporalio.testing import WorkflowEnvironment

AUDITOR = Actor(id="aud-1", role="auditor")
DPO = Actor(id="dpo-1", role="data_protection_officer")


async def _closed_case(story: Story, env: WorkflowEnvironment) -> None:
    await story.file()
    await _close_filed_case(story, env)


async def _close_filed_case(story: Story, env: WorkflowEnvironment) -> None:
    await story.acknowledge_and_investigate()
    await story.suspend_pending_hearing()
    await story.notify_and_disclose()
    await story.respond()
    hearing_at = await story.schedule_hearing(timedelta(days=15))
    await env.sleep((hearing_at - await env.get_current_time()).total_seconds() + 60)
    await story.hold_hearing_and_suspend()
    await story.appeal_allowed_and_reinstate()
    await story.close()
    await env.client.get_workflow_handle(story.case_id).result()


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1")]
        for table in ("case_list", "member_standing")
    }


async def test_projections_rebuilt_from_the_log_equal_the_live_ones(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool
) -> None:
    members = MemberService(store, story.policy)
    await members.record(story.p.respondent, RecordJoined(
        actor=Actor(id="crm", role="membership_system"), authority="membership records",
        membership_number="M-1001", joined_on=date(2015, 3, 1)),
        datetime(2015, 3, 1, tzinfo=UTC))
    await _closed_case(story, env)
    runner = ProjectionRunner(pool, store, projections(story.policy))
    assert await runner.catch_up() > 0
    live = await _snapshot(pool)
    [case_row] = live["case_list"]
    assert case_row["stage"] == "closed" and case_row["respondent_id"] == story.p.respondent
    [member_row] = live["member_standing"]
    assert member_row["status"] == "member" and member_row["membership_number"] == "M-1001"
    assert set(member_row["rights"]) == {"vote", "stand_for_office", "attend"}
    assert member_row["continuous_since"] == date(2015, 3, 1)

    assert await runner.catch_up() == 0  # caught up: nothing applied twice
    await runner.rebuild()
    assert await _snapshot(pool) == live


async def test_every_read_is_on_the_record_and_respects_disclosure(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool
) -> None:
    await _closed_case(story, env)
    records = RecordsClient(store, pool)
    with pytest.raises(InvalidCommand) as missing:
        await records.read_case_file(story.case_id, AUDITOR, purpose=" ", authority="audit plan")
    assert missing.value.field == "purpose"

    item = await records.read_evidence(story.case_id, "E1", AUDITOR,
                                       purpose="annual due-process audit",
                                       authority="audit committee remit 2026")
    assert item.description.value == "Screenshot of the public post of 10 May"
    respondent = Actor(id=story.p.respondent, role="respondent")
    await records.read_case_file(story.case_id, respondent, purpose="preparing my appeal",
                                 authority="rulebook s.4.2", evidence_ids=["E1", "E2"])
    with pytest.raises(NotPermitted) as hidden:  # E3 was withheld, never disclosed
        await records.read_evidence(story.case_id, "E3", respondent, purpose="curious",
                                    authority="rulebook s.4.2")
    assert hidden.value.rule == "evidence-access"
    with pytest.raises(NotPermitted):
        await records.read_case_file(story.case_id, Actor(id="x", role="journalist"),
                                     purpose="story", authority="none")

    log = await records.access_log(story.case_id)
    assert [(e.reader.id, e.purpose, e.evidence_ids) for e in log] == [
        ("aud-1", "annual due-process audit", ["E1"]),
        (story.p.respondent, "preparing my appeal", ["E1", "E2"]),
    ]


async def test_subject_access_export_redacts_other_people(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool
) -> None:
    await _closed_case(story, env)
    export = await RecordsClient(store, pool).export_subject(
        story.p.respondent, DPO, authority="GDPR Art 15 request 2026-0042")
    text = str(export)
    assert "Daniel Okafor" in text  # the subject's own data, decrypted
    assert "Priya Shah" not in text and "priya@example.org" not in text  # others' redacted
    assert "[redacted]" in text
    assert {e["event_type"] for e in export["events"]} >= {"ReportFiled", "DecisionRecorded",
                                                          "AppealDecided"}


async def test_erasure_waits_for_closure_then_shreds_and_the_log_still_verifies(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool
) -> None:
    await story.file()
    records = RecordsClient(store, pool)
    with pytest.raises(ErasureBlocked) as blocked:
        await records.erase_subject(story.p.complainant, DPO, reason="Art 17 request",
                                    authority="GDPR Art 17")
    assert story.case_id in str(blocked.value)
    await _close_filed_case(story, env)

    result = await records.erase_subject(story.p.complainant, DPO, reason="Art 17 request",
                                         authority="GDPR Art 17")
    assert result.keys_destroyed == 1 and result.store_verifies
    [filed, *_] = await store.read_stream(case_stream(story.case_id))
    assert filed.payload["complainant"]["name"] == {
        "pii": True, "subject_id": story.p.complainant, "value": None, "erased": True}
    assert filed.payload["respondent"]["name"]["value"] == "Daniel Okafor"
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok
