"""The audit's public models: check results, timeline rows, the audit itself, check titles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ..base import ActorKind, Model
from ..envelope import ImportRecord
from ..rules.catalogue import CATALOGUE


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


class EventRef(Model):
    """Points at one stored event, so a failure can be traced to the record."""

    event_id: UUID
    stream_version: int
    event_type: str


class CheckResult(Model):
    check_id: str
    title: str
    status: CheckStatus
    explanation: str  # pass: what was verified; fail: what is wrong; n/a: why it does not apply
    offending: list[EventRef] = []  # at fault: present exactly when the check fails
    noted: list[EventRef] = []  # surfaced without being at fault, e.g. outside instructions


class TimelineEntry(Model):
    stream_version: int
    event_id: UUID
    event_type: str
    actor_id: str
    actor_role: str
    actor_kind: ActorKind
    authority: str
    effective_at: datetime  # valid time: when it took effect in the world
    recorded_at: datetime  # transaction time: when the system learned of it
    summary: str
    flags: list[str] = []  # e.g. an act by someone with no part in the case (invariant 5)
    # Imported from a history recorded elsewhere: source, import, importer and the
    # knowledge time the source asserts (None: recorded here).
    imported: ImportRecord | None = None


class EvidenceRow(Model):
    """One item on the case file with its provenance and the admissibility ruling."""

    evidence_id: str
    source_kind: str
    captured_by: str
    captured_from: str
    consent: bool
    lawful_basis: str | None
    admissible: bool
    reason: str | None  # why it is inadmissible
    relied_on_by: list[EventRef] = []  # decisions that relied on it


class ContactRow(Model):
    """One contact about the case with anyone outside its process, either way (invariant 5):
    a report or referral from an outside body, an instruction, a referral or disclosure."""

    event: EventRef
    direction: str  # "received" | "sent"
    kind: str  # instruction, comment, referral, disclosure, request, report
    outside_body: str | None
    sender: str  # person id (role)
    recipient: str | None  # person id (role) for a contact sent
    at: datetime  # when it was received or sent
    shared: str | None  # what was shared, as recorded
    shared_evidence_ids: list[str] = []
    sender_assigned: bool  # the sender had a part in the case


class CaseAudit(Model):
    case_id: str
    as_of: datetime | None  # the time deadlines were judged against
    timeline: list[TimelineEntry]
    checks: list[CheckResult]
    evidence: list[EvidenceRow] = []
    contacts: list[ContactRow] = []  # every contact surfaced (outside-contacts-surfaced)
    ok: bool  # no check failed

    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status is CheckStatus.FAIL]


# One audit check per rule the audit judges, titled as in the catalogue.
TITLES: dict[str, str] = {rule.rule_id: rule.title for rule in CATALOGUE
                          if rule.audit_check is not None}
