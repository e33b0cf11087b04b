"""A small cast, policy and happy-path script for tests, demos and documentation.

Pure and deterministic, like the rest of the domain: every id, name and time is fixed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from .base import Actor, ActorKind, personal
from .case_commands import (
    AcknowledgeReport,
    AppointPanel,
    AssignInvestigator,
    CarryOutSanction,
    CaseCommand,
    CloseAppealWindow,
    CloseCase,
    DiscloseEvidence,
    FileReport,
    IssueNotice,
    RecordDecision,
    RecordHearingHeld,
    ScheduleHearing,
    SubmitResponse,
    TriageCase,
)
from .case_values import (
    Allegation,
    Complainant,
    ComplainantKind,
    EvidenceItem,
    Finding,
    PanelMember,
    Respondent,
    Sanction,
    TriageOutcome,
)
from .policy import (
    Deadlines,
    EvidencePolicy,
    PolicyDocument,
    PolicyVersion,
    Right,
    Rule,
    SanctionKind,
    SourceKind,
)

COMPLAINANT_ID = "m-100"
RESPONDENT_ID = "m-200"
WITNESS_ID = "m-300"
INTAKE_ID = "intake-service"
DETECTOR_ID = "detector-1"
OFFICER_ID = "staff-officer"
INVESTIGATOR_ID = "staff-investigator"
PANEL_IDS = ("staff-panel-1", "staff-panel-2")
APPEAL_PANEL_IDS = ("staff-appeal-1",)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
CONDUCT_DATE = date(2024, 2, 20)
OLD_CONDUCT_DATE = date(2021, 6, 1)  # under version 2019.1

ALL_RIGHTS = [Right.VOTE, Right.STAND_FOR_OFFICE, Right.ATTEND]
STATUSES = {"interim_suspended": ALL_RIGHTS, "warned": [], "suspended": ALL_RIGHTS,
            "expelled": ALL_RIGHTS}
DEADLINES = Deadlines(
    acknowledge=timedelta(days=5), respond=timedelta(days=14),
    minimum_hearing_notice=timedelta(days=14), disclosure_lead_time=timedelta(days=7),
    appeal_window=timedelta(days=28), interim_suspension_review=timedelta(days=28),
    rejoin_continuity_window=timedelta(days=90))
EVIDENCE_POLICY = EvidencePolicy(
    acceptable_source_kinds=list(SourceKind),
    private_source_kinds=[SourceKind.PRIVATE_MESSAGE, SourceKind.THIRD_PARTY_SCREENSHOT],
    lawful_bases=["legitimate_interests_disciplinary"])

OLD_ABUSE = Rule(rule_id="R1", title="Abuse and harassment",
                 definition="A member must not abuse or threaten any person.",
                 examples=["Shouting threats at a branch meeting."],
                 allowed_sanctions=[SanctionKind.WARNING, SanctionKind.SUSPENSION],
                 max_suspension=timedelta(days=180))
ABUSE = Rule(rule_id="R1", title="Abuse and harassment",
             definition="A member must not abuse, threaten or harass any person.",
             examples=["Repeated unwanted messages after being asked to stop."],
             allowed_sanctions=[SanctionKind.WARNING, SanctionKind.SUSPENSION,
                                SanctionKind.EXPULSION],
             max_suspension=timedelta(days=365))
DISREPUTE = Rule(rule_id="R2", title="Bringing the organisation into disrepute",
                 definition="A member must not seriously damage the organisation's reputation.",
                 examples=["Using the organisation's name to raise money privately."],
                 allowed_sanctions=[SanctionKind.WARNING])
ONLINE = Rule(rule_id="R5", title="Antisocial online conduct",
              definition="A member must not lead pile-ons or spread false claims online.",
              examples=["Encouraging followers to flood a member with abusive replies."],
              allowed_sanctions=[SanctionKind.WARNING, SanctionKind.SUSPENSION],
              max_suspension=timedelta(days=90))


def example_policy(deadlines: Deadlines = DEADLINES) -> PolicyDocument:
    """Two versions: R5 exists only from 2023, and R1 allowed no expulsion before 2023."""
    old = PolicyVersion(version="2019.1", effective_from=date(2019, 1, 1),
                        effective_to=date(2022, 12, 31), rules=[OLD_ABUSE, DISREPUTE],
                        statuses=STATUSES, deadlines=deadlines, evidence=EVIDENCE_POLICY)
    new = PolicyVersion(version="2023.1", effective_from=date(2023, 1, 1),
                        rules=[ABUSE, DISREPUTE, ONLINE], statuses=STATUSES,
                        deadlines=deadlines, evidence=EVIDENCE_POLICY)
    return PolicyDocument(policy_id="example-code", versions=[old, new])


def actor(role: str, actor_id: str | None = None, kind: ActorKind | None = None) -> Actor:
    defaults = {"complainant": (COMPLAINANT_ID, ActorKind.PERSON),
                "intake": (INTAKE_ID, ActorKind.SYSTEM),
                "detector": (DETECTOR_ID, ActorKind.AUTOMATED),
                "case_officer": (OFFICER_ID, ActorKind.PERSON),
                "investigator": (INVESTIGATOR_ID, ActorKind.PERSON),
                "panel_member": (PANEL_IDS[0], ActorKind.PERSON),
                "appeal_panel_member": (APPEAL_PANEL_IDS[0], ActorKind.PERSON),
                "respondent": (RESPONDENT_ID, ActorKind.PERSON),
                "system": ("dueprocess", ActorKind.SYSTEM)}
    default_id, default_kind = defaults.get(role, ("someone", ActorKind.PERSON))
    return Actor(id=actor_id or default_id, role=role, kind=kind or default_kind)


def evidence(evidence_id: str = "E1", *, source_kind: SourceKind = SourceKind.PUBLIC_POST,
             consent: bool = False, lawful_basis: str | None = None,
             witness_id: str | None = None, captured_at: datetime = T0) -> EvidenceItem:
    return EvidenceItem(
        evidence_id=evidence_id, description=personal(RESPONDENT_ID, f"{evidence_id}: a post"),
        source_kind=source_kind, captured_by=COMPLAINANT_ID, captured_at=captured_at,
        captured_from="https://social.example/post/1", content_hash=f"sha256:{evidence_id}",
        lawful_basis=lawful_basis, consent=consent, witness_id=witness_id)


def allegation(allegation_id: str = "A1", rule_id: str = "R1",
               conduct_date: date = CONDUCT_DATE) -> Allegation:
    return Allegation(allegation_id=allegation_id, rule_id=rule_id, conduct_date=conduct_date,
                      particulars=personal(RESPONDENT_ID, f"{allegation_id}: what happened"))


def complainant(kind: ComplainantKind = ComplainantKind.MEMBER,
                person_id: str = COMPLAINANT_ID, outside_body: str | None = None) -> Complainant:
    return Complainant(kind=kind, person_id=person_id, name=personal(person_id, "Ada Member"),
                       contact=personal(person_id, "ada@example.org"), outside_body=outside_body)


def respondent() -> Respondent:
    return Respondent(person_id=RESPONDENT_ID, name=personal(RESPONDENT_ID, "Bob Respondent"),
                      contact=personal(RESPONDENT_ID, "bob@example.org"))


def default_evidence() -> list[EvidenceItem]:
    """E1 public post; E2 private message without consent (inadmissible); E3 a statement."""
    return [evidence("E1"),
            evidence("E2", source_kind=SourceKind.PRIVATE_MESSAGE),
            evidence("E3", source_kind=SourceKind.WITNESS_STATEMENT, witness_id=WITNESS_ID)]


def file_report(*, by: Actor | None = None, allegations: list[Allegation] | None = None,
                evidence_items: list[EvidenceItem] | None = None,
                report_complainant: Complainant | None = None,
                good_faith: bool = True, policy: PolicyDocument | None = None) -> FileReport:
    return FileReport(
        actor=by or actor("complainant"), authority="member-code#complaints",
        complainant=report_complainant or complainant(), respondent=respondent(),
        allegations=allegations if allegations is not None else [allegation()],
        evidence=evidence_items if evidence_items is not None else default_evidence(),
        good_faith_declaration=good_faith, policy=policy or example_policy())


def panel(*ids: str) -> list[PanelMember]:
    return [PanelMember(member_id=i, declared=True, interests="none") for i in ids]


def finding(allegation_id: str = "A1", *, upheld: bool = True,
            sanction: Sanction | None = None, relied_on: list[str] | None = None) -> Finding:
    return Finding(allegation_id=allegation_id, upheld=upheld,
                   findings=personal(RESPONDENT_ID, "posted the abuse"),
                   reasons="The post is abusive within the definition of the rule.",
                   relied_on_evidence=["E1"] if relied_on is None else relied_on,
                   sanction=sanction)


AUTHORITY = "procedure#delegation-to-officer"

HEARING_AT = T0 + timedelta(days=30)
DECIDED_AT = HEARING_AT + timedelta(hours=2)
WARNING = Sanction(kind=SanctionKind.WARNING)


class Step(NamedTuple):
    name: str
    command: CaseCommand
    now: datetime


def happy_path(sanction: Sanction | None = WARNING,
               policy: PolicyDocument | None = None) -> list[Step]:
    """Report to closure, each command with the time it is decided at.

    Step names: file, acknowledge, triage, assign, notice, disclose, respond, panel,
    schedule, hold, decide, close_window, carry_out (only with a sanction) and close
    (not while a suspension runs).
    """
    officer = actor("case_officer")
    window_closes = DECIDED_AT + DEADLINES.appeal_window
    steps = [
        Step("file", file_report(policy=policy), T0),
        Step("acknowledge", AcknowledgeReport(actor=actor("intake"), authority=AUTHORITY),
             T0 + timedelta(hours=1)),
        Step("triage", TriageCase(actor=officer, authority=AUTHORITY,
                                  outcome=TriageOutcome.INVESTIGATE, reasons="Prima facie case."),
             T0 + timedelta(days=1)),
        Step("assign", AssignInvestigator(actor=officer, authority=AUTHORITY,
                                          investigator_id=INVESTIGATOR_ID),
             T0 + timedelta(days=1)),
        Step("notice", IssueNotice(actor=officer, authority=AUTHORITY), T0 + timedelta(days=2)),
        Step("disclose", DiscloseEvidence(actor=officer, authority=AUTHORITY,
                                          evidence_ids=["E1", "E2", "E3"]),
             T0 + timedelta(days=2)),
        Step("respond", SubmitResponse(actor=actor("respondent"),
                                       authority="member-code#right-to-respond",
                                       statement=personal(RESPONDENT_ID, "I deny it.")),
             T0 + timedelta(days=5)),
        Step("panel", AppointPanel(actor=officer, authority=AUTHORITY, members=panel(*PANEL_IDS)),
             T0 + timedelta(days=6)),
        Step("schedule", ScheduleHearing(actor=officer, authority=AUTHORITY, at=HEARING_AT,
                                         location="Room 1"), T0 + timedelta(days=6)),
        Step("hold", RecordHearingHeld(actor=officer, authority=AUTHORITY,
                                       attendees=[*PANEL_IDS, RESPONDENT_ID],
                                       respondent_attended=True), HEARING_AT),
        Step("decide", RecordDecision(actor=actor("panel_member"), authority="member-code#panel",
                                      findings=[finding(sanction=sanction)],
                                      how_to_appeal="Write to the appeals committee."),
             DECIDED_AT),
        Step("close_window", CloseAppealWindow(
            actor=actor("system"), authority="policy:2023.1#deadlines.appeal_window",
            closes_at=window_closes), window_closes),
    ]
    if sanction is not None:
        steps.append(Step("carry_out", CarryOutSanction(actor=officer, authority=AUTHORITY),
                          window_closes + timedelta(days=1)))
    if sanction is None or sanction.term is None:  # a suspension keeps the case open
        steps.append(Step("close", CloseCase(actor=officer, authority=AUTHORITY),
                          window_closes + timedelta(days=2)))
    return steps
