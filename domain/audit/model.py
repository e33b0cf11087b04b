"""The audit's public models: check results, timeline rows, the audit itself, check titles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ..base import ActorKind, Model


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


class CaseAudit(Model):
    case_id: str
    as_of: datetime | None  # the time deadlines were judged against
    timeline: list[TimelineEntry]
    checks: list[CheckResult]
    ok: bool  # no check failed

    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if check.status is CheckStatus.FAIL]


TITLES: dict[str, str] = {
    "events-readable": "Every event reads as a case event",
    "rule-in-force-on-conduct-date": "Charges cite a rule in force on the conduct date",
    "human-triage-of-automated-reports": "Automated reports are triaged by a person before "
                                         "any adverse step",
    "interim-suspension-governed": "Interim suspension has reasons, rights and a review date, "
                                   "and lapses or is renewed explicitly",
    "notice-before-hearing": "Notice in writing before any hearing or decision",
    "disclosure-before-reliance": "A decision relies only on evidence disclosed in time",
    "hearing-before-decision": "The respondent is heard before the decision",
    "panel-independence": "Parties, witnesses, investigator, panel and appeal panel are "
                          "distinct people",
    "panel-conflicts-declared": "Every panel member declared interests before sitting",
    "decision-complete": "The decision carries facts, rule, reasons, sanction, automation "
                         "flags and redress",
    "sanction-allowed-by-rule": "Every sanction is one the cited rule allows",
    "appeal-window-respected": "Appeals are accepted until the window closes; the outcome "
                               "has reasons",
    "reinstatement-after-successful-appeal": "A successful appeal restores rights and "
                                             "corrects the record",
    "deadlines-met-or-escalated": "Every deadline was met or its breach recorded",
    "instructions-on-record": "Only people assigned to the case acted on it; instructions "
                              "from anyone else are on the record",
    "complainant-informed": "The complainant was acknowledged and told the outcome",
}
