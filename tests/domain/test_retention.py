"""GDPR storage limitation: when a person's personal data may be shredded.

Given the cases (and the membership) naming a person, when the retention timer asks at
``now``, then the data is due only once every record is past its rulebook period and
none is open; otherwise the reason it is kept.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dueprocess.domain.base import Actor
from dueprocess.domain.case import CaseState, CloseCase, TriageCase, TriageOutcome, decide, fold
from dueprocess.domain.case.values import DismissalReason
from dueprocess.domain.membership.member import (
    MemberState,
    RecordJoined,
    RecordResigned,
    decide_member,
    evolve_member,
)
from dueprocess.domain.policy import PolicyDocument, Retention
from dueprocess.domain.retention import (
    RecordKind,
    case_kind,
    case_retention_end,
    kept_because,
)
from fixtures import case_examples as ex

DAY = timedelta(days=1)
RETENTION = Retention(dismissed=30 * DAY, not_upheld=60 * DAY, sanctioned=365 * DAY,
                      membership=90 * DAY)
OFFICER = ex.actor("case_officer")
ADMIN = Actor(id="backoffice-1", role="membership_admin")


def policy(retention: Retention | None = RETENTION) -> PolicyDocument:
    base = ex.example_policy()
    return base.model_copy(update={"versions": [
        v.model_copy(update={"retention": retention}) for v in base.versions]})


def run(state: CaseState, command: object, at: datetime) -> CaseState:
    return fold(decide(state, command, at), state)  # type: ignore[arg-type]


def dismissed(closed: bool = True, retention: Retention | None = RETENTION) -> CaseState:
    state = run(CaseState.empty("case-1"), ex.file_report(policy=policy(retention)), ex.T0)
    state = run(state, TriageCase(actor=OFFICER, authority=ex.AUTHORITY,
                                  outcome=TriageOutcome.DISMISS, reasons="Out of scope.",
                                  dismissal_reason=DismissalReason.NO_CASE_TO_ANSWER),
                ex.T0 + DAY)
    return run(state, CloseCase(actor=OFFICER, authority=ex.AUTHORITY), ex.T0 + DAY) \
        if closed else state


def sanctioned() -> CaseState:
    state = CaseState.empty("case-2")
    for step in ex.happy_path(policy=policy()):
        state = run(state, step.command, step.now)
    return state


def member(resigned_at: datetime | None) -> MemberState:
    state = MemberState.empty(ex.RESPONDENT_ID)
    commands: list[tuple[object, datetime]] = [
        (RecordJoined(actor=ADMIN, authority="rules", membership_number="N1",
                      joined_on=date(2020, 1, 1)), datetime(2020, 1, 1, tzinfo=ex.T0.tzinfo))]
    if resigned_at is not None:
        commands.append((RecordResigned(actor=ADMIN, authority="rules", in_protest=False),
                         resigned_at))
    for command, at in commands:
        for event in decide_member(state, command, at, policy()):  # type: ignore[arg-type]
            state = evolve_member(state, event)
    return state


def test_each_kind_of_case_keeps_its_rulebook_period_from_closure() -> None:
    case = dismissed()
    assert case_kind(case) is RecordKind.DISMISSED
    assert case_retention_end(case) == ex.T0 + DAY + RETENTION.dismissed
    decided = sanctioned()
    assert case_kind(decided) is RecordKind.SANCTIONED
    assert decided.closed_at is not None
    assert case_retention_end(decided) == decided.closed_at + RETENTION.sanctioned
    assert case_retention_end(dismissed(closed=False)) is None
    assert case_retention_end(dismissed(retention=None)) is None


def test_data_is_due_once_every_record_is_past_its_period() -> None:
    case = dismissed()
    end = ex.T0 + DAY + RETENTION.dismissed
    why = kept_because(ex.COMPLAINANT_ID, [case], None, RETENTION, end - DAY)
    assert why is not None and "kept until" in why
    assert kept_because(ex.COMPLAINANT_ID, [case], None, RETENTION, end) is None


def test_an_open_case_or_appeal_refuses_the_shredding() -> None:
    why = kept_because(ex.RESPONDENT_ID, [dismissed(), dismissed(closed=False)], None,
                       RETENTION, ex.T0 + 1000 * DAY)
    assert why is not None and "open" in why


def test_a_case_without_a_period_is_kept_until_erased_on_request() -> None:
    why = kept_because(ex.RESPONDENT_ID, [dismissed(retention=None)], None, RETENTION,
                       ex.T0 + 1000 * DAY)
    assert why is not None and "no retention period" in why


def test_a_current_member_is_kept_and_a_former_one_after_the_membership_period() -> None:
    late = ex.T0 + 1000 * DAY
    current = kept_because(ex.RESPONDENT_ID, [dismissed()], member(None), RETENTION, late)
    assert current is not None and "member" in current
    left = ex.T0 + 500 * DAY
    former = member(left)
    kept = kept_because(ex.RESPONDENT_ID, [dismissed()], former, RETENTION, left + DAY)
    assert kept is not None and "membership record is kept" in kept
    assert kept_because(ex.RESPONDENT_ID, [dismissed()], former, RETENTION,
                        left + RETENTION.membership) is None
