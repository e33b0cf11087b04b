"""Corrections take effect (issue 15, G3): a correction names the event it corrects, the
audit links by that name, the apology goes to the person wronged, and a corrected outcome
no longer stands anywhere it is read: the case's own sanction, prior sanctions, member
standing and the statements of reasons (the reporter's record and the newer kinds of record:
test_corrections_reporting.py)."""

from __future__ import annotations

import pytest
from dueprocess.domain.audit import audit_case
from dueprocess.domain.base import DomainError, InvalidCommand
from dueprocess.domain.case import (
    CarryOutSanction,
    CaseEvent,
    CaseState,
    CorrectedRecord,
    ImposeInterimSuspension,
    RecordCorrected,
    TriageCase,
    TriageOutcome,
    decide,
    evolve,
    notifications_for,
)
from dueprocess.domain.case.corrections import correction_of
from dueprocess.domain.case.respondent import respondent_record
from dueprocess.domain.case.state import fold
from dueprocess.domain.case.upcasters import CASE_UPCASTERS
from dueprocess.domain.case.values import DismissalReason
from dueprocess.domain.membership.member import MemberJoined, member_stream
from dueprocess.domain.membership.standing import standing
from dueprocess.domain.transparency import statements_of_reasons
from fixtures import case_examples as ex
from fixtures.corrections import (
    DAY,
    OFFICER,
    SHORTER,
    SUSPENSION,
    case_to,
    correct,
    later,
    recorded,
    run,
    version_of,
)

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


def test_a_correction_with_no_position_known_still_counts() -> None:
    # A state folded before positions were kept (continued from an older run) knows none
    state, events = case_to("carry_out")
    older = state.model_copy(update={"on_record": {}})
    [event] = decide(older, correct(CorrectedRecord.SANCTION), later(events))
    assert isinstance(event, RecordCorrected) and event.corrects_version is None
    assert respondent_record(ex.RESPONDENT_ID, [fold([event], older)]).sanctions == []
