"""The import planner: the file judged by the same decider, with historical deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dueprocess.domain.audit import CheckStatus, audit_case
from dueprocess.domain.case import pending_deadlines
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.imports.model import ImportRejected, parse_import
from dueprocess.domain.imports.plan import MISS_TYPES, ImportContext, ImportPlan, plan_import
from fixtures.imports import CASE_ID, IMPORTER, legacy_policy, sample_document, steps
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def plan(document: dict[str, Any], now: datetime = NOW) -> ImportPlan:
    ctx = ImportContext(import_id="imp-1", importer=IMPORTER, now=now, rulebook=legacy_policy())
    return plan_import(parse_import(document), ctx)


def refusal(document: Any) -> ImportRejected:
    with pytest.raises(ImportRejected) as refused:
        plan(document)
    return refused.value


def test_every_event_is_imported_with_the_source_times_and_recorded_now() -> None:
    result = plan(sample_document())
    events = [e for b in result.batches for e in b.events]
    assert all(e.recorded_at == NOW and e.imported is not None for e in events)
    assert all(e.imported.source.startswith("branch disciplinary") for e in events
               if e.imported)
    carried_out = next(e for e in events if e.event_type == "SanctionApplied")
    assert carried_out.known_at == datetime(2016, 7, 31, 11, tzinfo=UTC)
    assert carried_out.effective_at == datetime(2016, 7, 30, 11, tzinfo=UTC)
    joined = next(e for e in events if e.event_type == "MemberJoined")
    assert joined.known_at == datetime(2012, 3, 5, 12, tzinfo=UTC)


def test_deadlines_missed_in_the_history_are_recorded_at_their_due_times() -> None:
    result = plan(sample_document())
    case = result.cases[0]
    historical = [e for e in result.batches[1].events
                  if e.imported and e.imported.historical_deadline]
    assert [e.event_type for e in historical][:1] == ["DeadlineMissed"]
    assert historical[0].payload["kind"] == "acknowledge"
    assert historical[0].effective_at == datetime(2016, 6, 6, 9, tzinfo=UTC)  # 5 days
    # Only the misses count as historical misses: the appeal window closing and the
    # suspension ending are periods run out as scheduled, acted on at their due times too.
    misses = [e.event_type for e in historical if e.event_type in MISS_TYPES]
    assert case.closed and case.historical_deadlines == len(misses) == 2
    assert {"AppealWindowClosed", "SanctionEnded"} <= {e.event_type for e in historical}


def test_the_same_file_under_the_same_import_id_plans_the_same_events() -> None:
    first, second = plan(sample_document()), plan(sample_document(), NOW + timedelta(days=1))
    assert [e.event_id for b in first.batches for e in b.events] == \
        [e.event_id for b in second.batches for e in b.events]


def test_a_file_of_another_format_is_refused_naming_the_field() -> None:
    document = sample_document() | {"format": "something-else/2"}
    found = refusal(document)
    assert (found.record, found.field, found.rule) == ("file", "format", "import-file-shape")


@pytest.mark.parametrize(("where", "value", "field", "said"), [
    ("source", "branch reg\x00ister", "source", "must not contain a NUL character"),
    ("case_id", "c" * 300, "case_id", "at most 200 characters"),
])
def test_the_files_own_fields_keep_the_limits_every_command_keeps(
        where: str, value: str, field: str, said: str) -> None:
    # Given a file whose source (written into every imported event) or case id (a stream
    # name) breaks a text limit
    document = sample_document()
    if where == "source":
        document["source"] = value
    else:
        document["cases"][0]["case_id"] = value
    # When it is planned; then it is refused as a file not in the format, naming the field
    found = refusal(document)
    assert found.field == field and found.rule == "import-file-shape", found
    assert said in found.message, found


def test_a_step_without_its_original_time_is_refused() -> None:
    document = sample_document()
    del steps(document)[3]["command"]["effective_at"]
    found = refusal(document)
    assert found.record == "cases[0].steps[3]" and found.field == "command"
    assert "effective_at" in found.message and found.rule == "import-file-shape"


def test_a_deadline_step_is_the_importers_own() -> None:
    document = sample_document()
    steps(document).insert(11, {"command": {
        "type": "CloseAppealWindow", "actor": {"id": "dueprocess", "role": "system"},
        "authority": "policy", "closes_at": "2016-07-29T11:00:00+00:00",
        "effective_at": "2016-07-29T11:00:00+00:00"}})
    found = refusal(document)
    assert found.record == "cases[0].steps[11]" and "deadline" in found.message
    assert found.rule == "import-file-shape"


def test_a_case_must_start_with_its_report() -> None:
    document = sample_document()
    del steps(document)[0]
    found = refusal(document)
    assert (found.record, found.field, found.rule) == (
        "cases[0].steps[0]", "command.type", "import-case-starts-with-report")


def test_a_report_carrying_its_own_rulebook_is_refused() -> None:
    document = sample_document()
    steps(document)[0]["command"]["policy"] = legacy_policy().model_dump(mode="json")
    found = refusal(document)
    assert found.record == "cases[0].steps[0]" and found.field == "command.policy"


def test_a_case_twice_in_one_file_is_refused() -> None:
    document = sample_document()
    document["cases"].append(document["cases"][0])
    found = refusal(document)
    assert (found.record, found.field, found.rule) == ("cases[1]", "case_id",
                                                       "import-ids-unique")


def test_a_fact_known_after_the_import_is_refused() -> None:
    document = sample_document()
    steps(document)[1]["known_at"] = (NOW + timedelta(days=1)).isoformat()
    found = refusal(document)
    assert (found.record, found.field, found.rule) == ("cases[0].steps[1]", "known_at",
                                                       "import-in-the-past")


def test_a_member_fact_without_its_time_is_refused() -> None:
    document = sample_document()
    document["members"][0]["facts"].append({"command": {
        "type": "RecordLapsed", "actor": {"id": "backoffice-1", "role": "membership_admin"},
        "authority": "bylaws"}})
    found = refusal(document)
    assert (found.record, found.field, found.rule) == (
        "members[0].facts[1]", "command.effective_at", "import-effective-time")


@settings(max_examples=25, deadline=None)
@given(kept=st.integers(min_value=1, max_value=13), days_later=st.integers(0, 4000))
def test_no_deadline_due_before_the_import_is_left_to_fire_on_import(
        kept: int, days_later: int) -> None:
    """Whatever stage the history stops at and whenever it is imported, every deadline
    still pending is due after the import: those due before it are history already."""
    document = sample_document()
    document["cases"][0]["steps"] = steps(document)[:kept]
    now = datetime(2016, 11, 1, tzinfo=UTC) + timedelta(days=days_later)
    case = plan(document, now).cases[0]
    assert case.case_id == CASE_ID
    assert all(d.due_at > now for d in pending_deadlines(case.state))


def test_a_step_breaking_a_due_process_rule_is_imported_as_recorded_with_a_finding() -> None:
    # given the 2016 case with its hearing set on a day's notice (under the minimum)
    document = sample_document()
    schedule = steps(document)[8]["command"]
    assert schedule["type"] == "ScheduleHearing"
    schedule["at"] = "2016-06-14T09:00:00+00:00"
    # when it is planned
    result = plan(document)
    # then the hearing is recorded as the source has it, at its original time
    events = result.batches[1].events
    scheduled = next(e for e in events if e.event_type == "HearingScheduled")
    assert scheduled.payload["at"].startswith("2016-06-14T09:00:00")
    assert scheduled.effective_at == datetime(2016, 6, 13, 9, tzinfo=UTC)
    # and the plan lists the rule it breaks, at that event, naming the record and field
    [finding] = [f for f in result.findings if f.rule == "minimum-hearing-notice"]
    assert (finding.record, finding.field) == ("cases[0].steps[8]", "command.at")
    assert finding.case_id == CASE_ID and finding.event_type == "HearingScheduled"
    assert events[finding.stream_version - 1] is scheduled
    assert "imported, fails rule minimum-hearing-notice" in str(finding)


def test_the_audit_fails_the_rule_the_importer_found_at_that_event() -> None:
    # given the hearing set on a day's notice, planned and stored as planned
    document = sample_document()
    steps(document)[8]["command"]["at"] = "2016-06-14T09:00:00+00:00"
    result = plan(document)
    # when the case is audited as stored
    audit = audit_case(stored_cases(result), [], now=NOW)
    # then the audit fails the same rule at the same event, and labels it imported
    [finding] = [f for f in result.findings if f.rule == "minimum-hearing-notice"]
    check = next(c for c in audit.checks if c.check_id == "minimum-hearing-notice")
    assert check.status is CheckStatus.FAIL
    assert [r.stream_version for r in check.offending] == [finding.stream_version]
    row = next(t for t in audit.timeline if t.stream_version == finding.stream_version)
    assert row.imported is not None and row.imported.importer == IMPORTER
    assert any(f.startswith("imported from branch disciplinary") for f in row.flags)


def test_a_record_that_cannot_be_read_still_refuses_the_whole_file() -> None:
    # given a disclosure of evidence the case file does not hold (an unknown reference)
    document = sample_document()
    disclose = steps(document)[5]["command"]
    assert disclose["type"] == "DiscloseEvidence"
    disclose["evidence_ids"] = ["E9"]
    # then the file is refused naming the record, the rule and the field
    found = refusal(document)
    assert (found.record, found.rule) == ("cases[0].steps[5]", "unknown-evidence")
    assert found.field is not None and found.field.startswith("command.evidence_ids")


def stored_cases(result: ImportPlan) -> list[RecordedEvent]:
    return [RecordedEvent(**e.model_dump(), stream_id=b.stream_id, stream_version=n,
                          position=Position(tx_id=1, global_position=n), hash="0" * 64)
            for b in result.batches[1:] for n, e in enumerate(b.events, start=1)]


def test_a_party_who_sat_as_staff_is_imported_and_the_audit_names_who_acted() -> None:
    # given the complainant triaged her own report, as the register records
    document = sample_document()
    triage = steps(document)[2]["command"]
    assert triage["type"] == "TriageCase"
    triage["actor"]["id"] = "m-100"
    # when it is planned
    result = plan(document)
    # then the triage is recorded as it happened, with the rule decide() refused it for
    [finding] = [f for f in result.findings if f.record == "cases[0].steps[2]"]
    assert (finding.rule, finding.field) == ("no-judge-in-own-cause", "command.actor.id")
    assert finding.audit_check == "instructions-on-record"
    # and the audit's who-acted check fails at that event
    audit = audit_case(stored_cases(result), [], now=NOW)
    check = next(c for c in audit.checks if c.check_id == finding.audit_check)
    assert check.status is CheckStatus.FAIL
    assert finding.stream_version in [r.stream_version for r in check.offending]


def test_an_actor_in_a_role_the_procedure_does_not_know_refuses_the_file() -> None:
    document = sample_document()
    steps(document)[2]["command"]["actor"]["role"] = "case_offcer"
    found = refusal(document)
    assert (found.record, found.rule, found.field) == (
        "cases[0].steps[2]", "role-permission", "command.actor.role")
