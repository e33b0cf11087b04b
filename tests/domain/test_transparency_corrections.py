"""Statements of reasons as the record stands after corrections (issue 15): each statement
changes only for a correction of its own record, its end date follows the sanction that
replaced it, and an interim suspension corrected away takes its renewals with it."""

from __future__ import annotations

from datetime import date, timedelta

from dueprocess.domain.base import personal
from dueprocess.domain.case import CaseState, CorrectedRecord, ImposeInterimSuspension
from dueprocess.domain.case.commands import (
    AppointAppealPanel,
    DecideAppeal,
    LodgeAppeal,
    RenewInterimSuspension,
)
from dueprocess.domain.case.events import CaseEvent
from dueprocess.domain.case.values import AppealOutcome, Sanction
from dueprocess.domain.policy import SanctionKind
from dueprocess.domain.transparency import statements_of_reasons
from fixtures import case_examples as ex
from fixtures.corrections import (
    OFFICER,
    SHORTER,
    SUSPENSION,
    case_to,
    correct,
    later,
    recorded,
    run,
)

EXPULSION = Sanction(kind=SanctionKind.EXPULSION)


def _varied_on_appeal(state: CaseState, events: list[CaseEvent]) -> CaseState:
    """An expulsion varied on appeal to a 30-day suspension."""
    for command in (
        LodgeAppeal(actor=ex.actor("respondent"), authority="code#appeal",
                    grounds=personal(ex.RESPONDENT_ID, "Expulsion is out of proportion.")),
        AppointAppealPanel(actor=OFFICER, authority="code#appeal",
                           members=ex.panel(*ex.APPEAL_PANEL_IDS)),
        DecideAppeal(actor=ex.actor("appeal_panel_member"), authority="code#appeals",
                     outcome=AppealOutcome.SANCTION_VARIED, reasons="A suspension is enough.",
                     new_sanction=SUSPENSION),
    ):
        state = run(state, command, later(events), events)
    return state


def test_a_replaced_suspension_ends_when_its_replacement_does() -> None:
    # Given a 30-day suspension corrected to 14 days
    state, events = case_to("decide", SUSPENSION)
    run(state, correct(CorrectedRecord.DECISION, replaced_by=SHORTER), later(events), events)
    # When the statements are exported
    [statement] = statements_of_reasons("case-1", recorded(events))
    # Then the statement's end date is 14 days after it applied
    applied = date.fromisoformat(statement["application_date"])
    assert "for 14 days" in statement["decision_facts"]
    assert statement["end_date_account_restriction"] == (
        applied + timedelta(days=14)).isoformat()


def test_a_corrected_appeal_changes_the_appeals_statement_only() -> None:
    # Given an expulsion varied on appeal to 30 days, the appeal corrected to 14 days
    state, events = case_to("decide", EXPULSION)
    state = _varied_on_appeal(state, events)
    run(state, correct(CorrectedRecord.APPEAL_DECISION, replaced_by=SHORTER), later(events),
        events)
    # When the statements are exported
    decision, appeal = statements_of_reasons("case-1", recorded(events))
    # Then the first decision is exported as recorded, the appeal with its replacement
    assert decision["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    assert "expulsion" in decision["decision_facts"]
    assert appeal["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert "for 14 days" in appeal["decision_facts"]


def test_an_appeal_corrected_to_a_warning_restricts_nothing_more() -> None:
    # Given an expulsion varied on appeal to a suspension, the appeal corrected to a warning
    state, events = case_to("decide", EXPULSION)
    state = _varied_on_appeal(state, events)
    run(state, correct(CorrectedRecord.APPEAL_DECISION, replaced_by=ex.WARNING),
        later(events), events)
    # When the statements are exported, only the first decision's restriction is
    [decision] = statements_of_reasons("case-1", recorded(events))
    assert decision["decision_account"] == "DECISION_ACCOUNT_TERMINATED"


def test_an_interim_suspension_corrected_away_takes_its_renewal_with_it() -> None:
    # Given an interim suspension imposed and renewed, then corrected away
    state, events = case_to("triage")
    state = run(state, ImposeInterimSuspension(actor=OFFICER, authority=ex.AUTHORITY,
                                               reasons="Risk."), later(events), events)
    state = run(state, RenewInterimSuspension(
        actor=OFFICER, authority=ex.AUTHORITY, reasons="Still a risk.",
        review_by=later(events, 20)), later(events), events)
    assert len(statements_of_reasons("case-1", recorded(events))) == 2
    run(state, correct(CorrectedRecord.INTERIM_SUSPENSION), later(events), events)
    # When the statements are exported, then neither is
    assert statements_of_reasons("case-1", recorded(events)) == []
