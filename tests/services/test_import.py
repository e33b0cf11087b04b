"""Importing past cases and memberships into a real PostgreSQL event store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from dueprocess.domain.audit import audit_case
from dueprocess.domain.base import Actor
from dueprocess.domain.imports.model import ImportRejected
from dueprocess.domain.policy import Right
from dueprocess.domain.rulebook import POLICY_ADMIN_ROLE
from dueprocess.domain.streams import case_stream, member_stream
from dueprocess.services.importer import ImportService
from dueprocess.services.members import MemberService, case_streams_for
from dueprocess.services.rulebook import RulebookService
from dueprocess.store.eventstore import EventStore
from dueprocess.store.verify import verify_store
from fixtures.imports import (
    BALLOT,
    CASE_ID,
    IMPORTER,
    MEMBER_ID,
    legacy_policy,
    sample_document,
    steps,
)

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
POLICY = legacy_policy()


@pytest.fixture
async def service(store: EventStore, pool: asyncpg.Pool) -> ImportService:
    rulebook = RulebookService(store)
    await rulebook.publish(POLICY, Actor(id="admin-1", role=POLICY_ADMIN_ROLE), "constitution")
    return ImportService(pool, store, rulebook.current)


async def stream_count(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM streams WHERE stream_id <> 'rulebook'")
    return count


async def standing_of(store: EventStore, pool: asyncpg.Pool, **when: Any) -> Any:
    return await MemberService(store, POLICY).standing(
        MEMBER_ID, POLICY, case_streams=await case_streams_for(pool, MEMBER_ID), **when)


async def test_a_2016_case_and_membership_answer_the_seed_questions(
        service: ImportService, store: EventStore, pool: asyncpg.Pool) -> None:
    # given the sample: m-200 joined in 2012; suspended for 12 weeks from 30 July 2016,
    # which the organisation knew on 31 July (the source's assertion)
    report = await service.run(sample_document(), IMPORTER, NOW, import_id="imp-2016")
    assert report.cases[0].closed and report.cases[0].historical_deadlines == 2  # misses only
    assert report.members == [MEMBER_ID] and report.events > 10

    # could she vote on 22 August 2016? No: she was suspended
    now_known = await standing_of(store, pool, as_of=BALLOT)
    assert now_known.status == "suspended" and Right.VOTE not in now_known.rights
    assert now_known.uses_imported and now_known.knowledge == "asserted"

    # as known on 30 July 2016 (asserted), the organisation did not yet know of it
    before = await standing_of(store, pool, as_of=BALLOT,
                               as_known_on=datetime(2016, 7, 30, 12, tzinfo=UTC))
    assert before.status == "member" and Right.VOTE in before.rights
    # as known on the ballot day, it did
    on_the_day = await standing_of(store, pool, as_of=BALLOT, as_known_on=BALLOT)
    assert on_the_day.status == "suspended"
    sanction = next(r for r in on_the_day.reasons if r.event_type == "SanctionApplied")
    assert sanction.known_at == datetime(2016, 7, 31, 11, tzinfo=UTC)
    assert sanction.recorded_at == NOW and sanction.imported_from is not None
    assert "imp-2016" in sanction.imported_from

    # by the time dueprocess itself recorded: nothing was recorded on the ballot day
    recorded = await standing_of(store, pool, as_of=BALLOT, as_known_on=BALLOT,
                                 knowledge="recorded")
    assert recorded.knowledge == "recorded" and recorded.reasons == []
    assert Right.VOTE not in recorded.rights  # no membership was on dueprocess's record


async def test_imported_events_keep_both_times_and_the_chain_verifies(
        service: ImportService, store: EventStore, pool: asyncpg.Pool) -> None:
    await service.run(sample_document(), IMPORTER, NOW, import_id="imp-2016")
    events = await store.read_stream(case_stream(CASE_ID))
    assert all(e.recorded_at == NOW and e.imported is not None for e in events)
    assert all(e.imported.importer == IMPORTER for e in events if e.imported)
    report = events[0]
    assert report.effective_at == datetime(2016, 6, 1, 9, tzinfo=UTC)
    assert report.known_at == report.effective_at  # no asserted time: its effective time
    misses = [e for e in events if e.imported and e.imported.historical_deadline]
    assert "DeadlineMissed" in [e.event_type for e in misses]
    assert all(e.known_at == e.effective_at for e in misses)
    async with pool.acquire() as conn:
        assert (await verify_store(conn)).ok


async def test_the_audit_judges_imported_history_by_the_same_rules_and_labels_it(
        service: ImportService, store: EventStore) -> None:
    await service.run(sample_document(), IMPORTER, NOW, import_id="imp-2016")
    audit = audit_case(await store.read_stream(case_stream(CASE_ID)), [], now=NOW)
    assert all(any(f.startswith("imported from branch disciplinary register") for f in t.flags)
               for t in audit.timeline)
    assert all("by operator:ops-1" in " ".join(t.flags) for t in audit.timeline)
    missed = [t for t in audit.timeline if t.event_type == "DeadlineMissed"]
    assert missed and all("historical deadline" in " ".join(t.flags) for t in missed)
    # the late acknowledgement is judged as any other: the acknowledge check fails
    assert any(c.check_id.startswith("acknowledge") or "acknowledg" in c.explanation
               for c in audit.failures())


async def test_a_bad_step_is_refused_naming_record_and_field_and_nothing_is_recorded(
        service: ImportService, pool: asyncpg.Pool) -> None:
    document = sample_document()
    del steps(document)[2]["command"]["reasons"]
    with pytest.raises(ImportRejected) as refused:
        await service.run(document, IMPORTER, NOW)
    assert refused.value.record == "cases[0].steps[2]"
    assert refused.value.field == "command.reasons"
    assert refused.value.rule == "import-file-shape"
    assert await stream_count(pool) == 0  # not even the member, listed first


async def test_a_file_naming_an_erased_person_is_refused_saying_so(
        service: ImportService, store: EventStore, pool: asyncpg.Pool) -> None:
    # Given the respondent of the file's case was erased here
    document = sample_document()
    respondent = steps(document)[0]["command"]["respondent"]["person_id"]
    async with store.erasure(respondent) as erasure:
        await erasure.destroy()
    # When the file is imported
    with pytest.raises(ImportRejected) as refused:
        await service.run(document, IMPORTER, NOW)
    # Then it is refused naming the erased person, not as a stream someone else wrote
    assert refused.value.rule == "erased-subject" and respondent in refused.value.message
    assert await stream_count(pool) == 0


async def test_a_past_step_breaking_a_rule_is_imported_and_the_audit_fails_it_there(
        service: ImportService, store: EventStore) -> None:
    # given the 2016 case with its hearing set on a day's notice (under the minimum)
    document = sample_document()
    schedule = steps(document)[8]["command"]
    assert schedule["type"] == "ScheduleHearing"
    schedule["at"] = "2016-06-14T09:00:00+00:00"
    # when it is imported
    report = await service.run(document, IMPORTER, NOW, import_id="imp-flawed")
    # then the case is imported as recorded, and the report lists the rule it breaks
    [case] = report.cases
    assert case.closed
    [finding] = [f for f in case.findings if f.rule == "minimum-hearing-notice"]
    assert finding.record == "cases[0].steps[8]" and finding.field is not None
    # and the audit fails that rule at that imported event, labelled with actor and source
    events = await store.read_stream(case_stream(CASE_ID))
    assert events[finding.stream_version - 1].event_type == "HearingScheduled"
    audit = audit_case(events, [], now=NOW)
    check = next(c for c in audit.failures() if c.check_id == "minimum-hearing-notice")
    assert [r.stream_version for r in check.offending] == [finding.stream_version]
    row = next(t for t in audit.timeline if t.stream_version == finding.stream_version)
    assert row.imported is not None and row.imported.import_id == "imp-flawed"
    label = row.flags[-1]
    assert label.startswith("imported from branch disciplinary register")
    assert "by operator:ops-1 (import imp-flawed, cases[0].steps[8])" in label


async def test_an_unreadable_step_refuses_the_file_naming_its_record_rule_and_field(
        service: ImportService, pool: asyncpg.Pool) -> None:
    # given a hearing recorded as held a week before the time it was set for
    document = sample_document()
    held = steps(document)[9]["command"]
    assert held["type"] == "RecordHearingHeld"
    held["effective_at"] = "2016-06-24T09:00:00+00:00"
    with pytest.raises(ImportRejected) as refused:
        await service.run(document, IMPORTER, NOW)
    assert refused.value.record == "cases[0].steps[9]"
    assert refused.value.rule == "hearing-not-yet-due"
    assert refused.value.field is not None and refused.value.field.startswith("command.")
    assert await stream_count(pool) == 0


async def test_a_failure_while_writing_rolls_back_every_stream(
        service: ImportService, store: EventStore, pool: asyncpg.Pool) -> None:
    plan = await service.check(sample_document(), IMPORTER, NOW)
    # the case stream appears after the check (another writer): the write must fail whole
    await store.append(case_stream(CASE_ID), 0, plan.batches[1].events[:1])
    with pytest.raises(ImportRejected) as refused:
        await service.write(plan)
    assert refused.value.record == "cases[0]" and refused.value.field == "case_id"
    assert refused.value.rule == "import-new-streams"
    assert await store.read_stream(member_stream(MEMBER_ID)) == []


async def test_an_existing_stream_is_refused_and_the_same_import_again_writes_nothing(
        service: ImportService, pool: asyncpg.Pool) -> None:
    first = await service.run(sample_document(), IMPORTER, NOW, import_id="imp-2016")
    again = await service.run(sample_document(), IMPORTER, NOW + timedelta(hours=1),
                              import_id="imp-2016")
    assert again.already_imported and again.events == 0
    assert again.cases[0].events == first.cases[0].events
    with pytest.raises(ImportRejected) as refused:
        await service.run(sample_document(), IMPORTER, NOW, import_id="imp-other")
    assert refused.value.record == "members[0]" and refused.value.field == "member_id"
    assert refused.value.rule == "import-new-streams"
