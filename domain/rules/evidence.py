"""Rules on evidence: admissibility, disclosure to the respondent, and what a decision
may rely on (ACAS 9, GDPR 5-6 and 9, invariant 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from ..base import DueProcessViolation, InvalidCommand
from ..case.events import (
    DecisionRecorded,
    EvidenceAdded,
    EvidenceDisclosed,
    HearingScheduled,
    ReportFiled,
)
from ..case.state import CaseState
from ..case.values import Admissibility, EvidenceItem
from ..policy import PolicyVersion
from .model import Breach, ProcessRule, Transition, acas, case_law, gdpr, invariant


def admissibility(version: PolicyVersion | None,
                  items: Iterable[EvidenceItem]) -> list[Admissibility]:
    """The pinned evidence policy's ruling on each item (none without a procedure)."""
    if version is None:
        return []
    rulings = []
    for item in items:
        reason = version.evidence.inadmissibility(item.source_kind, item.consent, item.lawful_basis)
        rulings.append(Admissibility(evidence_id=item.evidence_id, admissible=reason is None,
                                     reason=reason))
    return rulings


def reliance(event: DecisionRecorded) -> Iterator[tuple[str, str]]:
    """(field, evidence id) for every item each finding relies on."""
    for index, finding in enumerate(event.findings):
        for item, evidence_id in enumerate(finding.relied_on_evidence):
            yield f"findings.{index}.relied_on_evidence.{item}", evidence_id


def _admissible(t: Transition) -> Iterator[Breach]:
    event = t.event
    if isinstance(event, ReportFiled | EvidenceAdded):
        # The ruling on the record must be the pinned policy's, or inadmissible
        # evidence could be laundered by writing "admissible" next to it.
        if event.admissibility != admissibility(t.procedure, event.evidence):
            yield Breach("admissibility", "the admissibility rulings are not the pinned "
                                          "evidence policy's")
    elif isinstance(event, DecisionRecorded):
        for field, evidence_id in reliance(event):
            why = t.before.inadmissible.get(evidence_id)
            if why is not None:
                yield Breach(field, f"{evidence_id!r} is inadmissible: {why}")


EVIDENCE_ADMISSIBILITY = ProcessRule(
    "evidence-admissibility", "Evidence is ruled on under the pinned policy; a decision never "
    "relies on inadmissible evidence", gdpr("5", "6", "9") + invariant(2), DueProcessViolation,
    guards=("FileReport", "AddEvidence", "RecordDecision"),
    events=(ReportFiled, EvidenceAdded, DecisionRecorded), predicate=_admissible,
    passed="every item was ruled on under the pinned evidence policy and nothing "
           "inadmissible was relied on")


def _known(t: Transition) -> Iterator[Breach]:
    event, known = t.event, t.before.evidence
    if isinstance(event, EvidenceDisclosed):
        if not (event.evidence_ids or event.withheld or event.redactions):
            yield Breach("evidence_ids", "nothing to disclose, withhold or redact")
        for index, evidence_id in enumerate(event.evidence_ids):
            if evidence_id not in known:
                yield Breach(f"evidence_ids.{index}", f"no evidence {evidence_id!r} in this case")
        named = [("withheld", i, w.evidence_id) for i, w in enumerate(event.withheld)]
        named += [("redactions", i, r.evidence_id) for i, r in enumerate(event.redactions)]
        for name, index, evidence_id in named:
            if evidence_id not in known:
                yield Breach(f"{name}.{index}.evidence_id",
                             f"no evidence {evidence_id!r} in this case")
    elif isinstance(event, DecisionRecorded):
        for field, evidence_id in reliance(event):
            if evidence_id not in known:
                yield Breach(field, f"no evidence {evidence_id!r} in this case")


UNKNOWN_EVIDENCE = ProcessRule(
    "unknown-evidence", "Disclosure and findings name evidence on the case file",
    acas("9"), InvalidCommand, guards=("DiscloseEvidence", "RecordDecision"),
    events=(EvidenceDisclosed, DecisionRecorded), predicate=_known,
    passed="every item disclosed or relied on is on the case file")


def _withheld_or_disclosed(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, EvidenceDisclosed)
    event, disclosed = t.event, t.before.disclosed_at
    for index, item in enumerate(event.withheld):
        if item.evidence_id in event.evidence_ids or item.evidence_id in disclosed:
            yield Breach(f"withheld.{index}.evidence_id",
                         "disclosed evidence cannot also be withheld")
    for index, redaction in enumerate(event.redactions):
        if redaction.evidence_id not in event.evidence_ids \
                and redaction.evidence_id not in disclosed:
            yield Breach(f"redactions.{index}.evidence_id", "only disclosed evidence is redacted")


WITHHELD_OR_DISCLOSED = ProcessRule(
    "withheld-or-disclosed", "Each item is disclosed (perhaps redacted, with reasons) or "
    "withheld with a reason, never both", acas("9") + invariant(2), InvalidCommand,
    guards=("DiscloseEvidence",), events=(EvidenceDisclosed,), predicate=_withheld_or_disclosed,
    passed="no item was both disclosed and withheld, and only disclosed items were redacted")


def _anything_disclosed(t: Transition) -> Iterator[Breach]:
    if t.before.last_disclosure_at is None:
        yield Breach(None, "no evidence has been disclosed to the respondent")


DISCLOSURE_BEFORE_HEARING = ProcessRule(
    "disclosure-before-hearing", "Evidence is disclosed before a hearing is set or a decision "
    "made", acas("9") + invariant(2), DueProcessViolation,
    guards=("ScheduleHearing", "RecordDecision"), events=(HearingScheduled, DecisionRecorded),
    predicate=_anything_disclosed, passed="evidence was disclosed before the hearing was set "
                                          "and before the decision")


def _disclosed(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, DecisionRecorded)
    for field, evidence_id in reliance(t.event):
        known = evidence_id in t.before.evidence
        if known and evidence_id not in t.before.disclosed_at:
            withheld = t.before.withheld.get(evidence_id)
            how = f"it was withheld ({withheld})" if withheld else "it was never disclosed"
            yield Breach(field, f"{evidence_id!r} was not disclosed to the respondent: {how}")


DISCLOSURE_BEFORE_RELIANCE = ProcessRule(
    "disclosure-before-reliance", "A decision relies only on evidence disclosed to the "
    "respondent", acas("9") + case_law("audi alteram partem") + invariant(2),
    DueProcessViolation, guards=("RecordDecision",), events=(DecisionRecorded,),
    predicate=_disclosed, passed="every item relied on was disclosed to the respondent")


def lead_cutoff(state: CaseState, hearing_at: datetime) -> datetime | None:
    version = state.procedure
    return None if version is None else hearing_at - version.deadlines.disclosure_lead_time


def _lead_time(t: Transition) -> Iterator[Breach]:
    event, before = t.event, t.before
    version = before.procedure
    if version is None:
        return
    lead = version.deadlines.disclosure_lead_time
    if isinstance(event, HearingScheduled):
        last = before.last_disclosure_at
        if last is not None and event.at - last < lead:
            yield Breach("at", f"evidence must be disclosed {lead} before the hearing")
    elif isinstance(event, DecisionRecorded) and before.hearing is not None:
        cutoff = before.hearing.at - lead
        for field, evidence_id in reliance(event):
            disclosed_at = before.disclosed_at.get(evidence_id)
            if disclosed_at is not None and disclosed_at > cutoff:
                yield Breach(field, f"{evidence_id!r} was disclosed at "
                                    f"{disclosed_at.isoformat()}, too close to the hearing "
                                    f"(cut-off {cutoff.isoformat()})")


DISCLOSURE_LEAD_TIME = ProcessRule(
    "disclosure-lead-time", "Evidence reaches the respondent the policy's lead time before the "
    "hearing", acas("9", "12") + invariant(2), DueProcessViolation,
    guards=("ScheduleHearing", "RecordDecision"), events=(HearingScheduled, DecisionRecorded),
    predicate=_lead_time, passed="disclosure came at least the lead time before the hearing")


RULES = (UNKNOWN_EVIDENCE, WITHHELD_OR_DISCLOSED, DISCLOSURE_BEFORE_HEARING,
         DISCLOSURE_BEFORE_RELIANCE, EVIDENCE_ADMISSIBILITY, DISCLOSURE_LEAD_TIME)
