"""Rules on intake and triage: the report, its charges under the rules in force, and a
person's triage before anything is done about it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import ActorKind, DueProcessViolation, InvalidCommand, NotPermitted, PolicyViolation
from ..case.events import (
    CaseDismissed,
    CaseEventBase,
    CaseTriaged,
    DecisionRecorded,
    EvidenceAdded,
    EvidenceDisclosed,
    HearingScheduled,
    InterimSuspensionImposed,
    InterimSuspensionRenewed,
    InvestigatorAssigned,
    NoticeIssued,
    PanelAppointed,
    ReportFiled,
    SanctionApplied,
)
from ..case.state import CaseState
from ..case.values import ComplainantKind
from .model import (
    Breach,
    ProcessRule,
    RuleKind,
    Transition,
    acas,
    case_law,
    dsa,
    gdpr,
    invariant,
    report,
)

# Steps of an investigation: only after a person triaged the case for investigation.
INVESTIGATION = (InvestigatorAssigned, EvidenceAdded, InterimSuspensionImposed,
                 InterimSuspensionRenewed, NoticeIssued, EvidenceDisclosed, PanelAppointed,
                 HearingScheduled, DecisionRecorded)
ADVERSE_KINDS = (InterimSuspensionImposed, InterimSuspensionRenewed, NoticeIssued,
                 HearingScheduled, SanctionApplied)


def is_adverse(event: CaseEventBase) -> bool:
    """Steps that act against the respondent; a finding of breach counts even unsanctioned."""
    if isinstance(event, DecisionRecorded):
        return event.upheld or any(f.sanction for f in event.findings)
    return isinstance(event, ADVERSE_KINDS)


def _already_reported(t: Transition) -> Iterator[Breach]:
    if t.before.report is not None:
        yield Breach(None, "this case already has a report")


CASE_ALREADY_REPORTED = ProcessRule(
    "case-already-reported", "A case has one report", invariant(1), InvalidCommand,
    guards=("FileReport",), events=(ReportFiled,), predicate=_already_reported,
    passed="the case has exactly one report")


def _good_faith(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, ReportFiled)
    if not t.event.good_faith_declaration:
        yield Breach("good_faith_declaration",
                     "the complainant must declare the report is made in good faith")


GOOD_FAITH = ProcessRule(
    "good-faith-declaration", "A report carries the complainant's good-faith declaration",
    dsa("16(2)"), InvalidCommand, guards=("FileReport",), events=(ReportFiled,),
    predicate=_good_faith, passed="the report declares good faith")


def _outside_body(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, ReportFiled)
    complainant = t.event.complainant
    if complainant.kind is ComplainantKind.OUTSIDE_BODY \
            and not (complainant.outside_body or "").strip():
        yield Breach("complainant.outside_body",
                     "say which outside body made the report (DSA 17(3)(b))")


OUTSIDE_BODY_NAMED = ProcessRule(
    "outside-body-named", "A report from an outside body names the body",
    dsa("17(3)(b)", "22"), InvalidCommand, guards=("FileReport",), events=(ReportFiled,),
    predicate=_outside_body, passed="a report from an outside body names it")


def _not_self(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, ReportFiled)
    if t.event.respondent.person_id == t.event.complainant.person_id:
        yield Breach("respondent.person_id", "a member cannot report themselves")


RESPONDENT_NOT_COMPLAINANT = ProcessRule(
    "respondent-not-complainant", "Nobody reports themselves", case_law("Porter v Magill"),
    InvalidCommand, guards=("FileReport",), events=(ReportFiled,), predicate=_not_self,
    passed="complainant and respondent are different people")


def _procedure_in_force(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, ReportFiled)
    version = t.procedure
    day = t.event.effective_at.date()
    if version is None or not version.in_force_on(day):
        yield Breach("policy", f"no version of policy {t.event.policy_id!r} is in force on {day}")


POLICY_IN_FORCE = ProcessRule(
    "policy-in-force-on-report-date", "The procedure pinned is the one in force when reported",
    acas("1", "2") + dsa("14"), PolicyViolation, guards=("FileReport",), events=(ReportFiled,),
    predicate=_procedure_in_force, passed="the pinned procedure was in force on the report date")


def _conduct_not_future(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, ReportFiled)
    for index, allegation in enumerate(t.event.allegations):
        if allegation.conduct_date > t.event.effective_at.date():
            yield Breach(f"allegations.{index}.conduct_date",
                         "conduct cannot be dated in the future")


CONDUCT_NOT_IN_FUTURE = ProcessRule(
    "conduct-date-not-in-future", "Conduct is dated no later than the report",
    invariant(1), InvalidCommand, guards=("FileReport",), events=(ReportFiled,),
    predicate=_conduct_not_future, passed="every conduct date precedes the report")


def _charges(t: Transition) -> Iterator[Breach]:
    """A charge cites a pinned version in force on the conduct date holding the rule."""
    event = t.event
    if isinstance(event, ReportFiled):
        pinned = {v.version: v for v in event.pinned_versions}
        for index, a in enumerate(event.allegations):
            field = f"allegations.{index}"
            version = pinned.get(event.rule_versions.get(a.allegation_id, ""))
            if version is None or not version.in_force_on(a.conduct_date):
                name = event.rule_versions.get(a.allegation_id)
                yield Breach(f"{field}.conduct_date",
                             f"{a.allegation_id} cites policy version {name!r}, which is not "
                             f"pinned or was not in force on {a.conduct_date}")
            elif version.find_rule(a.rule_id) is None:
                yield Breach(f"{field}.rule_id",
                             f"rule {a.rule_id!r} was not in force on {a.conduct_date} "
                             f"(policy version {version.version})")
    elif isinstance(event, NoticeIssued):
        report_ = t.before.report
        charged = {a.allegation_id for a in report_.allegations} if report_ else set()
        for index, noticed in enumerate(event.allegations):
            if noticed.allegation_id not in charged:
                continue  # unknown-allegation
            cited = t.before.rule_for(noticed.allegation_id)
            if cited is None or (cited[0].version, cited[1].rule_id) != (
                    noticed.policy_version, noticed.rule_id):
                yield Breach(f"allegation_ids.{index}",
                             f"{noticed.allegation_id} is not put under the rule the report "
                             "charged, in its pinned version", InvalidCommand)


RULE_IN_FORCE = ProcessRule(
    "rule-in-force-on-conduct-date", "Charges cite a rule in force on the conduct date",
    acas("1", "2") + case_law("McFadden v Unite") + invariant(1), PolicyViolation,
    guards=("FileReport", "IssueNotice"), events=(ReportFiled, NoticeIssued),
    predicate=_charges,
    passed="every allegation and notice cites a pinned rule version in force on its conduct "
           "date")


def _already_triaged(t: Transition) -> Iterator[Breach]:
    if t.before.human_triaged:
        yield Breach(None, "the case has already been triaged")


ALREADY_TRIAGED = ProcessRule(
    "already-triaged", "A case is triaged once", report("Forde rec. 1"), InvalidCommand,
    guards=("TriageCase",), events=(CaseTriaged, CaseDismissed), predicate=_already_triaged,
    passed="the case was triaged once")


def _dismissed(t: Transition) -> Iterator[Breach]:
    if t.before.dismissal is not None:
        yield Breach(None, "the case was dismissed at triage")


_INVESTIGATION_COMMANDS = ("AssignInvestigator", "AddEvidence", "ImposeInterimSuspension",
                           "RenewInterimSuspension", "IssueNotice", "DiscloseEvidence",
                           "AppointPanel", "ScheduleHearing", "RecordDecision")

CASE_DISMISSED = ProcessRule(
    "case-dismissed", "Nothing is investigated after a dismissal", report("Chakrabarti"),
    InvalidCommand, guards=_INVESTIGATION_COMMANDS, events=INVESTIGATION, predicate=_dismissed,
    passed="no investigation step followed a dismissal")


def _person_triaged(state: CaseState) -> bool:
    triage = state.triage or state.dismissal
    return triage is not None and triage.actor.kind is ActorKind.PERSON


def _human_triage(t: Transition) -> Iterator[Breach]:
    event, actor = t.event, t.event.actor
    if isinstance(event, CaseTriaged | CaseDismissed):
        if actor.kind is not ActorKind.PERSON:
            yield Breach("actor.kind", "triage must be done by a named person", NotPermitted)
        return
    if not is_adverse(event):
        return
    if t.before.automated_report and not _person_triaged(t.before):
        yield Breach(None, "an automated report needs a named person's triage before any "
                           "adverse measure")
    if actor.kind is not ActorKind.PERSON:
        yield Breach("actor.kind", f"{actor.kind.value} actor {actor.id!r} took an adverse "
                                   "step; an adverse step needs a person")


HUMAN_TRIAGE = ProcessRule(
    "human-triage-of-automated-reports",
    "Automated reports are triaged by a person before any adverse step",
    dsa("20(6)") + gdpr("22") + invariant(8), DueProcessViolation,
    guards=("TriageCase", "ImposeInterimSuspension", "RenewInterimSuspension", "IssueNotice",
            "ScheduleHearing", "RecordDecision"),
    events=(CaseTriaged, CaseDismissed, *ADVERSE_KINDS, DecisionRecorded),
    predicate=_human_triage,
    passed="every triage and adverse step was by a person, after a person's triage of any "
           "automated report")


def _triaged(t: Transition) -> Iterator[Breach]:
    before = t.before
    if before.human_triaged or (before.automated_report and is_adverse(t.event)):
        return  # dismissed: case-dismissed; automated and adverse: human-triage
    yield Breach(None, "the case must be triaged for investigation first")


TRIAGE_BEFORE_INVESTIGATION = ProcessRule(
    "triage-before-investigation", "A case is triaged for investigation before it is "
    "investigated", report("Forde rec. 1"), InvalidCommand, guards=_INVESTIGATION_COMMANDS,
    events=INVESTIGATION, predicate=_triaged,
    passed="every investigation step followed triage for investigation")

DISMISSAL_REASON = ProcessRule(
    "dismissal-reason", "A dismissal, and only a dismissal, gives a dismissal reason",
    report("Chakrabarti"), InvalidCommand, kind=RuleKind.COMMAND, guards=("TriageCase",))

RULES = (CASE_ALREADY_REPORTED, ALREADY_TRIAGED, CASE_DISMISSED, HUMAN_TRIAGE,
         TRIAGE_BEFORE_INVESTIGATION, GOOD_FAITH, OUTSIDE_BODY_NAMED,
         RESPONDENT_NOT_COMPLAINANT, POLICY_IN_FORCE, CONDUCT_NOT_IN_FUTURE, RULE_IN_FORCE,
         DISMISSAL_REASON)
