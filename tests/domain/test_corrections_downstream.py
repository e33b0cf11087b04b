"""Corrections take effect (issue 15, G3): a correction names the event it corrects, the
audit links by that name, the apology goes to the person wronged, and a corrected outcome
no longer stands anywhere it is read: the case's own sanction, prior sanctions, member
standing, the reporter's record and the statements of reasons."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from dueprocess.domain.audit import audit_case
from dueprocess.domain.base import SYSTEM_ACTOR, DomainError, EventBase, InvalidCommand
from dueprocess.domain.case import (
    CarryOutSanction,
    CaseCommand,
    CaseEvent,
    CaseStage,
    CaseState,
    CorrectedRecord,
    CorrectRecord,
    HoldReport,
    ImposeInterimSuspension,
    RecordCorrected,
    ReporterRecord,
    Sanction,
    TriageCase,
    TriageOutcome,
    UnfoundedDismissal,
    WarnReporter,
    decide,
    evolve,
    notifications_for,
)
from dueprocess.domain.case.corrections import correction_of
from dueprocess.domain.case.reporter import reporter_record
from dueprocess.domain.case.respondent import respondent_record
from dueprocess.domain.case.state import fold
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.case.values import DismissalReason
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.membership.member import MemberJoined, member_stream
from dueprocess.domain.membership.standing import standing
from dueprocess.domain.policy import PolicyDocument, RepeatReporting, SanctionKind
from dueprocess.domain.transparency import statements_of_reasons
from fixtures import case_examples as ex

OFFICER = ex.actor("case_officer")
DAY = timedelta(days=1)
SUSPENSION = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=30))
SHORTER = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=14))


def correct(corrects: CorrectedRecord, **changes: object) -> CorrectRecord:
    fields: dict[str, object] = {
        "actor": OFFICER, "authority": ex.AUTHORITY, "corrects": corrects,
        "what_was_wrong": "The record was wrong.", "correction": "It is put right.",
        "apology": "We are sorry."}
    return CorrectRecord.model_validate({**fields, **changes})


def run(state: CaseState, command: CaseCommand, at: datetime,
        events: list[CaseEvent]) -> CaseState:
    for event in decide(state, command, at):
        state = evolve(state, event)
        events.append(event)
    return state


def case_to(last: str, sanction: Sanction | None = ex.WARNING, case_id: str = "case-1"
            ) -> tuple[CaseState, list[CaseEvent]]:
    """The example case, up to and including the step named ``last``."""
    state, events = CaseState.empty(case_id), list[CaseEvent]()
    for step in ex.happy_path(sanction):
        state = run(state, step.command, step.now, events)
        if step.name == last:
            break
    return state, events


def recorded(events: Sequence[EventBase], stream: str = "case-case-1") -> list[RecordedEvent]:
    return [RecordedEvent(
        event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
        actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
        effective_at=e.effective_at, stream_id=stream, stream_version=n,
        position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)]


def later(events: Sequence[CaseEvent], days: int = 1) -> datetime:
    return max(e.effective_at for e in events) + days * DAY


def version_of(events: Sequence[CaseEvent], event_type: str) -> int:
    return max(n for n, e in enumerate(events, start=1) if e.type == event_type)


# -- naming the corrected event, and the audit's link -------------------------------------------


def test_a_correction_names_the_event_it_corrects() -> None:
    # Given a decided case, its sanction carried out
    state, events = case_to("carry_out")
    # When the decision is corrected
    [event] = decide(state, correct(CorrectedRecord.DECISION), later(events))
    # Then the correction names the decision by its place in the case stream
    assert isinstance(event, RecordCorrected)
    assert event.corrects_version == version_of(events, "DecisionRecorded")
    assert type(event).schema_version == 2


def test_a_v1_correction_reads_as_correcting_the_latest_of_its_kind() -> None:
    # Given a v1 correction as stored before it named its event
    state, events = case_to("carry_out")
    [event] = decide(state, correct(CorrectedRecord.SANCTION), later(events))
    stored = event.model_dump(mode="json")
    del stored["corrects_version"], stored["replaced_by"]
    # When it is read (upcast) and folded
    version, payload = CASE_UPCASTERS.upcast("RecordCorrected", 1, stored)
    old = RecordCorrected.model_validate(payload)
    after = evolve(state, old)
    # Then it corrects the latest sanction before it, and annuls it as before
    assert version == 2 and old.corrects_version is None and old.replaced_by is None
    assert after.corrections[-1].corrects_version == version_of(events, "SanctionApplied")
    assert correction_of(after, CorrectedRecord.SANCTION) is not None
    assert after.effective_sanction is None


def test_the_audit_links_the_event_the_correction_names() -> None:
    # Given a decision corrected, and the same correction forged to name the wrong event
    state, events = case_to("carry_out")
    [event] = decide(state, correct(CorrectedRecord.DECISION), later(events))
    assert isinstance(event, RecordCorrected)
    decision_v, correction_v = version_of(events, "DecisionRecorded"), len(events) + 1
    # When the audit builds the timeline
    flags = {row.stream_version: row.flags for row in
             audit_case(recorded([*events, event]), now=later(events, 2)).timeline}
    # Then the decision and its correction are linked both ways, by the version it names
    assert f"corrected by RecordCorrected (v{correction_v})" in flags[decision_v]
    assert f"corrects DecisionRecorded (v{decision_v})" in flags[correction_v]
    # and a correction naming an event of another kind is linked to nothing, and says so
    forged = event.model_copy(update={"corrects_version": 1})
    flags = {row.stream_version: row.flags for row in
             audit_case(recorded([*events, forged]), now=later(events, 2)).timeline}
    assert not any(f.startswith("corrected by") for f in flags[decision_v])
    assert "names v1, which is no DecisionRecorded before it" in flags[correction_v]


# -- the apology goes to the person wronged -------------------------------------------------------


def test_a_corrected_dismissal_tells_the_reporter_not_the_respondent() -> None:
    # Given a member's report dismissed as manifestly unfounded
    state, events = CaseState.empty("case-1"), list[CaseEvent]()
    state = run(state, ex.file_report(), ex.T0, events)
    state = run(state, TriageCase(
        actor=OFFICER, authority=ex.AUTHORITY, outcome=TriageOutcome.DISMISS,
        reasons="Nothing in it.", dismissal_reason=DismissalReason.MANIFESTLY_UNFOUNDED),
        ex.T0 + DAY, events)
    # When the dismissal is corrected
    [event] = decide(state, correct(CorrectedRecord.DISMISSAL), ex.T0 + 3 * DAY)
    # Then the apology goes to the reporter, whose report was wrongly dismissed
    [note] = notifications_for(evolve(state, event), event, "e-9")
    assert note.recipient_role == "complainant" and "We are sorry." in note.body
    # and a corrected sanction is apologised for to the respondent
    sanctioned, done = case_to("carry_out")
    [fixed] = decide(sanctioned, correct(CorrectedRecord.SANCTION), later(done))
    [letter] = notifications_for(evolve(sanctioned, fixed), fixed, "e-10")
    assert letter.recipient_role == "respondent"


# -- a corrected outcome no longer stands --------------------------------------------------------


def test_a_corrected_sanction_is_no_prior_and_a_replaced_one_counts_as_its_replacement() -> None:
    # Given a warning carried out
    state, events = case_to("carry_out")
    assert [p.sanction for p in respondent_record(ex.RESPONDENT_ID, [state]).sanctions] == [
        ex.WARNING]
    # When the sanction is corrected away
    annulled = run(state, correct(CorrectedRecord.SANCTION), later(events), [])
    # Then it is no longer a prior sanction
    assert respondent_record(ex.RESPONDENT_ID, [annulled]).sanctions == []
    # and a correction that replaces it counts as what replaced it
    replaced = run(state, correct(CorrectedRecord.DECISION, replaced_by=SHORTER),
                   later(events), [])
    assert [p.sanction for p in respondent_record(ex.RESPONDENT_ID, [replaced]).sanctions] == [
        SHORTER]


def test_only_a_sanction_outcome_is_replaced_by_a_sanction() -> None:
    state, events = case_to("carry_out")
    with pytest.raises(DomainError) as caught:
        decide(state, correct(CorrectedRecord.REPORT, replaced_by=SHORTER), later(events))
    assert isinstance(caught.value, InvalidCommand)
    assert (caught.value.rule, caught.value.field) == (
        "correction-replaced-by-sanction", "replaced_by")


def test_a_decision_corrected_before_carry_out_carries_out_its_replacement() -> None:
    # Given a suspension decided, the appeal window closed, and the decision corrected
    state, events = case_to("close_window", SUSPENSION)
    state = run(state, correct(CorrectedRecord.DECISION, replaced_by=SHORTER),
                later(events), events)
    # When the sanction is carried out, it is the one that replaced the decision's
    state = run(state, CarryOutSanction(actor=OFFICER, authority=ex.AUTHORITY),
                later(events), events)
    assert state.sanction is not None and state.sanction.sanction == SHORTER


def test_standing_no_longer_counts_a_corrected_suspension() -> None:
    # Given a member suspended for 30 days
    state, events = case_to("carry_out", SUSPENSION)
    assert state.sanction is not None
    during = state.sanction.effective_at + DAY
    joined = MemberJoined(actor=ex.actor("membership_admin"), authority="constitution",
                          effective_at=ex.T0 - 400 * DAY, member_id=ex.RESPONDENT_ID,
                          membership_number="N-1", joined_on=(ex.T0 - 400 * DAY).date())
    member = recorded([joined], member_stream(ex.RESPONDENT_ID))
    policy = ex.example_policy()
    assert standing(ex.RESPONDENT_ID, [*member, *recorded(events)], policy,
                    during).status == "suspended"
    # When the decision is corrected away on the record
    annulled = [*events]
    run(state, correct(CorrectedRecord.DECISION), during, annulled)
    after = standing(ex.RESPONDENT_ID, [*member, *recorded(annulled)], policy, during)
    # Then the member's standing is as if it never took effect, and says why
    assert after.status != "suspended" and after.rights_removed == []
    assert after.sanctions == []
    assert any("annulled by the correction" in r.explanation for r in after.reasons)
    # and when it is replaced by a shorter suspension, that one counts from the original date
    replaced = [*events]
    run(state, correct(CorrectedRecord.DECISION, replaced_by=SHORTER), during, replaced)
    shorter = standing(ex.RESPONDENT_ID, [*member, *recorded(replaced)], policy,
                       state.sanction.effective_at + 20 * DAY)
    assert shorter.status != "suspended"
    assert [s.kind for s in shorter.sanctions] == ["suspension"]


def test_a_decision_corrected_away_is_not_exported_and_a_replaced_one_exports_its_replacement(
) -> None:
    state, events = case_to("decide", SUSPENSION)
    assert len(statements_of_reasons("case-1", recorded(events))) == 1
    # When the decision is corrected away, no statement is exported for it
    annulled = [*events]
    run(state, correct(CorrectedRecord.DECISION), later(events), annulled)
    assert statements_of_reasons("case-1", recorded(annulled)) == []
    # and when it is replaced by a shorter suspension, the statement gives that one
    replaced = [*events]
    run(state, correct(CorrectedRecord.DECISION, replaced_by=SHORTER), later(events), replaced)
    [statement] = statements_of_reasons("case-1", recorded(replaced))
    assert "suspension for 14 days" in statement["decision_facts"]
    # and replaced by a warning, which restricts nothing, none
    warned = [*events]
    run(state, correct(CorrectedRecord.DECISION, replaced_by=ex.WARNING), later(events), warned)
    assert statements_of_reasons("case-1", recorded(warned)) == []


# -- what else can be corrected: interim suspensions, warnings and holds --------------------------


def test_a_corrected_interim_suspension_is_lifted_and_annulled() -> None:
    # Given an interim suspension in force
    state, events = case_to("triage")
    state = run(state, ImposeInterimSuspension(actor=OFFICER, authority=ex.AUTHORITY,
                                               reasons="Risk to members."),
                later(events), events)
    assert state.interim is not None
    # When it is corrected
    [event] = decide(state, correct(CorrectedRecord.INTERIM_SUSPENSION), later(events, 2))
    after = evolve(state, event)
    # Then it names the imposition, holds no longer, and its measure is annulled
    assert isinstance(event, RecordCorrected)
    assert event.corrects_version == version_of(events, "InterimSuspensionImposed")
    assert after.interim is None and after.rights_removed == frozenset()
    [measure] = [m for m in after.measures.measures if m.interim]
    assert measure.voided and measure.corrected_by == after.events_folded
    [note] = notifications_for(after, event, "e-1")
    assert note.recipient_role == "respondent"
    # and a case that never had one has nothing to correct
    with pytest.raises(InvalidCommand):
        decide(case_to("triage")[0], correct(CorrectedRecord.INTERIM_SUSPENSION),
               later(events, 2))


REPORTER = ex.COMPLAINANT_ID
REPEAT = RepeatReporting(threshold=3, window=timedelta(days=180), hold_period=timedelta(days=90),
                         warning="Several of your reports were manifestly unfounded.")


def repeat_policy() -> PolicyDocument:
    base = ex.example_policy()
    return base.model_copy(update={"versions": [
        v.model_copy(update={"repeat_reporting": REPEAT}) for v in base.versions]})


def unfounded(case_id: str = "case-1") -> tuple[CaseState, list[CaseEvent]]:
    state, events = CaseState.empty(case_id), list[CaseEvent]()
    state = run(state, ex.file_report(policy=repeat_policy()), ex.T0, events)
    state = run(state, TriageCase(
        actor=OFFICER, authority=ex.AUTHORITY, outcome=TriageOutcome.DISMISS,
        reasons="Nothing in it.", dismissal_reason=DismissalReason.MANIFESTLY_UNFOUNDED),
        ex.T0 + DAY, events)
    return state, events


def test_a_corrected_dismissal_does_not_count_towards_a_warning() -> None:
    # Given a reporter's report dismissed as manifestly unfounded
    state, _ = unfounded()
    assert [d.case_id for d in reporter_record(REPORTER, [state]).dismissals] == ["case-1"]
    # When the dismissal is corrected
    corrected = run(state, correct(CorrectedRecord.DISMISSAL), ex.T0 + 2 * DAY, [])
    # Then it no longer counts towards the repeat-reporting threshold
    assert reporter_record(REPORTER, [corrected]).dismissals == []


def warned() -> tuple[CaseState, list[CaseEvent]]:
    state, events = unfounded()
    prior = [UnfoundedDismissal(case_id=f"case-p{d}", dismissed_at=ex.T0 - d * DAY,
                                dismissed_by="staff-officer-9") for d in (30, 60)]
    warn = WarnReporter(actor=SYSTEM_ACTOR, authority="policy:2023.1#repeat_reporting",
                        record=ReporterRecord(reporter_id=REPORTER, dismissals=prior))
    state = run(state, warn, ex.T0 + DAY, events)
    assert state.reporting.warning is not None
    return state, events


def test_a_corrected_warning_holds_no_later_report() -> None:
    # Given a reporter warned
    state, _ = warned()
    assert len(reporter_record(REPORTER, [state]).warnings) == 1
    # When the warning is corrected
    [event] = decide(state, correct(CorrectedRecord.REPORTER_WARNING), ex.T0 + 2 * DAY)
    after = evolve(state, event)
    # Then the reporter's record holds no warning, and the reporter is told and apologised to
    record = reporter_record(REPORTER, [after])
    assert record.warnings == [] and record.hold_on(ex.T0 + 3 * DAY) is None
    [note] = notifications_for(after, event, "e-1")
    assert note.recipient_role == "complainant"


def test_a_corrected_hold_releases_the_report_and_ends_the_warnings_hold() -> None:
    # Given a warning, and a later report held under it
    warned_case, _ = warned()
    record = reporter_record(REPORTER, [warned_case])
    events: list[CaseEvent] = []
    held = run(CaseState.empty("case-2"), ex.file_report(policy=repeat_policy()),
               ex.T0 + 2 * DAY, events)
    held = run(held, HoldReport(actor=SYSTEM_ACTOR, authority="policy:2023.1",
                                   record=record), ex.T0 + 2 * DAY, events)
    assert held.stage is CaseStage.HELD
    # When the hold is corrected
    [event] = decide(held, correct(CorrectedRecord.HOLD), ex.T0 + 3 * DAY)
    after = evolve(held, event)
    # Then the report is no longer held, and later reports are not held under the warning
    assert not after.reporting.held and after.stage is not CaseStage.HELD
    again = reporter_record(REPORTER, [warned_case, after])
    assert again.warnings[0].hold_until == ex.T0 + 3 * DAY
    assert again.hold_on(ex.T0 + 4 * DAY) is None
    [note] = notifications_for(after, event, "e-2")
    assert note.recipient_role == "complainant"


def test_a_correction_with_no_position_known_still_counts() -> None:
    # A state folded before positions were kept (continued from an older run) knows none
    state, events = case_to("carry_out")
    older = state.model_copy(update={"on_record": {}})
    [event] = decide(older, correct(CorrectedRecord.SANCTION), later(events))
    assert isinstance(event, RecordCorrected) and event.corrects_version is None
    assert respondent_record(ex.RESPONDENT_ID, [fold([event], older)]).sanctions == []
