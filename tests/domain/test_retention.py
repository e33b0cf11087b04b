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
    membership_retention_end,
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


def test_an_ended_membership_is_due_its_period_after_it_ended() -> None:
    # given a member who resigned, under a rulebook whose version then sets retention
    left = ex.T0 + 500 * DAY
    # when the membership's retention end is asked
    end = membership_retention_end(member(left), policy())
    # then it is the membership period after the end (the timer's due time)
    assert end == left + RETENTION.membership


def test_a_current_member_has_no_membership_retention_end() -> None:
    # given a current member; when asked; then no timer is due
    assert membership_retention_end(member(None), policy()) is None


def test_an_ended_membership_without_a_period_is_kept_until_erased_on_request() -> None:
    # given a rulebook whose version in force at the end sets no retention
    left = ex.T0 + 500 * DAY
    # when asked, then no timer is due
    assert membership_retention_end(member(left), policy(None)) is None


def test_the_period_is_that_of_the_version_in_force_when_the_membership_ended() -> None:
    # given a rulebook whose 2019.1 keeps memberships 90 days and whose 2023.1 keeps them
    # 10 days, and a member who resigned in 2021
    base = policy()
    short = RETENTION.model_copy(update={"membership": 10 * DAY})
    newer = base.model_copy(update={"versions": [
        base.versions[0], base.versions[1].model_copy(update={"retention": short})]})
    left = datetime(2021, 6, 1, tzinfo=ex.T0.tzinfo)
    # when the membership's retention end is asked
    end = membership_retention_end(member(left), newer)
    # then 2019.1's period applies, the version in force when it ended
    assert end == left + RETENTION.membership


def test_an_open_case_refuses_an_ended_memberships_shredding() -> None:
    # given a member who resigned long ago, named in a case still open
    left = ex.T0 + 500 * DAY
    former = member(left)
    # when the membership's timer asks, past its period
    why = kept_because(ex.RESPONDENT_ID, [dismissed(closed=False)], former, RETENTION,
                       left + RETENTION.membership + DAY)
    # then the shredding is refused, naming the open case
    assert why is not None and "open" in why
    # and with no open case it is due
    assert kept_because(ex.RESPONDENT_ID, [], former, RETENTION,
                        left + RETENTION.membership) is None
