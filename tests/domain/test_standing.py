"""Bitemporal standing: as of a valid time, as known on a knowledge time, with reasons."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dueprocess.deploy
from dueprocess.domain.base import Actor, EventBase, personal
from dueprocess.domain.case.events import (
    AppealDecided,
    DecisionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionLifted,
    MemberReinstated,
    ReportFiled,
    SanctionApplied,
    SanctionEnded,
)
from dueprocess.domain.case.values import (
    Allegation,
    AppealOutcome,
    AutomatedDecision,
    Complainant,
    ComplainantKind,
    Finding,
    ReinstatementReason,
    Respondent,
    Sanction,
)
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.membership.member import (
    MemberState,
    RecordJoined,
    RecordRejoined,
    RecordResigned,
    decide_member,
    evolve_member,
    member_stream,
)
from dueprocess.domain.membership.standing import Standing, standing
from dueprocess.domain.policy import PolicyDocument, Right, SanctionKind, load_policy
from hypothesis import given, settings
from hypothesis import strategies as st

SAMPLE = pathlib.Path(dueprocess.deploy.__file__).parent / "policies" / "sample.yaml"
POLICY: PolicyDocument = load_policy(SAMPLE.read_text())
MEMBER = "m-42"
JOINED = date(2019, 3, 1)
OFFICER = Actor(id="staff-7", role="case_officer")
PANEL = Actor(id="panel-1", role="panel_member")
ADMIN = Actor(id="backoffice-1", role="membership_admin")
ALL = [Right.VOTE, Right.STAND_FOR_OFFICE, Right.ATTEND]


def t(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


RECORDING_NOW = t(2026, 1, 1)


class Log:
    """Builds RecordedEvents stream by stream, as the store would return them."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self._versions: dict[str, int] = {}

    def add(self, stream: str, event: EventBase, recorded_at: datetime | None = None,
            payload: dict[str, Any] | None = None) -> RecordedEvent:
        version = self._versions.get(stream, 0) + 1
        self._versions[stream] = version
        record = RecordedEvent(
            event_id=uuid.uuid4(), event_type=event.type, payload=payload or event.model_dump(
                mode="json"),
            actor=event.actor, authority=event.authority,
            recorded_at=recorded_at or event.effective_at, effective_at=event.effective_at,
            stream_id=stream, stream_version=version,
            position=Position(global_position=len(self.events) + 1), hash="00")
        self.events.append(record)
        return record

    def member(self, *commands: RecordJoined | RecordResigned | RecordRejoined,
               now: datetime = RECORDING_NOW) -> None:
        state = MemberState.empty(MEMBER)
        for command in commands:
            for event in decide_member(state, command, now, POLICY):
                state = evolve_member(state, event)
                self.add(member_stream(MEMBER), event)

    def standing(self, as_of: datetime, as_known_on: datetime | None = None) -> Standing:
        return standing(MEMBER, self.events, POLICY, as_of, as_known_on)


def joined() -> RecordJoined:
    return RecordJoined(actor=ADMIN, authority="bylaws", membership_number="M-1",
                        joined_on=JOINED)


def case_meta(actor: Actor, at: datetime) -> dict[str, Any]:
    return {"actor": actor, "authority": "policy:2023.1#s5", "effective_at": at}


def report(case: str, respondent: str = MEMBER) -> ReportFiled:
    version = POLICY.version_named("2023.1")
    assert version is not None
    return ReportFiled(
        **case_meta(OFFICER, t(2024, 4, 1)), case_id=case,
        complainant=Complainant(kind=ComplainantKind.MEMBER, person_id="m-7",
                                name=personal("m-7", "Sam")),
        respondent=Respondent(person_id=respondent, name=personal(respondent, "Alex")),
        allegations=[Allegation(allegation_id="a1", rule_id="R1", conduct_date=date(2024, 3, 1),
                                particulars=personal(respondent, "shouted threats"))],
        evidence=[], admissibility=[], good_faith_declaration=True, automated=False,
        policy_id=POLICY.policy_id, procedure_version="2023.1", rule_versions={"a1": "2023.1"},
        pinned_versions=[version])


def decision(at: datetime, sanction: Sanction) -> DecisionRecorded:
    return DecisionRecorded(
        **case_meta(PANEL, at),
        findings=[Finding(allegation_id="a1", upheld=True,
                          findings=personal(MEMBER, "it happened"), reasons="breaches R1",
                          sanction=sanction)],
        upheld=True, sanction=sanction, automated_detection=False,
        automated_decision=AutomatedDecision.NOT_AUTOMATED, how_to_appeal="write to appeals",
        appeal_deadline=at + timedelta(days=28))


def applied(at: datetime, sanction: Sanction) -> SanctionApplied:
    status = {SanctionKind.SUSPENSION: "suspended", SanctionKind.EXPULSION: "expelled",
              SanctionKind.WARNING: "warned"}[sanction.kind]
    return SanctionApplied(
        **case_meta(OFFICER, at), sanction=sanction, status=status,
        rights_removed=[] if status == "warned" else ALL,
        ends_at=at + sanction.term if sanction.term else None)


def appeal(at: datetime, outcome: AppealOutcome, new: Sanction | None = None) -> AppealDecided:
    return AppealDecided(**case_meta(PANEL, at), outcome=outcome, reasons="reasons given",
                         new_sanction=new)


def interim(at: datetime) -> InterimSuspensionImposed:
    return InterimSuspensionImposed(**case_meta(OFFICER, at), reasons="risk to members",
                                    review_by=at + timedelta(weeks=8), rights_removed=ALL)


EIGHT_WEEKS = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(weeks=8))
EXPULSION = Sanction(kind=SanctionKind.EXPULSION)


def explained(answer: Standing, event: RecordedEvent) -> str:
    found = [r.explanation for r in answer.reasons if r.event_id == event.event_id]
    assert found, f"{event.event_type} is not among the reasons"
    return found[0]


def cited(answer: Standing) -> list[str]:
    return [r.event_type for r in answer.reasons]


# -- scenario 1: a suspension during a ballot, then an appeal allowed -------------------------


def suspended_then_appeal_allowed() -> tuple[Log, RecordedEvent, RecordedEvent]:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    log.add("case-c1", decision(t(2024, 6, 1), EIGHT_WEEKS))
    sanction = log.add("case-c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    allowed = log.add("case-c1", appeal(t(2024, 7, 15), AppealOutcome.ALLOWED))
    return log, sanction, allowed


BALLOT = t(2024, 7, 1)


def test_ballot_as_known_after_the_appeal_shows_a_member_with_the_vote() -> None:
    log, sanction, allowed = suspended_then_appeal_allowed()
    answer = log.standing(as_of=BALLOT, as_known_on=t(2024, 7, 20))
    assert answer.status == "member" and Right.VOTE in answer.rights
    assert answer.rights == ALL and answer.rights_removed == []
    assert answer.continuous_since == JOINED and answer.membership_number == "M-1"
    assert "voided by appeal allowed on 2024-07-15" in explained(answer, sanction)
    assert "appeal allowed on 2024-07-15" in explained(answer, allowed)
    assert {"MemberJoined", "DecisionRecorded", "SanctionApplied", "AppealDecided"} <= set(
        cited(answer))


def test_ballot_as_known_before_the_appeal_shows_what_was_believed_then() -> None:
    log, sanction, allowed = suspended_then_appeal_allowed()
    answer = log.standing(as_of=BALLOT, as_known_on=t(2024, 6, 20))
    assert answer.status == "suspended" and Right.VOTE not in answer.rights
    assert answer.rights_removed == ALL
    assert answer.continuous_since == JOINED  # a suspension never breaks continuity
    assert explained(answer, sanction).startswith(
        "suspended for 8 weeks by decision of 2024-06-01 under R1 (policy 2023.1); "
        "removes vote, stand_for_office, attend; in effect until 2024-08-05")
    assert allowed.event_id not in {r.event_id for r in answer.reasons}
    assert answer.as_known_on == t(2024, 6, 20) and answer.as_of == BALLOT


def test_everything_known_equals_as_known_now() -> None:
    log, _, _ = suspended_then_appeal_allowed()
    assert log.standing(BALLOT).model_copy(update={"as_known_on": t(2030, 1, 1)}) == \
        log.standing(BALLOT, as_known_on=t(2030, 1, 1))


def test_appeal_recorded_late_but_effective_earlier_counts_from_its_recording() -> None:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    log.add("case-c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    log.add("case-c1", appeal(t(2024, 6, 20), AppealOutcome.ALLOWED), recorded_at=t(2024, 9, 1))
    assert log.standing(BALLOT, as_known_on=t(2024, 8, 1)).status == "suspended"
    assert log.standing(BALLOT, as_known_on=t(2024, 9, 1)).status == "member"


# -- scenario 2: resign in protest, rejoin ------------------------------------------------


def resign_in_protest_and_rejoin(days_away: int) -> Log:
    left = t(2024, 3, 1)
    log = Log()
    log.member(joined(),
               RecordResigned(actor=ADMIN, authority="bylaws", in_protest=True,
                              reason="leadership", effective_at=left),
               RecordRejoined(actor=ADMIN, authority="bylaws",
                              effective_at=left + timedelta(days=days_away)))
    return log


def test_protest_rejoin_within_window_keeps_number_and_join_date() -> None:
    log = resign_in_protest_and_rejoin(days_away=60)
    away = log.standing(as_of=t(2024, 4, 1))
    assert (away.status, away.continuous_since, away.rights) == ("resigned", None, [])
    back = log.standing(as_of=t(2024, 6, 1))
    assert (back.status, back.membership_number, back.continuous_since) == (
        "member", "M-1", JOINED)
    rejoin = next(r for r in back.reasons if r.event_type == "MemberRejoined")
    assert "within the 90-day window of policy 2023.1" in rejoin.explanation
    assert "membership number and continuity since 2019-03-01 kept" in rejoin.explanation


def test_protest_rejoin_outside_window_restarts_continuity_for_the_same_member() -> None:
    log = resign_in_protest_and_rejoin(days_away=120)
    back = log.standing(as_of=t(2024, 8, 1))
    assert (back.member_id, back.status, back.membership_number) == (MEMBER, "member", "M-1")
    assert back.continuous_since == date(2024, 6, 29)
    assert {e.stream_id for e in log.events} == {member_stream(MEMBER)}  # no new member
    rejoin = next(r for r in back.reasons if r.event_type == "MemberRejoined")
    assert "outside the 90-day window" in rejoin.explanation
    assert "continuity restarts on 2024-06-29" in rejoin.explanation


# -- scenario 3: suspensions do not break continuity ------------------------------------


def test_suspension_and_interim_suspension_do_not_break_continuity() -> None:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    imposed = log.add("case-c1", interim(t(2024, 4, 10)))
    log.add("case-c1", decision(t(2024, 6, 1), EIGHT_WEEKS))
    log.add("case-c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    during_interim = log.standing(t(2024, 5, 1))
    assert during_interim.status == "interim_suspended" and during_interim.rights == []
    assert during_interim.continuous_since == JOINED
    assert "does not break continuity" in explained(during_interim, imposed)
    between = log.standing(t(2024, 6, 5))  # the decision ended the interim measure
    assert between.status == "member" and between.rights == ALL
    during = log.standing(t(2024, 7, 1))
    assert (during.status, during.continuous_since) == ("suspended", JOINED)
    after = log.standing(t(2024, 8, 6))
    assert (after.status, after.rights, after.continuous_since) == ("member", ALL, JOINED)


def test_sanction_ended_early_and_interim_lifted_restore_rights() -> None:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    log.add("case-c1", interim(t(2024, 4, 10)))
    lifted = log.add("case-c1", InterimSuspensionLifted(
        **case_meta(OFFICER, t(2024, 4, 20)), reasons="no longer needed", rights_restored=ALL))
    assert log.standing(t(2024, 4, 21)).status == "member"
    assert "lifted on 2024-04-20" in explained(log.standing(t(2024, 4, 21)), lifted)
    log.add("case-c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    log.add("case-c1", SanctionEnded(**case_meta(OFFICER, t(2024, 7, 1)),
                                     ends_at=t(2024, 7, 1)))
    assert log.standing(t(2024, 6, 30)).status == "suspended"
    assert log.standing(t(2024, 7, 2)).status == "member"


# -- scenario 4: an expulsion voided on appeal keeps continuity -----------------------------


def expelled(appealed: bool) -> Log:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    log.add("case-c1", decision(t(2024, 6, 1), EXPULSION))
    log.add("case-c1", applied(t(2024, 6, 10), EXPULSION))
    if appealed:
        log.add("case-c1", appeal(t(2024, 9, 1), AppealOutcome.ALLOWED))
        log.add("case-c1", MemberReinstated(
            **case_meta(OFFICER, t(2024, 9, 2)), reason=ReinstatementReason.APPEAL_ALLOWED,
            rights_restored=ALL, record_corrected=True))
    return log


def test_expulsion_voided_on_appeal_never_happened_for_continuity() -> None:
    log = expelled(appealed=True)
    during = log.standing(as_of=t(2024, 8, 1))
    assert (during.status, during.rights, during.continuous_since) == ("member", ALL, JOINED)
    later = log.standing(as_of=t(2025, 1, 1))
    assert (later.status, later.continuous_since) == ("member", JOINED)
    assert "MemberReinstated" in cited(later) and "MemberReinstated" not in cited(during)
    believed = log.standing(as_of=t(2024, 8, 1), as_known_on=t(2024, 8, 15))
    assert (believed.status, believed.rights, believed.continuous_since) == (
        "expelled", [], None)
    applied_reason = next(r for r in during.reasons if r.event_type == "SanctionApplied")
    assert "voided by appeal allowed on 2024-09-01" in applied_reason.explanation
    assert "continuity" in applied_reason.explanation


def test_an_expulsion_that_stands_ends_membership() -> None:
    answer = expelled(appealed=False).standing(as_of=t(2025, 1, 1))
    assert (answer.status, answer.rights, answer.continuous_since) == ("expelled", [], None)
    applied_reason = next(r for r in answer.reasons if r.event_type == "SanctionApplied")
    assert applied_reason.explanation.endswith("in effect; ends membership and continuity")


def test_readmission_after_a_standing_expulsion_restarts_continuity() -> None:
    log = Log()
    log.member(joined(),
               RecordResigned(actor=ADMIN, authority="bylaws", in_protest=True,
                              effective_at=t(2024, 6, 11)),
               RecordRejoined(actor=ADMIN, authority="bylaws", effective_at=t(2024, 7, 1)))
    log.add("case-c1", report("c1"))
    log.add("case-c1", applied(t(2024, 6, 10), EXPULSION))
    assert log.standing(t(2024, 6, 20)).status == "expelled"
    back = log.standing(t(2024, 8, 1))
    # the member fold alone would keep 2019 (protest rejoin within the window), but the
    # expulsion in between stands and broke continuity
    assert (back.status, back.rights, back.continuous_since) == ("member", ALL, date(2024, 7, 1))


# -- appeal outcomes -------------------------------------------------------------------------


def test_a_varied_sanction_replaces_the_original_from_its_original_date() -> None:
    log = expelled(appealed=False)
    four_weeks = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(weeks=4))
    varied = log.add("case-c1", appeal(t(2024, 7, 1), AppealOutcome.SANCTION_VARIED, four_weeks))
    during = log.standing(t(2024, 6, 20))
    assert (during.status, during.rights, during.continuous_since) == ("suspended", [], JOINED)
    assert "varied to suspension for 4 weeks" in explained(during, varied)
    applied_reason = next(r for r in during.reasons if r.event_type == "SanctionApplied")
    assert "varied on appeal on 2024-07-01 from expulsion" in applied_reason.explanation
    assert log.standing(t(2024, 7, 9)).status == "member"  # 2024-06-10 + 4 weeks
    assert log.standing(t(2024, 6, 20), as_known_on=t(2024, 6, 30)).status == "expelled"


def test_a_sanction_varied_to_a_longer_term_runs_the_new_term() -> None:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    log.add("case-c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    twelve = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(weeks=12))
    log.add("case-c1", appeal(t(2024, 6, 20), AppealOutcome.SANCTION_VARIED, twelve))
    assert log.standing(t(2024, 8, 20)).status == "suspended"  # week 10
    assert log.standing(t(2024, 9, 2)).status == "member"  # 2024-06-10 + 12 weeks


def test_a_dismissed_appeal_leaves_the_sanction_standing_and_is_cited() -> None:
    log = Log()
    log.member(joined())
    log.add("case-c1", report("c1"))
    log.add("case-c1", applied(t(2024, 6, 10), EIGHT_WEEKS))
    dismissed = log.add("case-c1", appeal(t(2024, 6, 20), AppealOutcome.DISMISSED))
    answer = log.standing(t(2024, 7, 1))
    assert answer.status == "suspended"
    assert "appeal dismissed on 2024-06-20" in explained(answer, dismissed)


# -- robustness ------------------------------------------------------------------------------


def test_cases_about_someone_else_and_unknown_or_unreadable_events_are_ignored() -> None:
    log = Log()
    log.member(joined())
    log.add("case-other", report("other", respondent="m-99"))
    log.add("case-other", applied(t(2024, 6, 10), EXPULSION))
    log.add("case-c1", report("c1"))
    log.add("case-c1", applied(t(2024, 6, 10), EXPULSION),
            payload={"type": "SanctionApplied", "garbage": True})
    log.add("case-c1", interim(t(2024, 6, 11)).model_copy(update={"type": "SomethingNew"}))
    answer = log.standing(t(2024, 7, 1))
    assert answer.status == "member" and answer.rights == ALL
    assert cited(answer) == ["MemberJoined"]


def test_someone_with_no_membership_record_holds_no_rights() -> None:
    answer = Log().standing(t(2024, 7, 1))
    assert (answer.status, answer.rights, answer.rights_removed, answer.reasons) == (
        "not_a_member", [], ALL, [])


def test_before_joining_the_person_is_not_a_member() -> None:
    log = Log()
    log.member(joined())
    assert log.standing(t(2019, 2, 28)).status == "not_a_member"
    assert log.standing(t(2019, 3, 1, 0)).status == "member"


# -- properties ------------------------------------------------------------------------------


def event_pool() -> list[RecordedEvent]:
    """Every kind of event the fold reads, from all the scenarios above."""
    pool: list[RecordedEvent] = []
    for log in (suspended_then_appeal_allowed()[0], resign_in_protest_and_rejoin(60),
                expelled(appealed=True)):
        pool += log.events
    extra = Log()
    extra.add("case-c2", report("c2"))
    extra.add("case-c2", interim(t(2024, 5, 1)))
    extra.add("case-c2", appeal(t(2024, 5, 2), AppealOutcome.SANCTION_VARIED,
                                Sanction(kind=SanctionKind.WARNING)))
    extra.add("case-c2", SanctionEnded(**case_meta(OFFICER, t(2024, 5, 3)), ends_at=t(2024, 5, 3)))
    return pool + extra.events


POOL = event_pool()
times = st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2026, 1, 1),
                     timezones=st.just(UTC))


def shift(events: Sequence[RecordedEvent], shifts: list[tuple[int, int]]) -> list[RecordedEvent]:
    """Move effective and recorded times around: any order in either time."""
    return [e.model_copy(update={"effective_at": e.effective_at + timedelta(days=a),
                                 "recorded_at": e.recorded_at + timedelta(days=b)})
            for e, (a, b) in zip(events, shifts, strict=False)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=25, unique_by=lambda e: e.event_id),
       st.lists(st.tuples(st.integers(-400, 400), st.integers(-400, 400)), min_size=25,
                max_size=25),
       st.permutations(range(25)), times, st.none() | times)
def test_standing_never_raises_and_ignores_input_order(
    chosen: list[RecordedEvent], shifts: list[tuple[int, int]], order: list[int],
    as_of: datetime, as_known_on: datetime | None,
) -> None:
    events = shift(chosen, shifts)
    answer = standing(MEMBER, events, POLICY, as_of, as_known_on)
    assert set(answer.rights).isdisjoint(answer.rights_removed)
    assert sorted(answer.rights + answer.rights_removed) == sorted(ALL)
    if answer.status in {"expelled", "lapsed", "resigned", "not_a_member"}:
        assert answer.continuous_since is None
    shuffled = [events[i] for i in order if i < len(events)]
    assert standing(MEMBER, shuffled, POLICY, as_of, as_known_on) == answer
    if as_known_on is not None:
        known_ids = {e.event_id for e in events if e.recorded_at <= as_known_on}
        assert {r.event_id for r in answer.reasons} <= known_ids
