"""Checks on intake: readable events, charges under rules in force, human triage of
automated reports, and interim suspension.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..base import ActorKind
from ..case.events import (
    CaseTriaged,
    DecisionRecorded,
    HearingScheduled,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    NoticeIssued,
    ReportFiled,
    SanctionApplied,
)
from ..case.values import AutomatedDecision
from ..policy import INTERIM_STATUS, PolicyVersion
from .context import Entry, History
from .deadlines import interim_deadlines, overdue
from .model import CheckResult
from .results import Faults, iso, not_applicable, rights_text, span


def events_readable(h: History) -> CheckResult:
    # An event the audit cannot read is one it cannot vouch for: it might hide a breach.
    if not h.entries and not h.unreadable:
        return not_applicable("events-readable", "the case has no events")
    faults = Faults()
    for record, why in h.unreadable:
        faults.add(f"v{record.stream_version}: {why}", record)
    return faults.result("events-readable", f"all {len(h.entries)} events read as case events")


def _charge_problem(pinned: dict[str, PolicyVersion], version_name: str | None, rule_id: str,
                    conduct_date: date) -> str | None:
    """Why a charge under this rule and version is void, or None (McFadden v Unite)."""
    version = pinned.get(version_name or "")
    if version is None:
        return f"cites policy version {version_name!r}, which the case did not pin"
    if not version.in_force_on(conduct_date):
        return f"cites version {version.version}, which was not in force on {conduct_date}"
    if version.find_rule(rule_id) is None:
        return f"cites rule {rule_id}, which is not in version {version.version}"
    return None


def rule_in_force(h: History) -> CheckResult:
    reports = h.of(ReportFiled)
    if not reports:
        return not_applicable("rule-in-force-on-conduct-date", "no report has been filed")
    faults = Faults()
    for report in reports:
        pinned = {v.version: v for v in report.event.pinned_versions}
        for a in report.event.allegations:
            problem = _charge_problem(pinned, report.event.rule_versions.get(a.allegation_id),
                                      a.rule_id, a.conduct_date)
            if problem:
                faults.add(f"allegation {a.allegation_id} in {report.label} {problem}", report)
    for notice in h.of(NoticeIssued):
        _notice_charges(notice, faults)
    return faults.result("rule-in-force-on-conduct-date",
                         "every allegation and notice cites a pinned rule version in force on "
                         "its conduct date")


def _notice_charges(notice: Entry[NoticeIssued], faults: Faults) -> None:
    report = notice.before.report
    pinned = {v.version: v for v in report.pinned_versions} if report else {}
    charged = {a.allegation_id: a.rule_id for a in report.allegations} if report else {}
    for a in notice.event.allegations:
        problem = _charge_problem(pinned, a.policy_version, a.rule_id, a.conduct_date)
        if problem:
            faults.add(f"allegation {a.allegation_id} in {notice.label} {problem}", notice)
        elif charged.get(a.allegation_id, a.rule_id) != a.rule_id:
            faults.add(f"{notice.label} puts {a.allegation_id} under {a.rule_id}, but the report "
                       f"charged it under {charged[a.allegation_id]}", notice)


def _is_adverse(entry: Entry[Any]) -> bool:
    """Steps that act against the respondent; a finding of breach counts even unsanctioned."""
    event = entry.event
    if isinstance(event, DecisionRecorded):
        return event.upheld or event.sanction is not None or any(f.sanction for f in event.findings)
    return isinstance(event, InterimSuspensionImposed | InterimSuspensionRenewed | NoticeIssued
                      | HearingScheduled | SanctionApplied)


def _person_triaged_before(h: History, entry: Entry[Any]) -> bool:
    return any(t.record.actor.kind is ActorKind.PERSON and t.event.reviewed_by.strip()
               for t in h.earlier(entry, CaseTriaged))


def human_triage(h: History) -> CheckResult:
    # DSA 20(6), GDPR 22: a tool may flag, only a person may set an adverse measure going.
    check_id = "human-triage-of-automated-reports"
    automated = h.final.automated_report
    adverse = [e for e in h.entries if _is_adverse(e)]
    by_machine = [e for e in adverse if e.record.actor.kind is not ActorKind.PERSON]
    solely = [d for d in h.of(DecisionRecorded) if d.event.sanction is not None
              and d.event.automated_decision is AutomatedDecision.FULLY]
    if not (automated or by_machine or solely):
        return not_applicable(check_id, "the report did not come from an automated detector "
                                        "and no adverse step was taken by automated means")
    faults = Faults()
    if automated:
        for entry in adverse:
            if not _person_triaged_before(h, entry):
                faults.add(f"{entry.label} was taken on an automated report before any person "
                           "triaged it", entry)
        for triage in h.of(CaseTriaged):
            if triage.record.actor.kind is not ActorKind.PERSON:
                faults.add(f"{triage.label} was by a {triage.record.actor.kind.value} actor, "
                           "not a named person", triage)
    for entry in by_machine:
        faults.add(f"{entry.label} was taken by {entry.record.actor.kind.value} actor "
                   f"{entry.record.actor.id!r}; an adverse step needs a person", entry)
    for decision in solely:
        faults.add(f"{decision.label} imposes a sanction decided solely by automated means",
                   decision)
    return faults.result(check_id, f"{len(adverse)} adverse step(s), each after triage by a "
                                   "named person and taken by a person")


_INTERIM_EVENTS = (InterimSuspensionImposed, InterimSuspensionRenewed, InterimSuspensionLifted,
                   InterimSuspensionLapsed)


def interim_governed(h: History) -> CheckResult:
    check_id = "interim-suspension-governed"
    if not any(h.of(kind) for kind in _INTERIM_EVENTS):
        return not_applicable(check_id, "no interim suspension was imposed")
    faults = Faults()
    for imposed in h.of(InterimSuspensionImposed):
        _check_imposed(h, imposed, faults)
    for renewed in h.of(InterimSuspensionRenewed):
        if renewed.before.interim is None:
            faults.add(f"{renewed.label} renews a suspension that was not in force", renewed)
        _check_review_date(h, renewed, renewed.event.review_by, faults)
    ended_by: list[Entry[Any]] = [*h.of(InterimSuspensionLifted), *h.of(InterimSuspensionLapsed)]
    for ended in ended_by:
        removed = ended.before.interim.rights_removed if ended.before.interim else frozenset()
        missing = removed - set(ended.event.rights_restored)
        if missing:
            faults.add(f"{ended.label} leaves {rights_text(missing)} removed", ended)
    for deadline in interim_deadlines(h):
        problem = overdue(deadline, h.clock)
        if problem:
            faults.add(problem, *deadline.culprits)
    return faults.result(check_id, "each interim suspension had reasons, the policy's rights "
                                   "and a review date, and was renewed, lifted or lapsed in time")


def _check_imposed(h: History, imposed: Entry[InterimSuspensionImposed],
                   faults: Faults) -> None:
    event, procedure = imposed.event, imposed.before.procedure
    if imposed.before.decision is not None:
        # ACAS 8: a holding measure pending the decision, never a sanction after it.
        faults.add(f"{imposed.label} comes after the decision: interim suspension is not a "
                   "sanction", imposed)
    if not event.reasons.strip():
        faults.add(f"{imposed.label} records no reasons", imposed)
    if procedure is not None:
        expected = procedure.rights_removed(INTERIM_STATUS)
        if frozenset(event.rights_removed) != expected:
            faults.add(f"{imposed.label} removes {rights_text(event.rights_removed)}; the "
                       f"pinned policy removes {rights_text(expected)}", imposed)
    _check_review_date(h, imposed, event.review_by, faults)


def _check_review_date(h: History, entry: Entry[Any], review_by: datetime,
                       faults: Faults) -> None:
    procedure = entry.before.procedure
    if review_by <= entry.at:
        faults.add(f"{entry.label} sets a review date that is not in the future", entry)
    elif procedure is not None:
        longest = procedure.deadlines.interim_suspension_review
        if review_by > entry.at + longest:
            faults.add(f"{entry.label} sets review by {iso(review_by)}, later than the "
                       f"policy's {span(longest)}", entry)
