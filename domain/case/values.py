"""Value objects shared by case commands, events and state.

Anything said about a person (names, contacts, particulars, findings) is ``Personal``
so the store can crypto-shred it; free-text ``reasons`` written by staff are expected
to describe the process, not the person, and are plain strings.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime

from ..base import Model, Personal
from ..ids import PersonId
from ..policy import SANCTION_SEVERITY, IsoDuration, SanctionKind, SourceKind
from ..policy_escalation import EscalatedKind as EscalatedKind  # misses are DeadlineMissed
from ..text import (
    LINE,
    Email,
    FreeText,
    IdText,
    LineText,
    OptionalId,
    OptionalLine,
    OptionalText,
)

# Limits reach a Personal's value through these markers (domain/text.py).
Name = Annotated[Personal, LINE]
Contact = Annotated[Personal, Email()]  # an e-mail address: notices are sent to it



class ComplainantKind(StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    VOLUNTEER = "volunteer"
    AUTOMATED_DETECTOR = "automated_detector"
    OUTSIDE_BODY = "outside_body"  # police, regulator, trusted flagger: named in outside_body


class Complainant(Model):
    kind: ComplainantKind
    person_id: PersonId  # for an automated detector, the detector's id
    name: Name
    contact: Contact | None = None
    outside_body: OptionalLine | None = None  # e.g. "Metropolitan Police Online Hate Crime Hub"


class Respondent(Model):
    person_id: PersonId
    name: Name
    contact: Contact | None = None


class Allegation(Model):
    allegation_id: IdText
    rule_id: IdText
    conduct_date: date
    particulars: Personal  # about the respondent


class EvidenceItem(Model):
    evidence_id: IdText
    description: Personal
    source_kind: SourceKind
    captured_by: PersonId
    captured_at: AwareDatetime
    captured_from: LineText
    content_hash: IdText
    lawful_basis: OptionalLine | None = None
    consent: bool = False
    witness_id: PersonId | None = None  # a witness may not sit on the panel or investigate


class Admissibility(Model):
    evidence_id: str
    admissible: bool
    reason: str | None = None  # why it is inadmissible; it can then never be relied on


class TriageOutcome(StrEnum):
    INVESTIGATE = "investigate"
    DISMISS = "dismiss"


class DismissalReason(StrEnum):
    NO_CASE_TO_ANSWER = "no_case_to_answer"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"
    OUT_OF_JURISDICTION = "out_of_jurisdiction"


class PanelMember(Model):
    member_id: PersonId
    declared: bool  # has declared interests before sitting (Porter v Magill)
    interests: OptionalText = ""


class WithheldEvidence(Model):
    evidence_id: IdText
    reason: FreeText


class Redaction(Model):
    evidence_id: IdText
    description: FreeText
    reason: FreeText


class Sanction(Model):
    kind: SanctionKind
    term: IsoDuration | None = None  # required for, and only for, a suspension

    def severity(self) -> tuple[int, timedelta]:
        return SANCTION_SEVERITY[self.kind], self.term or timedelta(0)


class Finding(Model):
    allegation_id: IdText
    upheld: bool
    findings: Personal  # facts found, about the respondent
    reasons: FreeText  # why the facts do or do not breach the rule
    relied_on_evidence: list[OptionalId] = []
    sanction: Sanction | None = None


class AutomatedDecision(StrEnum):
    FULLY = "fully"
    PARTIALLY = "partially"
    NOT_AUTOMATED = "not_automated"


class AppealOutcome(StrEnum):
    DISMISSED = "dismissed"
    ALLOWED = "allowed"
    SANCTION_VARIED = "sanction_varied"


class ReinstatementReason(StrEnum):
    APPEAL_ALLOWED = "appeal_allowed"
    SANCTION_ENDED = "sanction_ended"


class CorrectedRecord(StrEnum):
    """Which part of the case record a correction puts right (the original stays)."""

    REPORT = "report"  # e.g. an automated flag that should never have been raised
    DISMISSAL = "dismissal"
    DECISION = "decision"
    APPEAL_DECISION = "appeal_decision"
    SANCTION = "sanction"
    INTERIM_SUSPENSION = "interim_suspension"  # the latest one imposed
    REPORTER_WARNING = "reporter_warning"  # a repeat-reporter warning given on this case
    HOLD = "hold"  # this report's hold under a warning


# What a correction of each of these leaves in place is said by ``replaced_by``: the
# sanction that stands instead (None: none). The others are annulled by their correction.
SANCTION_OUTCOMES = frozenset({CorrectedRecord.DECISION, CorrectedRecord.APPEAL_DECISION,
                               CorrectedRecord.SANCTION})


class NoticedAllegation(Model):
    """An allegation as put to the respondent: the rule cited, in its pinned version."""

    allegation_id: str
    rule_id: str
    rule_title: str
    policy_version: str
    conduct_date: date
    particulars: Personal


class StatementOfReasons(Model):
    """The DSA Art 17 / Transparency Database view of a restrictive decision."""

    decision_account: str  # "warning" | "account_suspended" | "account_terminated"
    decision_ground: str  # always "incompatible_content": membership rules, not law
    incompatible_content_ground: str  # the rules relied on, with their versions
    decision_facts: list[Personal]
    # "notice" | "other_notification" (an outside body) | "automated_detection"; records
    # before issue 15 said "trusted_flagger" for every outside body.
    source_type: str
    automated_detection: bool
    automated_decision: AutomatedDecision
    application_date: AwareDatetime  # provisional: the sanction applies after the appeal window
    end_date: AwareDatetime | None  # None: indefinite or no restriction of time


def most_severe(sanctions: list[Sanction]) -> Sanction | None:
    """Sanctions on several allegations run concurrently, so the most severe one governs."""
    return max(sanctions, key=Sanction.severity, default=None)


class NoticeExemption(StrEnum):
    """Why a data-collection notice (GDPR Art 14) need not be given: the Art 14(5)
    exemptions, and a restriction by law under Art 23 (e.g. UK DPA 2018 Sch 2 para 2)."""

    ALREADY_INFORMED = "already_informed"  # Art 14(5)(a)
    DISPROPORTIONATE_EFFORT = "disproportionate_effort"  # Art 14(5)(b), incl. impairing aims
    REQUIRED_BY_LAW = "required_by_law"  # Art 14(5)(c)
    PROFESSIONAL_SECRECY = "professional_secrecy"  # Art 14(5)(d)
    RESTRICTED_BY_LAW = "restricted_by_law"  # Art 23, in the national law named


class ContactDirection(StrEnum):
    """Which way a contact about the case went (invariant 5; DSA 17(3)(b), 22)."""

    RECEIVED = "received"  # an instruction, comment or referral that reached the case
    SENT = "sent"  # a referral or disclosure from the case to someone outside it


class ContactKind(StrEnum):
    INSTRUCTION = "instruction"
    COMMENT = "comment"
    REFERRAL = "referral"
    DISCLOSURE = "disclosure"
    REQUEST = "request"
