"""The case audit over hand-built histories, including ones the deciders would refuse.

Each history is a list of case events wrapped as stored records, so the audit sees exactly
what it would read back from the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from dueprocess.domain.audit import CaseAudit, CheckResult, CheckStatus, audit_case
from dueprocess.domain.base import SYSTEM_ACTOR, Actor, ActorKind, Personal, personal
from dueprocess.domain.case.events import (
    AppealDecided,
    AppealLodged,
    AppealPanelAppointed,
    AppealWindowClosed,
    CaseClosed,
    CaseEvent,
    CaseTriaged,
    DataCollectionNoticeGiven,
    DeadlineMissed,
    DecisionRecorded,
    EvidenceDisclosed,
    HearingHeld,
    HearingScheduled,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InvestigatorAssigned,
    MemberReinstated,
    NoticeIssued,
    PanelAppointed,
    ReportAcknowledged,
    ReportFiled,
    ResponseSubmitted,
    SanctionApplied,
)
from dueprocess.domain.case.values import (
    Admissibility,
    Allegation,
    AppealOutcome,
    AutomatedDecision,
    Complainant,
    ComplainantKind,
    EvidenceItem,
    Finding,
    NoticedAllegation,
    PanelMember,
    ReinstatementReason,
    Respondent,
    Sanction,
    StatementOfReasons,
    WithheldEvidence,
)
from dueprocess.domain.envelope import Position, RecordedEvent
from dueprocess.domain.policy import (
    Deadlines,
    EvidencePolicy,
    PolicyVersion,
    Right,
    Rule,
    SanctionKind,
    SourceKind,
)
from dueprocess.domain.rules.catalogue import CATALOGUE
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASE = "c-1"
ALL_RIGHTS = [Right.ATTEND, Right.STAND_FOR_OFFICE, Right.VOTE]

OFFICER = Actor(id="officer-1", role="case_officer")
INVESTIGATOR = Actor(id="inv-1", role="investigator")
PANELLIST = Actor(id="panel-1", role="panel_member")
APPEAL_PANELLIST = Actor(id="appeal-1", role="appeal_panel_member")
RESPONDENT = Actor(id="resp-1", role="respondent")
COMPLAINANT = Actor(id="comp-1", role="complainant")
DETECTOR = Actor(id="detector-1", role="detector", kind=ActorKind.AUTOMATED)

VERSION = PolicyVersion(
    version="2026.1", effective_from=date(2025, 1, 1),
    rules=[
        Rule(rule_id="R1", title="Abuse", definition="No abuse.", examples=["Threats."],
             allowed_sanctions=[SanctionKind.WARNING, SanctionKind.SUSPENSION],
             max_suspension=timedelta(days=180)),
        Rule(rule_id="R2", title="Data", definition="No misuse of data.", examples=["Leaks."],
             allowed_sanctions=[SanctionKind.WARNING]),
    ],
    statuses={"interim_suspended": ALL_RIGHTS, "warned": [], "suspended": ALL_RIGHTS,
              "expelled": ALL_RIGHTS},
    deadlines=Deadlines(
        acknowledge=timedelta(days=7), respond=timedelta(days=14),
        minimum_hearing_notice=timedelta(days=14), disclosure_lead_time=timedelta(days=7),
        appeal_window=timedelta(days=28), interim_suspension_review=timedelta(weeks=8),
        rejoin_continuity_window=timedelta(days=90)),
    evidence=EvidencePolicy(acceptable_source_kinds=[SourceKind.PUBLIC_POST,
                                                     SourceKind.WITNESS_STATEMENT]),
)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


NOW = day(60)


def meta(actor: Actor, at: datetime, authority: str = "policy:2026.1#procedure") -> dict[str, Any]:
    return {"actor": actor, "authority": authority, "effective_at": at}


# -- events of an ordinary, fair case --------------------------------------------------------------


def evidence(evidence_id: str, witness: str | None = None) -> EvidenceItem:
    return EvidenceItem(
        evidence_id=evidence_id, description=personal("resp-1", f"item {evidence_id}"),
        source_kind=SourceKind.WITNESS_STATEMENT if witness else SourceKind.PUBLIC_POST,
        captured_by="comp-1", captured_at=day(-1), captured_from="forum",
        content_hash="sha256:00", witness_id=witness)


def report(*, automated: bool = False, conduct: date = date(2026, 2, 20),
           items: Sequence[EvidenceItem] = ()) -> ReportFiled:
    items = list(items) or [evidence("ev-1"), evidence("ev-2", witness="wit-1")]
    if automated:
        complainant = Complainant(kind=ComplainantKind.AUTOMATED_DETECTOR,
                                  person_id="detector-1", name=personal("detector-1", "Flagger"))
    else:
        complainant = Complainant(kind=ComplainantKind.MEMBER, person_id="comp-1",
                                  name=personal("comp-1", "Casey"))
    return ReportFiled(
        **meta(DETECTOR if automated else COMPLAINANT, T0), case_id=CASE,
        complainant=complainant,
        respondent=Respondent(person_id="resp-1", name=personal("resp-1", "Robin")),
        allegations=[Allegation(allegation_id="a1", rule_id="R1", conduct_date=conduct,
                                particulars=personal("resp-1", "posted threats"))],
        evidence=items,
        admissibility=[Admissibility(evidence_id=i.evidence_id, admissible=True) for i in items],
        good_faith_declaration=True, automated=automated, policy_id="code",
        procedure_version="2026.1", rule_versions={"a1": "2026.1"}, pinned_versions=[VERSION])


def triage(actor: Actor = OFFICER, at: float = 2) -> CaseTriaged:
    return CaseTriaged(**meta(actor, day(at)), reasons="a case to answer", reviewed_by=actor.id)


def notice(at: float = 3) -> NoticeIssued:
    return NoticeIssued(
        **meta(INVESTIGATOR, day(at)),
        allegations=[NoticedAllegation(
            allegation_id="a1", rule_id="R1", rule_title="Abuse", policy_version="2026.1",
            conduct_date=date(2026, 2, 20), particulars=personal("resp-1", "posted threats"))],
        possible_consequences=[SanctionKind.WARNING, SanctionKind.SUSPENSION],
        complainant_identified=True, response_due=day(at) + timedelta(days=14))


def disclosure(ids: Sequence[str] = ("ev-1", "ev-2"), at: float = 3,
               withheld: Sequence[WithheldEvidence] = ()) -> EvidenceDisclosed:
    return EvidenceDisclosed(**meta(INVESTIGATOR, day(at)), evidence_ids=list(ids),
                             withheld=list(withheld))


def panel(*members: PanelMember) -> PanelAppointed:
    return PanelAppointed(**meta(OFFICER, day(6)),
                          members=list(members) or [PanelMember(member_id="panel-1",
                                                                declared=True)])


WARNING = Sanction(kind=SanctionKind.WARNING)


def decision(sanction: Sanction | None = WARNING, *,
             at: float = 25, upheld: bool = True, how_to_appeal: str = "write to appeals@",
             relied: Sequence[str] = ("ev-1", "ev-2"),
             statement: bool = True) -> DecisionRecorded:
    sor = StatementOfReasons(
        decision_account="warning", decision_ground="incompatible_content",
        incompatible_content_ground="code 2026.1 R1 (Abuse)",
        decision_facts=[personal("resp-1", "posted threats")], source_type="notice",
        automated_detection=False, automated_decision=AutomatedDecision.NOT_AUTOMATED,
        application_date=day(at), end_date=None) if sanction and statement else None
    return DecisionRecorded(
        **meta(PANELLIST, day(at)),
        findings=[Finding(allegation_id="a1", upheld=upheld,
                          findings=personal("resp-1", "posted threats"),
                          reasons="the posts were threats under R1",
                          relied_on_evidence=list(relied),
                          sanction=sanction)],
        upheld=upheld, sanction=sanction, automated_detection=False,
        automated_decision=AutomatedDecision.NOT_AUTOMATED, how_to_appeal=how_to_appeal,
        appeal_deadline=day(at + 28), statement_of_reasons=sor)


def window_closed(at: float = 54) -> AppealWindowClosed:
    return AppealWindowClosed(**meta(SYSTEM_ACTOR, day(at)), closes_at=day(53))


def warning_applied(at: float = 54) -> SanctionApplied:
    return SanctionApplied(**meta(OFFICER, day(at)), sanction=WARNING, status="warned",
                           rights_removed=[])


def interim(at: float = 2.5, review: float = 30,
            rights: Sequence[Right] = ALL_RIGHTS) -> InterimSuspensionImposed:
    return InterimSuspensionImposed(**meta(OFFICER, day(at)), reasons="risk to witnesses",
                                    review_by=day(review), rights_removed=list(rights))


def collection_notice(ids: Sequence[str] = ("ev-1", "ev-2"),
                      at: float = 3) -> DataCollectionNoticeGiven:
    """GDPR Art 14: the respondent told that data about them came from others."""
    return DataCollectionNoticeGiven(**meta(INVESTIGATOR, day(at)), subject_id="resp-1",
                                     evidence_ids=list(ids), sources=["public_post from forum"],
                                     channel="notification")


def until_hearing() -> list[CaseEvent]:
    return [
        report(),
        ReportAcknowledged(**meta(OFFICER, day(1))),
        triage(),
        InvestigatorAssigned(**meta(OFFICER, day(2)), investigator_id="inv-1"),
        notice(),
        disclosure(),
        collection_notice(),
        ResponseSubmitted(**meta(RESPONDENT, day(5)), statement=personal("resp-1", "denied")),
        panel(),
        HearingScheduled(**meta(OFFICER, day(6)), at=day(24), location="Room 1"),
        HearingHeld(**meta(PANELLIST, day(24)), attendees=["panel-1", "resp-1"],
                    respondent_attended=True),
    ]


def fair_case() -> list[CaseEvent]:
    """Upheld, warned, nobody appealed: every applicable rule kept."""
    return [*until_hearing(), decision(), window_closed(), warning_applied(),
            CaseClosed(**meta(OFFICER, day(55)))]


def allowed_appeal(*, reinstated: bool = True) -> list[CaseEvent]:
    events: list[CaseEvent] = [
        *until_hearing(), decision(),
        AppealLodged(**meta(RESPONDENT, day(30)), grounds=personal("resp-1", "misread posts")),
        AppealPanelAppointed(**meta(OFFICER, day(31)),
                             members=[PanelMember(member_id="appeal-1", declared=True)]),
        AppealDecided(**meta(APPEAL_PANELLIST, day(40)), outcome=AppealOutcome.ALLOWED,
                      reasons="the posts were satire"),
    ]
    if reinstated:
        events.append(MemberReinstated(**meta(OFFICER, day(41)),
                                       reason=ReinstatementReason.APPEAL_ALLOWED,
                                       rights_restored=[], record_corrected=True))
    return events


# -- wrapping, editing and auditing ----------------------------------------------------------------


def record(events: Sequence[CaseEvent], stream: str = f"case-{CASE}") -> list[RecordedEvent]:
    return [
        RecordedEvent(
            event_id=uuid.uuid4(), event_type=e.type, payload=e.model_dump(mode="json"),
            actor=e.actor, authority=e.authority, recorded_at=e.effective_at,
            effective_at=e.effective_at, stream_id=stream, stream_version=n,
            position=Position(tx_id=1, global_position=n), hash="0" * 64)
        for n, e in enumerate(events, start=1)
    ]


def without(events: Sequence[CaseEvent], *kinds: type[Any]) -> list[CaseEvent]:
    return [e for e in events if not isinstance(e, kinds)]


def swap(events: Sequence[CaseEvent], new: CaseEvent) -> list[CaseEvent]:
    """Replace every event of ``new``'s type with ``new``."""
    return [new if type(e) is type(new) else e for e in events]


def audit(records: Sequence[RecordedEvent], now: datetime | None = NOW,
          notifications: Sequence[RecordedEvent] | None = None) -> CaseAudit:
    return audit_case(list(records), notifications=notifications, now=now)


def check(result: CaseAudit, check_id: str) -> CheckResult:
    return next(c for c in result.checks if c.check_id == check_id)


def outcome(events: Sequence[CaseEvent], check_id: str, **kw: Any) -> CheckResult:
    return check(audit(record(events), **kw), check_id)


def offending_types(result: CheckResult) -> list[str]:
    return [ref.event_type for ref in result.offending]


def note_to_complainant(caused_by: RecordedEvent, n: int) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), event_type="NotificationDispatched",
        payload={"notification_id": f"n-{n}", "recipient_role": "complainant",
                 "recipient_subject_id": "comp-1", "address": None, "subject": "Your report",
                 "channel": "file", "caused_by": str(caused_by.event_id)},
        actor=SYSTEM_ACTOR, authority="policy:notifications", recorded_at=caused_by.recorded_at,
        effective_at=caused_by.recorded_at, stream_id=f"notifications-{CASE}", stream_version=n,
        position=Position(tx_id=2, global_position=100 + n), hash="0" * 64)


def notes_for(records: Sequence[RecordedEvent], *types: str) -> list[RecordedEvent]:
    causes = [r for r in records if r.event_type in types]
    return [note_to_complainant(r, n) for n, r in enumerate(causes, start=1)]


# -- the whole audit -------------------------------------------------------------------------------


def test_fair_case_passes_every_applicable_check() -> None:
    records = record(fair_case())
    result = audit(records, notifications=notes_for(records, "ReportAcknowledged",
                                                    "DecisionRecorded"))
    statuses = {c.check_id: c.status for c in result.checks}
    assert result.ok and result.case_id == CASE and result.as_of == NOW
    # Every rule the audit judges has a verdict; those with nothing of theirs on record
    # say so (the appeal, interim and reinstatement rules, in a case without them).
    assert set(statuses) == {r.rule_id for r in CATALOGUE if r.audit_check is not None}
    assert {"interim-suspension-governed", "reinstatement-after-successful-appeal",
            "appeal-lodged", "interim-suspension-review"} <= {
        k for k, v in statuses.items() if v is CheckStatus.NOT_APPLICABLE}
    assert statuses["human-triage-of-automated-reports"] is CheckStatus.PASS
    assert CheckStatus.FAIL not in statuses.values()
    assert all(c.title and c.explanation for c in result.checks)


def test_timeline_says_who_in_what_role_under_what_authority_and_when() -> None:
    records = record(fair_case())
    timeline = audit(records).timeline
    assert [t.stream_version for t in timeline] == list(range(1, len(records) + 1))
    decided = next(t for t in timeline if t.event_type == "DecisionRecorded")
    assert (decided.actor_id, decided.actor_role, decided.actor_kind) == (
        "panel-1", "panel_member", ActorKind.PERSON)
    assert decided.authority == "policy:2026.1#procedure"
    assert decided.effective_at == day(25) and decided.recorded_at == day(25)
    assert "upheld a1" in decided.summary and "warning" in decided.summary
    assert all(not t.flags for t in timeline)
    # The timeline is made of ids and process facts, never the personal data itself.
    assert not any("Robin" in t.summary or "threats" in t.summary for t in timeline)


def test_empty_history_has_nothing_to_check() -> None:
    result = audit([])
    assert result.ok and result.timeline == []
    assert {c.status for c in result.checks} == {CheckStatus.NOT_APPLICABLE}


def test_audit_reads_erased_personal_data() -> None:
    records = record(fair_case())
    erased = Personal(subject_id="resp-1", value=None, erased=True).model_dump(mode="json")
    first = records[0]
    payload = {**first.payload, "respondent": {**first.payload["respondent"], "name": erased}}
    records[0] = first.model_copy(update={"payload": payload})
    assert check(audit(records), "events-readable").status is CheckStatus.PASS


# -- events-readable -------------------------------------------------------------------------------


def test_unreadable_event_fails_and_is_flagged_in_the_timeline() -> None:
    records = record(fair_case())
    broken = records[3].model_copy(update={"payload": {"investigator": 7}})
    records[3] = broken
    result = audit(records)
    readable = check(result, "events-readable")
    assert readable.status is CheckStatus.FAIL and not result.ok
    assert [r.event_id for r in readable.offending] == [broken.event_id]
    assert "InvestigatorAssigned" in readable.explanation
    assert result.timeline[3].flags and result.timeline[3].summary == "unreadable event"


def test_foreign_event_type_is_unreadable() -> None:
    records = record(fair_case())
    records.append(records[-1].model_copy(update={
        "event_type": "NotificationDispatched", "stream_version": len(records) + 1,
        "event_id": uuid.uuid4()}))
    assert check(audit(records), "events-readable").status is CheckStatus.FAIL


# -- rule-in-force-on-conduct-date -----------------------------------------------------------------


def test_charge_under_a_rule_not_in_force_on_the_conduct_date_fails() -> None:
    events = swap(fair_case(), report(conduct=date(2019, 6, 1)))
    result = outcome(events, "rule-in-force-on-conduct-date")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["ReportFiled"]
    assert "not in force on 2019-06-01" in result.explanation


def test_charges_in_force_pass_and_no_report_is_not_applicable() -> None:
    assert outcome(fair_case(), "rule-in-force-on-conduct-date").status is CheckStatus.PASS
    lone = [ReportAcknowledged(**meta(OFFICER, day(1)))]
    assert outcome(lone, "rule-in-force-on-conduct-date").status is CheckStatus.NOT_APPLICABLE


# -- human-triage-of-automated-reports -------------------------------------------------------------


def automated_case() -> list[CaseEvent]:
    return [report(automated=True), ReportAcknowledged(**meta(OFFICER, day(1)))]


def test_automated_report_with_adverse_step_before_human_triage_fails() -> None:
    events = [*automated_case(), interim(at=1.5), triage()]
    result = outcome(events, "human-triage-of-automated-reports")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["InterimSuspensionImposed"]
    assert "needs a named person's triage before any adverse measure" in result.explanation


def test_automated_report_triaged_by_a_tool_fails() -> None:
    bot = Actor(id="triage-bot", role="case_officer", kind=ActorKind.AUTOMATED)
    events = [*automated_case(), triage(actor=bot), interim(at=2.5)]
    result = outcome(events, "human-triage-of-automated-reports")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["CaseTriaged", "InterimSuspensionImposed"]


def test_automated_report_triaged_by_a_person_first_passes() -> None:
    events = [*automated_case(), triage(), interim(at=2.5)]
    assert outcome(events, "human-triage-of-automated-reports").status is CheckStatus.PASS


def test_human_report_passes_human_triage_with_the_steps_it_judged() -> None:
    result = outcome(fair_case(), "human-triage-of-automated-reports")
    assert result.status is CheckStatus.PASS and "CaseTriaged (v3)" in result.explanation


# -- interim-suspension-governed -------------------------------------------------------------------


def with_interim(*after: CaseEvent, imposed: InterimSuspensionImposed | None = None,
                 ) -> list[CaseEvent]:
    head = until_hearing()[:4]  # filed, acknowledged, triaged, investigator assigned
    return [*head, imposed or interim(), *after]


def test_interim_ended_by_the_decision_before_review_passes() -> None:
    events = [*with_interim(), *until_hearing()[4:], decision()]
    assert outcome(events, "interim-suspension-governed").status is CheckStatus.PASS


def test_interim_that_lapses_explicitly_passes() -> None:
    lapse = InterimSuspensionLapsed(**meta(SYSTEM_ACTOR, day(30)), review_by=day(30),
                                    rights_restored=ALL_RIGHTS)
    assert outcome(with_interim(lapse), "interim-suspension-governed").status is CheckStatus.PASS


def test_interim_left_running_past_review_date_fails() -> None:
    result = outcome(with_interim(), "interim-suspension-governed", now=day(31))
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["InterimSuspensionImposed"]
    assert "passed" in result.explanation


def test_interim_removing_rights_the_policy_does_not_remove_fails() -> None:
    result = outcome(with_interim(imposed=interim(rights=[Right.VOTE])),
                     "interim-suspension-governed", now=day(10))
    assert result.status is CheckStatus.FAIL
    assert "the pinned policy removes attend, stand_for_office, vote" in result.explanation


def test_interim_review_beyond_policy_and_without_reasons_fails() -> None:
    bad = interim(review=100).model_copy(update={"reasons": " "})
    result = audit(record(with_interim(imposed=bad)), now=day(10))
    governed = check(result, "interim-suspension-governed")
    review = check(result, "interim-suspension-review")  # the rule decide() enforces
    assert governed.status is review.status is CheckStatus.FAIL
    assert "no reasons" in governed.explanation and "no later than" in review.explanation


def test_no_interim_is_not_applicable() -> None:
    assert outcome(fair_case(), "interim-suspension-governed").status \
        is CheckStatus.NOT_APPLICABLE


# -- notice-before-hearing -------------------------------------------------------------------------


def test_hearing_and_decision_without_notice_fail() -> None:
    result = outcome(without(fair_case(), NoticeIssued), "notice-before-hearing")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["HearingScheduled", "HearingHeld", "DecisionRecorded"]


def test_hearing_scheduled_too_short_a_time_ahead_fails_minimum_notice() -> None:
    # Minimum notice runs from the scheduling (as decide() measures it), not from the
    # notice of the allegations: set on day 19 for day 24 is 5 days, 14 required.
    late = HearingScheduled(**meta(OFFICER, day(19)), at=day(24), location="Room 1")
    events = [late if isinstance(e, HearingScheduled) else e for e in fair_case()]
    events.remove(late)
    events.insert(next(i for i, e in enumerate(events) if isinstance(e, HearingHeld)), late)
    result = outcome(events, "minimum-hearing-notice")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["HearingScheduled"]
    assert outcome(events, "notice-before-hearing").status is CheckStatus.PASS


def test_notice_before_hearing_passes_and_is_not_applicable_before_any_hearing() -> None:
    assert outcome(fair_case(), "notice-before-hearing").status is CheckStatus.PASS
    assert outcome(until_hearing()[:6], "notice-before-hearing").status \
        is CheckStatus.NOT_APPLICABLE


# -- disclosure-before-reliance --------------------------------------------------------------------


def test_decision_without_disclosure_fails_naming_the_decision() -> None:
    records = record(without(fair_case(), EvidenceDisclosed))
    result = check(audit(records), "disclosure-before-reliance")
    decided = next(r for r in records if r.event_type == "DecisionRecorded")
    assert result.status is CheckStatus.FAIL
    assert [r.event_id for r in result.offending] == [decided.event_id]
    assert "'ev-1'" in result.explanation and "never disclosed" in result.explanation


def test_evidence_disclosed_too_close_to_the_hearing_fails() -> None:
    events = swap(fair_case(), disclosure(["ev-1"]))
    events.insert(events.index(next(e for e in events if isinstance(e, HearingHeld))),
                  disclosure(["ev-2"], at=20))  # hearing on day 24, lead time 7 days
    result = outcome(events, "disclosure-lead-time")
    assert result.status is CheckStatus.FAIL
    assert "'ev-2'" in result.explanation and "cut-off" in result.explanation


def test_relying_on_evidence_withheld_with_a_recorded_reason_fails() -> None:
    # Withholding (with a reason) is allowed; relying on what the respondent never saw is
    # not: decide() refuses it under the same rule (issue 10).
    withheld = [WithheldEvidence(evidence_id="ev-2", reason="protects a vulnerable witness")]
    events = swap(fair_case(), disclosure(["ev-1"], withheld=withheld))
    result = outcome(events, "disclosure-before-reliance")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]
    assert "'ev-2'" in result.explanation and "withheld" in result.explanation


def test_disclosure_passes_and_no_decision_is_not_applicable() -> None:
    assert outcome(fair_case(), "disclosure-before-reliance").status is CheckStatus.PASS
    assert outcome(until_hearing(), "disclosure-before-reliance").status \
        is CheckStatus.NOT_APPLICABLE


# -- hearing-before-decision -----------------------------------------------------------------------


def test_decision_without_hearing_fails() -> None:
    result = outcome(without(fair_case(), HearingHeld), "hearing-before-decision")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]


def test_hearing_before_decision_passes_and_is_not_applicable_undecided() -> None:
    assert outcome(fair_case(), "hearing-before-decision").status is CheckStatus.PASS
    assert outcome(until_hearing(), "hearing-before-decision").status \
        is CheckStatus.NOT_APPLICABLE


# -- panel-independence ----------------------------------------------------------------------------


def test_panel_member_who_is_the_complainant_fails() -> None:
    events = swap(fair_case(), panel(PanelMember(member_id="comp-1", declared=True)))
    result = outcome(events, "panel-independence")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["PanelAppointed"]
    assert "'comp-1' is a party, witness or already involved" in result.explanation


def test_investigator_who_is_a_witness_fails() -> None:
    events = swap(fair_case(), InvestigatorAssigned(**meta(OFFICER, day(2)),
                                                    investigator_id="wit-1"))
    result = outcome(events, "panel-independence")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["InvestigatorAssigned"]


def test_appeal_panel_that_sat_at_first_instance_fails() -> None:
    events = swap(allowed_appeal(), AppealPanelAppointed(
        **meta(OFFICER, day(31)), members=[PanelMember(member_id="panel-1", declared=True)]))
    result = outcome(events, "panel-independence")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["AppealPanelAppointed"]  # the second role taken


def test_independence_passes_and_is_not_applicable_before_appointments() -> None:
    assert outcome(allowed_appeal(), "panel-independence").status is CheckStatus.PASS
    assert outcome(fair_case()[:3], "panel-independence").status is CheckStatus.NOT_APPLICABLE


# -- conflict-declaration --------------------------------------------------------------------------


def test_panel_member_who_never_declared_fails() -> None:
    events = swap(fair_case(), panel(PanelMember(member_id="panel-1", declared=False)))
    result = outcome(events, "conflict-declaration")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["PanelAppointed"]


def test_decision_by_someone_never_appointed_fails() -> None:
    outsider = Actor(id="panel-9", role="panel_member")
    events = swap(fair_case(), decision().model_copy(update={"actor": outsider}))
    result = outcome(events, "panel-heard-the-case")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]


def test_declarations_pass_and_are_not_applicable_without_panels() -> None:
    assert outcome(fair_case(), "conflict-declaration").status is CheckStatus.PASS
    assert outcome(fair_case()[:5], "conflict-declaration").status \
        is CheckStatus.NOT_APPLICABLE


# -- decision-complete -----------------------------------------------------------------------------


def test_decision_without_redress_or_statement_of_reasons_fails() -> None:
    events = swap(fair_case(), decision(how_to_appeal="", statement=False))
    result = outcome(events, "decision-complete")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]
    assert "how to appeal" in result.explanation and "statement of reasons" in result.explanation


def test_decision_hiding_automated_detection_fails() -> None:
    events = [report(automated=True), *until_hearing()[1:], decision()]
    result = outcome(events, "decision-complete")
    assert result.status is CheckStatus.FAIL and "automated detection" in result.explanation


def test_complete_decision_passes_and_no_decision_is_not_applicable() -> None:
    assert outcome(fair_case(), "decision-complete").status is CheckStatus.PASS
    assert outcome(until_hearing(), "decision-complete").status is CheckStatus.NOT_APPLICABLE


# -- sanction-allowed-by-rule ----------------------------------------------------------------------


def test_suspension_longer_than_the_rule_allows_fails() -> None:
    too_long = Sanction(kind=SanctionKind.SUSPENSION, term=timedelta(days=365))
    events = [*until_hearing(), decision(too_long)]
    result = outcome(events, "sanction-allowed-by-rule")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]
    assert "not allowed by R1@2026.1" in result.explanation


def test_sanction_carried_out_after_the_appeal_allowed_it_away_fails() -> None:
    events = [*allowed_appeal(reinstated=False), warning_applied(at=42)]
    result = outcome(events, "sanction-allowed-by-rule")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["SanctionApplied"]


def test_allowed_sanction_passes_and_no_sanction_is_not_applicable() -> None:
    assert outcome(fair_case(), "sanction-allowed-by-rule").status is CheckStatus.PASS
    cleared = [*until_hearing(), decision(None, upheld=False)]
    assert outcome(cleared, "sanction-allowed-by-rule").status is CheckStatus.NOT_APPLICABLE


# -- appeal-window ---------------------------------------------------------------------------------


def test_sanction_carried_out_while_the_window_is_open_fails() -> None:
    events = [*until_hearing(), decision(), warning_applied(at=26)]
    result = outcome(events, "appeal-window")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["SanctionApplied"]


def test_window_closed_early_fails() -> None:
    events = swap(fair_case(), window_closed(at=40).model_copy(update={"closes_at": day(40)}))
    result = outcome(events, "appeal-window")
    assert result.status is CheckStatus.FAIL and "AppealWindowClosed" in offending_types(result)


def test_appeal_window_passes_and_is_not_applicable_without_decision() -> None:
    assert outcome(allowed_appeal(), "appeal-window").status is CheckStatus.PASS
    assert outcome(until_hearing(), "appeal-window").status \
        is CheckStatus.NOT_APPLICABLE


# -- reinstatement-after-successful-appeal ---------------------------------------------------------


def test_appeal_allowed_with_no_reinstatement_fails() -> None:
    result = outcome(allowed_appeal(reinstated=False), "reinstatement-after-successful-appeal")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["AppealDecided"]
    assert "no reinstatement" in result.explanation


def test_reinstatement_leaving_the_record_uncorrected_fails() -> None:
    events = allowed_appeal()
    events[-1] = events[-1].model_copy(update={"record_corrected": False})
    result = outcome(events, "reinstatement-restores-rights")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["MemberReinstated"]
    assert "reversed decision on the record" in result.explanation


def test_reinstatement_passes_and_is_not_applicable_without_allowed_appeal() -> None:
    assert outcome(allowed_appeal(), "reinstatement-after-successful-appeal").status \
        is CheckStatus.PASS
    assert outcome(fair_case(), "reinstatement-after-successful-appeal").status \
        is CheckStatus.NOT_APPLICABLE


# -- deadlines-met-or-escalated --------------------------------------------------------------------


def test_unacknowledged_report_past_its_deadline_fails() -> None:
    result = outcome([report()], "deadlines-met-or-escalated", now=day(8))
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["ReportFiled"]
    assert "acknowledge deadline" in result.explanation


def test_missed_deadline_with_recorded_escalation_passes() -> None:
    missed = DeadlineMissed(**meta(SYSTEM_ACTOR, day(7)), kind="acknowledge", due_at=day(7))
    assert outcome([report(), missed], "deadlines-met-or-escalated", now=day(8)).status \
        is CheckStatus.PASS


def test_deadline_not_yet_due_passes() -> None:
    assert outcome([report()], "deadlines-met-or-escalated", now=day(1)).status \
        is CheckStatus.PASS


def test_response_deadline_passed_silently_fails() -> None:
    events = without(fair_case(), ResponseSubmitted)
    result = outcome(events, "deadlines-met-or-escalated")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["NoticeIssued", "DecisionRecorded"]


def test_appeal_window_never_closed_fails() -> None:
    events = [*until_hearing(), decision()]
    result = outcome(events, "deadlines-met-or-escalated", now=day(60))
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]
    # Without ``now`` the history's own latest time is the clock: the window is still open.
    assert outcome(events, "deadlines-met-or-escalated", now=None).status is CheckStatus.PASS


def test_fair_case_deadlines_pass_and_no_report_is_not_applicable() -> None:
    assert outcome(fair_case(), "deadlines-met-or-escalated").status is CheckStatus.PASS
    assert outcome([], "deadlines-met-or-escalated").status is CheckStatus.NOT_APPLICABLE


# -- instructions-on-record ------------------------------------------------------------------------


def test_instruction_from_outside_the_case_is_surfaced() -> None:
    boss = Actor(id="gen-sec", role="general_secretary")
    events = fair_case()
    events.insert(8, HearingScheduled(**meta(boss, day(6), "instruction"), at=day(24),
                                      location="HQ"))
    result = audit(record(events))
    found = check(result, "instructions-on-record")
    assert found.status is CheckStatus.FAIL and offending_types(found) == ["HearingScheduled"]
    assert "'gen-sec' acted as 'general_secretary'" in found.explanation
    assert result.timeline[8].flags and "outside the case" in result.timeline[8].flags[0]


def test_staff_not_assigned_to_the_case_is_surfaced() -> None:
    stranger = Actor(id="inv-9", role="investigator")
    events = swap(fair_case(), notice().model_copy(update={"actor": stranger}))
    found = outcome(events, "instructions-on-record")
    assert found.status is CheckStatus.FAIL and offending_types(found) == ["NoticeIssued"]
    assert "not the investigator assigned" in found.explanation


def test_assigned_actors_pass_and_empty_history_is_not_applicable() -> None:
    assert outcome(allowed_appeal(), "instructions-on-record").status is CheckStatus.PASS
    assert outcome([], "instructions-on-record").status is CheckStatus.NOT_APPLICABLE


# -- complainant-informed --------------------------------------------------------------------------


def test_complainant_not_told_the_outcome_fails() -> None:
    records = record(fair_case())
    result = check(audit(records, notifications=notes_for(records, "ReportAcknowledged")),
                   "complainant-informed")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["DecisionRecorded"]


def test_empty_notification_stream_means_nobody_was_told() -> None:
    result = check(audit(record(fair_case()), notifications=[]), "complainant-informed")
    assert result.status is CheckStatus.FAIL
    assert offending_types(result) == ["ReportAcknowledged", "DecisionRecorded"]


def test_outcome_told_at_a_later_step_counts() -> None:
    records = record(fair_case())
    notes = notes_for(records, "ReportFiled", "CaseClosed")
    assert check(audit(records, notifications=notes), "complainant-informed").status \
        is CheckStatus.PASS


def test_never_acknowledged_fails_even_without_notification_stream() -> None:
    result = outcome(without(fair_case(), ReportAcknowledged), "complainant-informed")
    assert result.status is CheckStatus.FAIL and offending_types(result) == ["ReportFiled"]


def test_without_notification_stream_delivery_is_not_verified() -> None:
    result = outcome(fair_case(), "complainant-informed")
    assert result.status is CheckStatus.PASS and "not verified" in result.explanation


def test_automated_detector_has_no_complainant_to_inform() -> None:
    assert outcome(automated_case(), "complainant-informed").status \
        is CheckStatus.NOT_APPLICABLE


@pytest.mark.parametrize("check_id", [
    "notice-before-hearing", "disclosure-before-reliance", "panel-independence",
    "human-triage-of-automated-reports", "deadlines-met-or-escalated",
    "sanction-allowed-by-rule", "reinstatement-after-successful-appeal",
    "instructions-on-record", "conflict-declaration", "decision-complete",
    "interim-suspension-governed", "appeal-window", "complainant-informed",
])
def test_every_named_check_is_reported(check_id: str) -> None:
    assert check(audit(record(fair_case())), check_id).check_id == check_id


# -- any history at all ----------------------------------------------------------------------------

ALL_EVENTS = [*fair_case(), *allowed_appeal()[-4:], interim(), InterimSuspensionLapsed(
    **meta(SYSTEM_ACTOR, day(30)), review_by=day(30), rights_restored=ALL_RIGHTS),
    DeadlineMissed(**meta(SYSTEM_ACTOR, day(7)), kind="respond", due_at=day(17))]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(ALL_EVENTS), max_size=20),
       st.none() | st.integers(min_value=0, max_value=90))
def test_audit_is_total_over_arbitrary_histories(events: list[CaseEvent], at: int | None) -> None:
    # Deleted, repeated and reordered steps are exactly what a tampered store looks like.
    result = audit(record(events), now=None if at is None else day(at))
    audited = len([r for r in CATALOGUE if r.audit_check is not None])
    assert len(result.checks) == len({c.check_id for c in result.checks}) == audited
    assert result.ok == all(c.status is not CheckStatus.FAIL for c in result.checks)
    for found in result.checks:
        assert (found.status is CheckStatus.FAIL) == bool(found.offending)
        assert found.explanation


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        audit_case(record(fair_case()), now=datetime(2026, 5, 1))
