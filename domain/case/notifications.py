"""Which written notices an event sends to the respondent and the complainant, and which
staff notices a missed deadline sends to the role it is escalated to.

Subjects and bodies carry no personal data, so they can be logged and templated
freely; what is personal (particulars, findings, the complainant's name) travels in
``details`` as ``Personal`` values for the sender to decrypt at the last moment.
An automated detector is told nothing: there is nobody to tell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ..base import Model, Personal
from ..policy import EscalationRole, Right
from ..policy_terms import duration_text
from .events import (
    AppealDecided,
    CaseDismissed,
    CaseEvent,
    CaseTriaged,
    DataCollectionNoticeGiven,
    DataCollectionNoticeMissed,
    DeadlineMissed,
    DecisionRecorded,
    EvidenceDisclosed,
    HearingScheduled,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    MemberReinstated,
    NoticeIssued,
    RecordCorrected,
    ReportAcknowledged,
    SanctionApplied,
)
from .priors import prior_lines
from .reporter import reporter_letters
from .state import CaseState
from .values import ComplainantKind, CorrectedRecord, Sanction

RecipientRole = Literal["respondent", "complainant"] | EscalationRole
# A staff notice goes to a role's mailbox, not to a person: it names no one, so it holds no
# personal data, and its recipient is this id (the worker maps roles to mailboxes).
STAFF_RECIPIENT = "role:{role}"


class Notification(Model):
    notification_id: str  # f"{event_id}:{recipient_role}": retries send it once
    recipient_role: RecipientRole
    recipient: Personal | None  # the name; None for a staff notice (to a role)
    address: Personal | None  # the contact; None when none is on file, or to a role
    subject: str
    body: str
    details: list[Personal] = []


def notifications_for(state: CaseState, event: CaseEvent, event_id: str) -> list[Notification]:
    """Notices caused by ``event``; ``state`` is the case with the event already folded in."""
    if state.report is None:
        return []
    letters = _letters(state, event)
    return [note for role, subject, body, details in letters
            if (note := _addressed(state, event_id, role, subject, body, details)) is not None]


Letter = tuple[RecipientRole, str, str, list[Personal]]


def _letters(state: CaseState, event: CaseEvent) -> list[Letter]:
    case = state.case_id
    match event:
        case ReportAcknowledged():
            return [("complainant", f"Case {case}: report received",
                     "We have received your report. It will be triaged by a named person and "
                     "you will be told the outcome.", [])]
        case CaseTriaged():
            return [("complainant", f"Case {case}: under investigation",
                     "Your report is being investigated. You will be told the outcome.", [])]
        case CaseDismissed():
            return [("complainant", f"Case {case}: report dismissed",
                     f"Your report was dismissed ({event.dismissal_reason.value}). "
                     f"Reasons: {event.reasons}", [])]
        case NoticeIssued():
            return [_notice(state, event)]
        case EvidenceDisclosed():
            return [("respondent", f"Case {case}: evidence disclosed", _disclosure(event), [])]
        case HearingScheduled():
            return [("respondent", f"Case {case}: hearing scheduled",
                     f"Your hearing is at {event.at.isoformat()}, {event.location}. You may be "
                     "accompanied, present evidence and call and question witnesses.", [])]
        case InterimSuspensionImposed() | InterimSuspensionRenewed():
            return [_interim(state, event)]
        case InterimSuspensionLifted() | InterimSuspensionLapsed():
            return [("respondent", f"Case {case}: interim suspension ended",
                     "Your interim suspension has ended and these rights are restored: "
                     f"{_rights(event.rights_restored)}.", [])]
        case DecisionRecorded():
            return _decision(state, event)
        case AppealDecided():
            return _appeal(state, event)
        case SanctionApplied():
            return [("respondent", f"Case {case}: sanction in effect",
                     f"The sanction now applies: {_sanction(event.sanction)}. Rights removed: "
                     f"{_rights(event.rights_removed)}." + (
                         f" It ends at {event.ends_at.isoformat()}." if event.ends_at else ""),
                     [])]
        case MemberReinstated():
            return [_reinstated(state, event)]
        case DataCollectionNoticeGiven():
            return _collection(state, event)
        case RecordCorrected():
            return [_corrected(state, event)]
        case DeadlineMissed() | DataCollectionNoticeMissed():
            return _escalated(case, event)
    return [*reporter_letters(case, event)]


def _addressed(state: CaseState, event_id: str, role: RecipientRole, subject: str, body: str,
               details: list[Personal]) -> Notification | None:
    assert state.report is not None
    if role not in ("respondent", "complainant"):  # a staff role, told of an escalation
        return Notification(notification_id=f"{event_id}:{role}", recipient_role=role,
                            recipient=None, address=None, subject=subject, body=body,
                            details=details)
    if role == "complainant":
        party = state.report.complainant
        if party.kind is ComplainantKind.AUTOMATED_DETECTOR:
            return None
        name, address = party.name, party.contact
    else:
        name, address = state.report.respondent.name, state.report.respondent.contact
    return Notification(notification_id=f"{event_id}:{role}", recipient_role=role,
                        recipient=name, address=address, subject=subject, body=body,
                        details=details)


def _notice(state: CaseState, event: NoticeIssued) -> Letter:
    assert state.report is not None
    lines = [f"- {a.allegation_id}: rule {a.rule_id} '{a.rule_title}' (policy version "
             f"{a.policy_version}), conduct on {a.conduct_date.isoformat()}"
             for a in event.allegations]
    complainant = state.report.complainant
    if event.complainant_identified:
        source = f"The report was made by a {complainant.kind.value.replace('_', ' ')}" + (
            f" ({complainant.outside_body})" if complainant.outside_body else "") + "."
        details = [a.particulars for a in event.allegations] + [complainant.name]
    else:
        source = f"The complainant is not named: {event.complainant_withheld_reason}"
        details = [a.particulars for a in event.allegations]
    consequences = ", ".join(k.value for k in event.possible_consequences) or "none"
    body = "\n".join([
        "You are notified in writing of these allegations:", *lines, source,
        f"Possible consequences: {consequences}." + (
            f" {event.consequences_note}" if event.consequences_note else ""),
        f"Please respond by {event.response_due.isoformat()}.",
    ])
    return ("respondent", f"Case {state.case_id}: notice of allegations", body, details)


def _disclosure(event: EvidenceDisclosed) -> str:
    parts = [f"Evidence disclosed to you: {', '.join(event.evidence_ids) or 'none'}."]
    parts += [f"Withheld {w.evidence_id}: {w.reason}" for w in event.withheld]
    parts += [f"Redacted in {r.evidence_id}: {r.description} ({r.reason})"
              for r in event.redactions]
    return "\n".join(parts)


def _interim(state: CaseState,
             event: InterimSuspensionImposed | InterimSuspensionRenewed) -> Letter:
    rights = state.interim.rights_removed if state.interim else frozenset()
    return ("respondent", f"Case {state.case_id}: interim suspension",
            "An interim suspension applies while the case is decided. It is not a sanction. "
            f"Reasons: {event.reasons}. Rights removed: {_rights(sorted(rights))}. "
            f"It will be reviewed by {event.review_by.isoformat()}.", [])


def _decision(state: CaseState, event: DecisionRecorded) -> list[Letter]:
    lines = [f"- {f.allegation_id}: {'upheld' if f.upheld else 'not upheld'}. {f.reasons}"
             for f in event.findings]
    outcome = _sanction(event.sanction) if event.sanction else "no sanction"
    respondent = "\n".join([
        "The panel has decided:", *lines, f"Outcome: {outcome}.",
        *prior_lines(event.prior_sanctions, event.aggravating_priors),
        f"Automated means: detection={event.automated_detection}, "
        f"decision={event.automated_decision.value}.",
        f"How to appeal: {event.how_to_appeal} Appeal by {event.appeal_deadline.isoformat()}.",
    ])
    summary = "upheld" if event.upheld else "not upheld"
    return [
        ("respondent", f"Case {state.case_id}: decision", respondent,
         [f.findings for f in event.findings]),
        ("complainant", f"Case {state.case_id}: outcome",
         f"The complaint was {summary}. Outcome: {outcome}.", []),
    ]


def _appeal(state: CaseState, event: AppealDecided) -> list[Letter]:
    outcome = event.outcome.value.replace("_", " ")
    varied = f" New sanction: {_sanction(event.new_sanction)}." if event.new_sanction else ""
    return [
        ("respondent", f"Case {state.case_id}: appeal outcome",
         f"Your appeal was {outcome}.{varied} Reasons: {event.reasons}", []),
        ("complainant", f"Case {state.case_id}: appeal outcome",
         f"The respondent's appeal was {outcome}.{varied}", []),
    ]


def _reinstated(state: CaseState, event: MemberReinstated) -> Letter:
    body = (f"Your rights are restored ({_rights(event.rights_restored)}) with continuity of "
            "membership.")
    if event.record_corrected:
        body += " The decision was reversed and your record has been corrected."
    if event.apology:
        body += f" {event.apology}"
    return ("respondent", f"Case {state.case_id}: reinstatement", body, [])


def _collection(state: CaseState, event: DataCollectionNoticeGiven) -> list[Letter]:
    """GDPR Art 14: what was collected about a party, from where, and why. Someone who is
    not a party has no address on file: their notice goes by the recorded channel."""
    assert state.report is not None
    roles: dict[str, RecipientRole] = {state.report.respondent.person_id: "respondent",
                                       state.report.complainant.person_id: "complainant"}
    role = roles.get(event.subject_id)
    if role is None:
        return []
    body = "\n".join([
        "Personal data about you was obtained from someone other than you and is held in this "
        "case file, to decide a complaint under the organisation's rules (its disciplinary "
        "procedure). The items and their sources:", *(f"- {s}" for s in event.sources),
        "You may ask for a copy, and for inaccurate data to be corrected."])
    return [(role, f"Case {state.case_id}: data collected about you", body, [])]


# Corrections that wronged the reporter: their report dismissed, or them warned or held.
_REPORTERS = frozenset({CorrectedRecord.DISMISSAL, CorrectedRecord.REPORTER_WARNING,
                        CorrectedRecord.HOLD})


def _corrected(state: CaseState, event: RecordCorrected) -> Letter:
    # GDPR Art 19: the person is told of a rectification of their record; the letter and
    # its apology go to the person the corrected record wronged (an automated detector's
    # dismissed report wronged no one who can be written to: _addressed sends none).
    role: RecipientRole = "complainant" if event.corrects in _REPORTERS else "respondent"
    what = event.corrects.value.replace("_", " ")
    body = (f"The {what} on your case record was wrong and has been corrected. What was "
            f"wrong: {event.what_was_wrong} Correction: {event.correction}")
    if event.automation_error:
        body += " The error was made by an automated system and found by a person."
    if event.apology:
        body += f" {event.apology}"
    return (role, f"Case {state.case_id}: record corrected", body, [])


def _escalated(case: str, event: DeadlineMissed | DataCollectionNoticeMissed) -> list[Letter]:
    """Issue 15: a missed deadline is escalated to the role the rulebook names, told what
    happens next. Ids and times only: a staff notice carries no personal data."""
    if event.next_step is None:  # a v1 miss, recorded before escalations named a next step
        return []
    if isinstance(event, DeadlineMissed):
        what = f"The {event.kind.replace('_', ' ')} deadline"
    else:
        what = ("The GDPR Art 14 notice for evidence "
                f"{', '.join(event.evidence_ids)} (data obtained from someone else)")
    body = (f"{what} of case {case} was due at {event.due_at.isoformat()} and has been "
            f"missed. It is escalated to you. Next step: {event.next_step}")
    return [(event.escalated_to, f"Case {case}: deadline missed, escalated", body, [])]


def _sanction(sanction: Sanction) -> str:
    if sanction.term is None:
        return sanction.kind.value
    return f"{sanction.kind.value} for {duration_text(sanction.term)}"


def _rights(rights: Iterable[Right]) -> str:
    return ", ".join(right.value for right in rights) or "none"
