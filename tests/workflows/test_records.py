"""Records over real cases (run through the real workflow): projections, the access log,
subject access, erasure."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dueprocess.cli.main import build_parser
from dueprocess.cli.stats import _stats
from dueprocess.devstack.demo import Story
from dueprocess.domain.audit import audit_case
from dueprocess.domain.base import Actor, InvalidCommand, NotPermitted
from dueprocess.domain.membership.member import RecordJoined
from dueprocess.domain.statistics import CaseStatistics
from dueprocess.domain.streams import notification_stream
from dueprocess.services.members import MemberService
from dueprocess.services.notifications import FileSink
from dueprocess.services.records import ErasureBlocked, RecordsClient
from dueprocess.services.statistics import audit_log, log_statistics
from dueprocess.settings import Settings
from dueprocess.store.eventstore import EventStore
from dueprocess.store.projections import ProjectionRunner, default_projections
from dueprocess.store.verify import verify_store
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
    runner = ProjectionRunner(pool, store, default_projections(story.policy))
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
    # an unknown case has no access log: refused, never "nobody looked"
    with pytest.raises(InvalidCommand) as unknown:
        await records.access_log("no-such-case")
    assert (unknown.value.rule, unknown.value.field) == ("case-exists", "case_id")


async def test_the_respondent_sees_only_what_was_disclosed_and_the_log_says_exactly_what(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool
) -> None:
    await _closed_case(story, env)
    records = RecordsClient(store, pool)
    respondent = Actor(id=story.p.respondent, role="respondent")
    file = await records.read_case_file(story.case_id, respondent, purpose="preparing my appeal",
                                        authority="rulebook s.4.2")
    assert file.events == []  # no raw events: they hold everything, withheld evidence included
    state = file.state
    assert state.report is not None
    assert set(state.evidence) == {"E1", "E2"}  # E3 was withheld
    assert [e.evidence_id for e in state.report.evidence] == ["E1", "E2"]
    text = file.model_dump_json()
    assert "Forwarded private message" not in text
    assert "Priya Shah" not in text and "priya@example.org" not in text
    name = state.report.complainant.name
    assert (name.subject_id, name.value, name.erased) == (story.p.complainant, None, True)
    assert state.report.respondent.name.value == "Daniel Okafor"  # their own data stays
    assert state.evidence["E1"].description.value == "Screenshot of the public post of 10 May"
    assert state.hearing_held is not None and state.hearing_held.companion is not None
    assert state.hearing_held.companion.value is None  # the companion is someone else too
    assert state.withheld == {"E3": "inadmissible: private message, no consent"}  # told why

    narrowed = await records.read_case_file(story.case_id, respondent, purpose="one item",
                                            authority="rulebook s.4.2", evidence_ids=["E2"])
    assert set(narrowed.state.evidence) == {"E2"}
    item = await records.read_evidence(story.case_id, "E1", respondent, purpose="one item",
                                       authority="rulebook s.4.2")
    assert item.evidence_id == "E1"

    full = await records.read_case_file(story.case_id, AUDITOR, purpose="annual audit",
                                        authority="audit committee remit 2026")
    assert full.events and set(full.state.evidence) == {"E1", "E2", "E3"}
    assert "Priya Shah" in full.model_dump_json()
    staff_item = await records.read_evidence(story.case_id, "E3", AUDITOR, purpose="audit",
                                             authority="audit committee remit 2026")
    assert staff_item.description.value == "Forwarded private message"

    log = await records.access_log(story.case_id)
    assert [(e.reader.id, e.evidence_ids) for e in log] == [
        (story.p.respondent, ["E1", "E2"]),  # exactly what the view held
        (story.p.respondent, ["E2"]),
        (story.p.respondent, ["E1"]),
        ("aud-1", ["E1", "E2", "E3"]),  # the full file: all its evidence
        ("aud-1", ["E3"]),  # one item read, one item logged
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
    assert {e["event_type"] for e in export["events"]} >= {"ReportFiled", "DecisionRecorded",
                                                          "AppealDecided"}
    p = story.p
    others = [p.complainant, p.witness, p.case_officer, p.investigator, *p.panel,
              *p.appeal_panel, DPO.id]
    assert [who for who in others if who in text] == []  # nobody else's id, not even staff's
    assert story.case_id in text and "E3" in text and "R1" in text  # non-person ids stay

    events = {e["event_type"]: e for e in export["events"]}
    filed = events["ReportFiled"]["payload"]
    complainant = filed["complainant"]["person_id"]
    assert complainant.startswith("person-")
    assert filed["complainant"]["name"] == {"pii": True, "subject_id": complainant,
                                            "value": None, "redacted": True}
    assert {e["captured_by"] for e in filed["evidence"]} == {complainant}  # same person
    [witness] = [e["witness_id"] for e in filed["evidence"] if e["witness_id"]]
    assert witness.startswith("person-") and witness != complainant
    assert filed["respondent"]["person_id"] == p.respondent  # the subject's own id stays
    panel = [m["member_id"] for m in events["PanelAppointed"]["payload"]["members"]]
    assert len(set(panel)) == 3 and complainant not in panel
    held = events["HearingHeld"]
    assert held["payload"]["attendees"][:3] == panel  # the panel, recognisably the same
    assert held["actor"]["id"] == held["payload"]["actor"]["id"] == panel[0]  # the chair
    assert events["CaseTriaged"]["payload"]["reviewed_by"] == events["CaseTriaged"]["actor"]["id"]
    assert events["ResponseSubmitted"]["actor"]["id"] == p.respondent


def _mails(outbox: Path) -> dict[str, EmailMessage]:
    """The notices the file sink kept, by file name."""
    mails = {}
    for path in sorted(outbox.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        mails[path.name] = mail
    return mails


def _addressee(mail: EmailMessage) -> str:
    return str(mail["X-Subject-Id"])


def _readable(mail: EmailMessage) -> str:
    """Headers and decoded body: what anyone opening the file reads."""
    return "".join(f"{k}: {v}\n" for k, v in mail.items()) + str(mail.get_content())


async def test_erasure_waits_for_closure_then_shreds_and_the_log_still_verifies(
    story: Story, env: WorkflowEnvironment, store: EventStore, pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    await story.file()
    records = RecordsClient(store, pool)
    with pytest.raises(ErasureBlocked) as blocked:
        await records.erase_subject(story.p.complainant, DPO, reason="Art 17 request",
                                    authority="GDPR Art 17")
    assert story.case_id in str(blocked.value)
    await _close_filed_case(story, env)

    outbox = tmp_path / "outbox"  # where the worker's FileSink wrote the notices
    before = _mails(outbox)
    to_complainant = {n for n, m in before.items() if _addressee(m) == story.p.complainant}
    naming_her = {n for n, m in before.items()
                  if n not in to_complainant and "Priya Shah" in _readable(m)}
    assert to_complainant and naming_her  # her notices, and the respondent's notice naming her

    result = await records.erase_subject(story.p.complainant, DPO, reason="Art 17 request",
                                         authority="GDPR Art 17", sinks=[FileSink(outbox)])
    assert result.keys_destroyed == 1 and result.store_verifies
    assert result.sent_messages_forgotten == len(to_complainant) + len(naming_her)
    after = _mails(outbox)
    assert set(after) == set(before) - to_complainant  # hers deleted, the respondent's kept
    assert all(_addressee(m) == story.p.respondent for m in after.values())
    assert [n for n, m in after.items() if "priya" in _readable(m).lower()] == []
    assert all("[erased]" in _readable(after[n]) for n in naming_her)
    [filed, *_] = await store.read_stream(case_stream(story.case_id))
    assert filed.payload["complainant"]["name"] == {
        "pii": True, "subject_id": story.p.complainant, "value": None, "erased": True}
    assert filed.payload["respondent"]["name"]["value"] == "Daniel Okafor"
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_statistics_from_the_log_count_the_reversal_without_personal_data(
    story: Story, env: WorkflowEnvironment, store: EventStore, db_dsn: str, tmp_path: Path,
    pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str],
) -> None:
    await _closed_case(story, env)
    stats = await log_statistics(store, batch=1)  # many small batches
    assert stats.cases == 1 and stats.by_stage["closed"] == 1
    assert stats.appeals.lodged == stats.appeals.outcomes["allowed"] == 1
    assert stats.appeals.reversal_rate == 1.0
    assert stats.interim_suspensions.imposed == 1 and stats.by_rule
    history = await store.read_stream(case_stream(story.case_id))
    assert stats.generated_from_events == len(history)

    # `dueprocess stats` reads the statistics read model, which the projections keep
    await ProjectionRunner(pool, store, default_projections(story.policy)).catch_up()
    capsys.readouterr()
    settings = Settings.from_env({"DUEPROCESS_DATABASE_URL": db_dsn,
                                  "DUEPROCESS_DATA_DIR": str(tmp_path / "cli")})
    assert await _stats(build_parser().parse_args(["stats", "--json"]), settings) == 0
    printed = json.loads(capsys.readouterr().out)
    printed.pop("backlog_ageing")  # the open cases' ageing now: not a figure of the log's
    assert CaseStatistics.model_validate(printed) == stats  # the read model agrees
    p = story.p
    people = [p.complainant, p.respondent, p.witness, p.intake, p.case_officer,
              p.investigator, *p.panel, *p.appeal_panel]
    assert [who for who in people if who in printed] == []
    assert "Priya Shah" not in printed and "Daniel Okafor" not in printed
    assert story.case_id not in printed
    # The audit replay of the whole log, one case at a time, agrees with `audit case`.
    now = await env.get_current_time()
    [(case_id, replayed)] = [x async for x in audit_log(store, now, batch=1)]
    notes = await store.read_stream(notification_stream(story.case_id))
    assert case_id == story.case_id and replayed == audit_case(history, notes, now=now)
