"""Standing reads the case as ``evolve`` folds it: one fold, one answer.

The divergence this pins down: a suspension renewed with no recorded imposition took
its rights from the policy version in force on the as-of date in standing, but from the
case's pinned procedure in the case state. Both now use the pinned procedure.
"""

from __future__ import annotations

import pathlib
import uuid
from datetime import UTC, date, datetime
from typing import Any

import dueprocess.deploy
from dueprocess.domain.base import Actor, EventBase, personal
from dueprocess.domain.case.events import InterimSuspensionRenewed, ReportFiled
from dueprocess.domain.case.state import CaseState, evolve
from dueprocess.domain.case.values import Allegation, Complainant, ComplainantKind, Respondent
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.membership.member import MemberJoined, member_stream
from dueprocess.domain.membership.standing import standing
from dueprocess.domain.policy import INTERIM_STATUS, PolicyDocument, Right, load_policy
from dueprocess.domain.streams import case_stream

SAMPLE = pathlib.Path(dueprocess.deploy.__file__).parent / "policies" / "sample.yaml"

MEMBER = "m-42"
OFFICER = Actor(id="staff-7", role="case_officer")
ADMIN = Actor(id="backoffice-1", role="membership_admin")


def t(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


def policy_with_a_milder_interim_from_2025() -> PolicyDocument:
    """The sample rulebook, its 2023.1 version ended in 2024 and followed by one whose
    interim suspension removes only the vote."""
    base = load_policy(SAMPLE.read_text())
    old = base.version_named("2023.1")
    assert old is not None and old.rights_removed(INTERIM_STATUS) == frozenset(Right)
    ended = old.model_copy(update={"effective_to": date(2024, 12, 31)})
    milder = old.model_copy(update={
        "version": "2025.1", "effective_from": date(2025, 1, 1), "effective_to": None,
        "statuses": {**old.statuses, INTERIM_STATUS: [Right.VOTE]}})
    versions = [v for v in base.versions if v.version != "2023.1"]
    return base.model_copy(update={"versions": [*versions, ended, milder]})


def recorded(stream: str, version: int, event: EventBase) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), event_type=event.type, payload=event.model_dump(mode="json"),
        actor=event.actor, authority=event.authority, recorded_at=event.effective_at,
        effective_at=event.effective_at, stream_id=stream, stream_version=version,
        position=Position(global_position=version), hash="00")


def meta(at: datetime) -> dict[str, Any]:
    return {"actor": OFFICER, "authority": "policy:2023.1#s5", "effective_at": at}


def report(policy: PolicyDocument) -> ReportFiled:
    pinned = policy.version_named("2023.1")
    assert pinned is not None
    return ReportFiled(
        **meta(t(2024, 11, 1)), case_id="c1",
        complainant=Complainant(kind=ComplainantKind.MEMBER, person_id="m-7",
                                name=personal("m-7", "Sam")),
        respondent=Respondent(person_id=MEMBER, name=personal(MEMBER, "Alex")),
        allegations=[Allegation(allegation_id="a1", rule_id="R1", conduct_date=date(2024, 10, 1),
                                particulars=personal(MEMBER, "shouted threats"))],
        evidence=[], admissibility=[], good_faith_declaration=True, automated=False,
        policy_id=policy.policy_id, procedure_version="2023.1", rule_versions={"a1": "2023.1"},
        pinned_versions=[pinned])


def test_a_renewal_without_imposition_removes_the_pinned_procedures_rights() -> None:
    # given a case pinned to 2023.1 (interim removes every right), a later rulebook whose
    # interim suspension removes only the vote, and a renewal with no imposition on record
    policy = policy_with_a_milder_interim_from_2025()
    filed = report(policy)
    renewed = InterimSuspensionRenewed(**meta(t(2025, 2, 1)), reasons="risk persists",
                                       review_by=t(2025, 3, 15))
    joined = MemberJoined(actor=ADMIN, authority="bylaws", effective_at=t(2019, 3, 1),
                          member_id=MEMBER, membership_number="M-1", joined_on=date(2019, 3, 1))
    log = [recorded(member_stream(MEMBER), 1, joined),
           recorded(case_stream("c1"), 1, filed), recorded(case_stream("c1"), 2, renewed)]
    case = evolve(evolve(CaseState.empty("c1"), filed), renewed)

    # when standing is asked as of a date the milder version is in force
    answer = standing(MEMBER, log, policy, as_of=t(2025, 2, 10))

    # then it removes what the case removes: the pinned procedure's rights, not the vote only
    assert case.interim is not None
    assert set(answer.rights_removed) == case.interim.rights_removed == frozenset(Right)
    assert answer.status == INTERIM_STATUS and answer.rights == []
    assert [r.event_type for r in answer.reasons] == ["MemberJoined", "InterimSuspensionRenewed"]


def test_standing_measures_are_the_case_states_measures() -> None:
    # given a case folded by evolve
    policy = policy_with_a_milder_interim_from_2025()
    filed = report(policy)
    renewed = InterimSuspensionRenewed(**meta(t(2025, 2, 1)), reasons="risk persists",
                                       review_by=t(2025, 3, 15))
    case = evolve(evolve(CaseState.empty("c1"), filed), renewed)
    # then its measure history cites the renewal by its ordinal in the fold
    (measure,) = case.measures.measures
    assert (measure.source, measure.status, measure.start) == (2, INTERIM_STATUS, t(2025, 2, 1))
    assert case.events_folded == 2
