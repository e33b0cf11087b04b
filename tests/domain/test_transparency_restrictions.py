"""Statements of reasons for every restriction (issue 15, DSA Art 17 and 24(5)): a sanction
varied on appeal to a suspension and an interim suspension get one too; an outside body's
report is another notification, named; the statement links the published rulebook."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from dueprocess.domain.base import personal
from dueprocess.domain.case import (
    CaseCommand,
    CaseEvent,
    CaseState,
    ComplainantKind,
    ImposeInterimSuspension,
    Sanction,
    decide,
    evolve,
)
from dueprocess.domain.case.commands import AppointAppealPanel, DecideAppeal, LodgeAppeal
from dueprocess.domain.case.values import AppealOutcome
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.policy import PolicyDocument, SanctionKind
from dueprocess.domain.transparency import FIELDS, statements_of_reasons
from fixtures import case_examples as ex

DAY = timedelta(days=1)
EXPULSION = Sanction(kind=SanctionKind.EXPULSION)
SUSPENSION = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=30))
POLICE = "Metropolitan Police Online Hate Crime Hub"
URL = "https://example.org/members-code/2023.1"
PERSONAL = ("Ada Member", "ada@example.org", "Bob Respondent", "bob@example.org",
            "posted the abuse", "I deny it", "Expulsion is out of proportion", ex.COMPLAINANT_ID,
            ex.RESPONDENT_ID, ex.WITNESS_ID, "police-1")


def recorded(events: Sequence[CaseEvent]) -> list[RecordedEvent]:
    return [RecordedEvent(
        event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
        actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
        effective_at=e.effective_at, stream_id="case-case-1", stream_version=n,
        position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)]


def run(steps: list[tuple[CaseCommand, datetime]]) -> list[CaseEvent]:
    state, events = CaseState.empty("case-1"), list[CaseEvent]()
    for command, now in steps:
        for event in decide(state, command, now):
            state, events = evolve(state, event), [*events, event]
    return events


def path(sanction: Sanction, *, upto: str = "decide", report: CaseCommand | None = None,
         policy: PolicyDocument | None = None) -> list[tuple[CaseCommand, datetime]]:
    steps = ex.happy_path(sanction, policy=policy)
    names = [s.name for s in steps]
    chosen = [(s.command, s.now) for s in steps[: names.index(upto) + 1]]
    if report is not None:
        chosen[0] = (report, chosen[0][1])
    return chosen


def appealed(outcome: AppealOutcome, new: Sanction | None) -> list[tuple[CaseCommand, datetime]]:
    return [
        (LodgeAppeal(actor=ex.actor("respondent"), authority="code#appeal",
                     grounds=personal(ex.RESPONDENT_ID, "Expulsion is out of proportion.")),
         ex.DECIDED_AT + DAY),
        (AppointAppealPanel(actor=ex.actor("case_officer"), authority="code#appeal",
                            members=ex.panel(*ex.APPEAL_PANEL_IDS)), ex.DECIDED_AT + 2 * DAY),
        (DecideAppeal(actor=ex.actor("appeal_panel_member"), authority="code#appeals",
                      outcome=outcome, reasons="A suspension is enough.", new_sanction=new),
         ex.DECIDED_AT + 3 * DAY)]


def no_personal_data(statement: dict[str, object]) -> None:
    text = json.dumps(statement)
    assert not [p for p in PERSONAL if p in text]


def test_a_sanction_varied_on_appeal_to_a_suspension_gets_its_own_statement() -> None:
    # Given an expulsion, varied on appeal to a 30-day suspension
    events = run([*path(EXPULSION),
                  *appealed(AppealOutcome.SANCTION_VARIED, SUSPENSION)])
    # When the statements are exported
    decision, appeal = statements_of_reasons("case-1", recorded(events))
    # Then the first decision's and the appeal's restriction each have one
    assert decision["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    assert appeal["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert tuple(appeal) == FIELDS and appeal["puid"] != decision["puid"]
    applied = ex.DECIDED_AT + 3 * DAY
    assert appeal["application_date"] == applied.date().isoformat()
    assert appeal["end_date_account_restriction"] == (applied + 30 * DAY).date().isoformat()
    assert "On appeal" in appeal["decision_facts"]
    assert "R1 (Abuse and harassment)" in appeal["incompatible_content_ground"]
    assert appeal["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    no_personal_data(appeal)


def test_an_appeal_that_restricts_nothing_new_gets_no_statement() -> None:
    # Given a suspension whose appeal is dismissed (the first statement stands)
    events = run([*path(SUSPENSION), *appealed(AppealOutcome.DISMISSED, None)])
    assert len(statements_of_reasons("case-1", recorded(events))) == 1
    # Given a warning varied on appeal to... a warning: nothing restricted, no statement
    events = run([*path(ex.WARNING), *appealed(AppealOutcome.SANCTION_VARIED, ex.WARNING)])
    assert statements_of_reasons("case-1", recorded(events)) == []


def test_an_interim_suspension_gets_a_statement_ending_at_its_review() -> None:
    # Given an interim suspension imposed at triage
    at = ex.T0 + 2 * DAY
    review = at + 14 * DAY
    interim = ImposeInterimSuspension(actor=ex.actor("case_officer"), authority=ex.AUTHORITY,
                                      reasons="Threats to a member.", review_by=review)
    events = run([*path(ex.WARNING, upto="triage"), (interim, at)])
    # When exported
    [statement] = statements_of_reasons("case-1", recorded(events))
    # Then it is a suspension of the account, from imposition to the review date, said to
    # be a holding measure, not a finding, and without the recorded reasons (personal)
    assert tuple(statement) == FIELDS
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statement["application_date"] == at.date().isoformat()
    assert statement["end_date_account_restriction"] == review.date().isoformat()
    assert "Interim suspension imposed" in statement["decision_facts"]
    assert "not a finding" in statement["incompatible_content_explanation"]
    assert "Threats to a member." not in json.dumps(statement)
    no_personal_data(statement)


def test_an_outside_bodys_report_is_another_notification_naming_the_body() -> None:
    # Given a suspension on a report from a police unit (no trusted flagger: no rulebook
    # can designate one, a Digital Services Coordinator does)
    report = ex.file_report(by=ex.actor("intake"), report_complainant=ex.complainant(
        ComplainantKind.OUTSIDE_BODY, person_id="police-1", outside_body=POLICE))
    [statement] = statements_of_reasons("case-1", recorded(run(path(SUSPENSION,
                                                                    report=report))))
    # Then the source is "other notification", and its identity is the body, no person
    assert statement["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert statement["source_identity"] == POLICE
    no_personal_data(statement)


def test_an_automated_detectors_flag_is_own_initiative_without_identity() -> None:
    report = ex.file_report(by=ex.actor("detector"), report_complainant=ex.complainant(
        ComplainantKind.AUTOMATED_DETECTOR, person_id=ex.DETECTOR_ID))
    [statement] = statements_of_reasons("case-1", recorded(run(path(SUSPENSION,
                                                                    report=report))))
    assert (statement["source_type"], statement["source_identity"],
            statement["automated_detection"]) == ("SOURCE_VOLUNTARY", None, "Yes")


def test_the_statement_links_the_published_version_of_the_rules_relied_on() -> None:
    # Given a rulebook whose versions say where they are published
    base = ex.example_policy()
    policy = base.model_copy(update={"versions": [
        v.model_copy(update={"reference_url": f"https://example.org/members-code/{v.version}"})
        for v in base.versions]})
    [statement] = statements_of_reasons("case-1", recorded(run(path(SUSPENSION,
                                                                    policy=policy))))
    # Then the statement links the version the charge was judged under
    assert statement["decision_ground_reference_url"] == URL
    assert "2023.1" in statement["incompatible_content_ground"]
