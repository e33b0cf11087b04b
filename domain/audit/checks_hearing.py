"""Checks on the hearing: notice, disclosure, audi alteram partem, an independent and
declared panel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..case.events import (
    AppealDecided,
    AppealPanelAppointed,
    DecisionRecorded,
    EvidenceAdded,
    HearingHeld,
    HearingScheduled,
    InvestigatorAssigned,
    NoticeIssued,
    PanelAppointed,
    ReportFiled,
)
from ..case.state import CaseState
from ..case.values import EvidenceItem
from .context import Entry, History
from .model import CheckResult
from .results import Faults, iso, not_applicable, span


def notice_before_hearing(h: History) -> CheckResult:
    check_id = "notice-before-hearing"
    steps: list[Entry[Any]] = [*h.of(HearingScheduled), *h.of(HearingHeld),
                               *h.of(DecisionRecorded)]
    if not steps:
        return not_applicable(check_id, "no hearing has been scheduled or held and no "
                                        "decision recorded")
    faults = Faults()
    for step in sorted(steps, key=lambda e: e.version):
        notices = h.earlier(step, NoticeIssued)
        if not notices:
            faults.add(f"{step.label} without any notice to the respondent", step)
            continue
        _check_notice_for(h, step, notices[0], faults)
    return faults.result(check_id, "notice was given before every hearing and decision, in "
                                   "time and covering every allegation decided")


def _check_notice_for(h: History, step: Entry[Any], notice: Entry[NoticeIssued],
                      faults: Faults) -> None:
    event = step.event
    when = event.at if isinstance(event, HearingScheduled) else step.at
    if notice.at > when:
        faults.add(f"{notice.label} is dated after {step.label}", notice, step)
        return
    minimum = notice.before.procedure.deadlines.minimum_hearing_notice \
        if notice.before.procedure else None
    if isinstance(event, HearingScheduled | HearingHeld) and minimum and when - notice.at < minimum:
        faults.add(f"{step.label} is {span(when - notice.at)} after {notice.label}; the policy "
                   f"requires {span(minimum)}", notice, step)
    if isinstance(event, DecisionRecorded):
        noticed = {a.allegation_id for a in notice.event.allegations}
        for finding in event.findings:
            if finding.allegation_id not in noticed:
                faults.add(f"{step.label} decides {finding.allegation_id}, which was not put to "
                           "the respondent", step)


def disclosure_before_reliance(h: History) -> CheckResult:
    check_id = "disclosure-before-reliance"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return not_applicable(check_id, "no decision has been recorded")
    faults = Faults()
    for decision in decisions:
        _check_reliance(decision, faults)
    return faults.result(check_id, "every piece of evidence relied on was disclosed to the "
                                   "respondent (or withheld with a recorded reason) in time")


def _reliance_cutoff(state: CaseState, decided_at: datetime) -> datetime:
    """Latest time evidence may reach the respondent: a lead time before the hearing."""
    hearing_at = state.hearing.at if state.hearing else (
        state.hearing_held.effective_at if state.hearing_held else None)
    procedure = state.procedure
    if hearing_at is None or procedure is None:
        return decided_at
    return hearing_at - procedure.deadlines.disclosure_lead_time


def _check_reliance(decision: Entry[DecisionRecorded], faults: Faults) -> None:
    state = decision.before
    cutoff = _reliance_cutoff(state, decision.at)
    if decision.event.upheld and not (state.disclosed_at or state.withheld):
        faults.add(f"{decision.label} upholds an allegation but nothing was disclosed to the "
                   "respondent before it", decision)
    for finding in decision.event.findings:
        for evidence_id in finding.relied_on_evidence:
            problem = _reliance_problem(state, evidence_id, cutoff)
            if problem:
                faults.add(f"{decision.label} relies on {evidence_id!r} ({finding.allegation_id}),"
                           f" which {problem}", decision)


def _reliance_problem(state: CaseState, evidence_id: str, cutoff: datetime) -> str | None:
    if evidence_id in state.inadmissible:
        return f"is inadmissible: {state.inadmissible[evidence_id]}"
    disclosed_at = state.disclosed_at.get(evidence_id)
    if disclosed_at is not None:
        return None if disclosed_at <= cutoff else \
            f"was disclosed at {iso(disclosed_at)}, after the cut-off {iso(cutoff)}"
    if evidence_id in state.withheld:
        return None  # withheld with a recorded reason: invariant 2 allows it
    if evidence_id not in state.evidence:
        return "is not on the case file"
    return "was never disclosed to the respondent"


def hearing_before_decision(h: History) -> CheckResult:
    check_id = "hearing-before-decision"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return not_applicable(check_id, "no decision has been recorded")
    faults = Faults()
    for decision in decisions:
        held = decision.before.hearing_held
        if held is None:
            faults.add(f"{decision.label} without a hearing (audi alteram partem)", decision)
        elif decision.record.actor.id not in held.attendees:
            faults.add(f"{decision.label} is by {decision.record.actor.id!r}, who did not attend "
                       "the hearing", decision)
    return faults.result(check_id, "every decision followed a hearing and was made by a panel "
                                   "member who attended it")


_STAFF_ROLE_NAMES = frozenset({"investigator", "panel member", "appeal panel member"})


def _roles_held(h: History) -> dict[str, dict[str, list[Entry[Any]]]]:
    """person -> role in this case -> the events that gave it to them."""
    held: dict[str, dict[str, list[Entry[Any]]]] = {}

    def give(person: str, role: str, entry: Entry[Any]) -> None:
        held.setdefault(person, {}).setdefault(role, []).append(entry)

    for entry in h.entries:
        event = entry.event
        if isinstance(event, ReportFiled):
            give(event.complainant.person_id, "complainant", entry)
            give(event.respondent.person_id, "respondent", entry)
        if isinstance(event, ReportFiled | EvidenceAdded):
            for witness in _witnesses(event.evidence):
                give(witness, "witness", entry)
        if isinstance(event, InvestigatorAssigned):
            give(event.investigator_id, "investigator", entry)
        if isinstance(event, PanelAppointed | AppealPanelAppointed):
            role = "panel member" if isinstance(event, PanelAppointed) else "appeal panel member"
            for member in event.members:
                give(member.member_id, role, entry)
    return held


def _witnesses(evidence: list[EvidenceItem]) -> list[str]:
    return [item.witness_id for item in evidence if item.witness_id]


def panel_independence(h: History) -> CheckResult:
    # ACAS 5 and 27, Porter v Magill: nobody judges a case they investigated, appear in,
    # or have already judged at first instance.
    check_id = "panel-independence"
    held = _roles_held(h)
    if not any(_STAFF_ROLE_NAMES & roles.keys() for roles in held.values()):
        return not_applicable(check_id, "no investigator or panel has been appointed")
    faults = Faults()
    for person, roles in sorted(held.items()):
        staff = _STAFF_ROLE_NAMES & roles.keys()
        if staff and len(roles) > 1:
            culprits = [e for role in sorted(staff) for e in roles[role]]
            faults.add(f"{person!r} is {' and '.join(sorted(roles))}", *culprits)
    return faults.result(check_id, "investigator, panel and appeal panel are distinct from each "
                                   "other and from the parties and witnesses")


def conflicts_declared(h: History) -> CheckResult:
    check_id = "panel-conflicts-declared"
    panels: list[Entry[Any]] = [*h.of(PanelAppointed), *h.of(AppealPanelAppointed)]
    decisions: list[Entry[Any]] = [*h.of(DecisionRecorded), *h.of(AppealDecided)]
    if not panels and not decisions:
        return not_applicable(check_id, "no panel has been appointed and nothing decided")
    faults = Faults()
    for panel in panels:
        for member in panel.event.members:
            if not member.declared:
                faults.add(f"{member.member_id!r} sat on {panel.label} without declaring "
                           "interests", panel)
    for decision in decisions:
        bench = decision.before.panel_ids if isinstance(decision.event, DecisionRecorded) \
            else decision.before.appeal_panel_ids
        if decision.record.actor.id not in bench:
            faults.add(f"{decision.label} is by {decision.record.actor.id!r}, who was not on an "
                       "appointed panel and so never declared interests", decision)
    return faults.result(check_id, "every panel member declared interests on appointment, "
                                   "and only appointed members decided")
