"""The audit's public models: check results, timeline rows, the audit itself, check titles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ..base import ActorKind, Model
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


class CaseAudit(Model):
    case_id: str
    as_of: datetime | None  # the time deadlines were judged against
    timeline: list[TimelineEntry]
    checks: list[CheckResult]
    evidence: list[EvidenceRow] = []
    ok: bool  # no check failed

    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status is CheckStatus.FAIL]


# One audit check per rule the audit judges, titled as in the catalogue.
TITLES: dict[str, str] = {rule.rule_id: rule.title for rule in CATALOGUE
                          if rule.audit_check is not None}
