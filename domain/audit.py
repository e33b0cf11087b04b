"""Audit of one case: its full timeline, and a check of each due-process rule over the events.

Pure: no I/O, no clock (the caller passes ``now``).

The audit must judge any history, including ones the deciders would have refused: events
written to the store directly, recorded under rules that have since changed, or simply
corrupted. So every check walks the events themselves and folds them with the total
``evolve``; nothing here calls decide(), which would reject exactly the histories an audit
exists to expose. Each check passes, fails naming the offending events, or says why it
does not apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import ValidationError

from .base import ActorKind, Model
from .case_events import (
    CASE_EVENT_ADAPTER,
    EVENT_TYPES,
    AppealDecided,
    AppealLodged,
    AppealPanelAppointed,
    AppealWindowClosed,
    CaseClosed,
    CaseDismissed,
    CaseEvent,
    CaseEventBase,
    CaseTriaged,
    DeadlineMissed,
    DecisionRecorded,
    EvidenceAdded,
    HearingHeld,
    HearingScheduled,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    InvestigatorAssigned,
    MemberReinstated,
    NoticeIssued,
    PanelAppointed,
    ReportAcknowledged,
    ReportFiled,
    ResponseSubmitted,
    SanctionApplied,
    SanctionEnded,
)
from .case_roles import (
    APPEAL_PANEL_MEMBER,
    COMPLAINANT,
    DETECTOR,
    INVESTIGATOR,
    PANEL_MEMBER,
    PERMISSIONS,
    RESPONDENT,
    ROLE_KINDS,
    ROLES,
    STAFF_ROLES,
)
from .case_state import CaseState, evolve
from .case_values import (
    AppealOutcome,
    AutomatedDecision,
    ComplainantKind,
    EvidenceItem,
    Finding,
    ReinstatementReason,
    Sanction,
)
from .envelope import RecordedEvent
from .policy import INTERIM_STATUS, PolicyVersion, Right, SanctionKind

# -- public models -------------------------------------------------------------------------


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
    offending: list[EventRef] = []


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
    "instructions-on-record": "Only people assigned to the case acted on it",
    "complainant-informed": "The complainant was acknowledged and told the outcome",
}


def audit_case(
    events: Sequence[RecordedEvent],
    notifications: Sequence[RecordedEvent] | None = None,
    now: datetime | None = None,
) -> CaseAudit:
    """Audit one case stream.

    ``notifications`` is the ``notifications-{case_id}`` stream; ``None`` means it was not
    supplied (the complainant check then says delivery was not verified), while an empty
    list means nothing was ever sent. ``now`` is the time deadlines are judged against;
    without it the latest recorded time in the history is used, since the history itself
    proves at least that much time has passed.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must carry a time zone: event times are all aware")
    history = _history(events, notifications, now)
    checks = [check(history) for check in _CHECKS]
    return CaseAudit(
        case_id=history.case_id, as_of=history.clock, timeline=_timeline(history),
        checks=checks, ok=all(c.status is not CheckStatus.FAIL for c in checks))


# -- reading the history ---------------------------------------------------------------------

E = TypeVar("E", bound=CaseEventBase)


@dataclass(frozen=True)
class _Entry(Generic[E]):
    record: RecordedEvent
    event: E
    before: CaseState  # the fold of everything recorded earlier: the case as the actor saw it

    @property
    def version(self) -> int:
        return self.record.stream_version

    @property
    def at(self) -> datetime:
        return self.event.effective_at

    @property
    def label(self) -> str:
        return f"{self.record.event_type} (v{self.record.stream_version})"


@dataclass(frozen=True)
class _History:
    case_id: str
    entries: tuple[_Entry[CaseEventBase], ...]
    unreadable: tuple[tuple[RecordedEvent, str], ...]
    final: CaseState
    notifications: tuple[RecordedEvent, ...] | None
    clock: datetime | None

    def of(self, kind: type[E]) -> list[_Entry[E]]:
        found: list[_Entry[E]] = []
        for entry in self.entries:
            event = entry.event
            if isinstance(event, kind):
                found.append(_Entry(entry.record, event, entry.before))
        return found

    def first(self, kind: type[E]) -> _Entry[E] | None:
        return next(iter(self.of(kind)), None)

    def earlier(self, than: _Entry[Any], kind: type[E]) -> list[_Entry[E]]:
        return [e for e in self.of(kind) if e.version < than.version]

    def later(self, than: _Entry[Any], kind: type[E]) -> list[_Entry[E]]:
        return [e for e in self.of(kind) if e.version > than.version]

    @property
    def procedure(self) -> PolicyVersion | None:
        return self.final.procedure


def _history(
    events: Sequence[RecordedEvent], notifications: Sequence[RecordedEvent] | None,
    now: datetime | None,
) -> _History:
    ordered = sorted(events, key=lambda r: r.stream_version)
    state = CaseState.empty(_case_id(ordered))
    entries: list[_Entry[CaseEventBase]] = []
    unreadable: list[tuple[RecordedEvent, str]] = []
    for record in ordered:
        parsed = _parse(record)
        if isinstance(parsed, str):
            unreadable.append((record, parsed))
            continue
        entries.append(_Entry(record, parsed, state))
        state = evolve(state, parsed)
    latest = max((r.recorded_at for r in ordered), default=None)
    return _History(
        case_id=state.case_id, entries=tuple(entries), unreadable=tuple(unreadable),
        final=state, notifications=None if notifications is None else tuple(notifications),
        clock=now or latest)


def _case_id(ordered: list[RecordedEvent]) -> str:
    for record in ordered:
        case_id = record.payload.get("case_id")
        if record.event_type == "ReportFiled" and isinstance(case_id, str):
            return case_id
    return ordered[0].stream_id.removeprefix("case-") if ordered else ""


def _parse(record: RecordedEvent) -> CaseEvent | str:
    """The case event a record holds, or why it cannot be read as one."""
    if record.event_type not in EVENT_TYPES:
        return f"{record.event_type!r} is not a case event type"
    try:
        event = CASE_EVENT_ADAPTER.validate_python({"type": record.event_type, **record.payload})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"payload is not a valid {record.event_type}: {where}: {first['msg']}"
    if event.type != record.event_type:
        return f"stored as {record.event_type} but the payload says {event.type}"
    return event


# -- building results ------------------------------------------------------------------------


def _ref(record: RecordedEvent) -> EventRef:
    return EventRef(event_id=record.event_id, stream_version=record.stream_version,
                    event_type=record.event_type)


@dataclass
class _Faults:
    """What is wrong, and with which events, gathered while a check walks the history."""

    lines: list[str] = field(default_factory=list)
    refs: list[EventRef] = field(default_factory=list)

    def add(self, text: str, *culprits: _Entry[Any] | RecordedEvent) -> None:
        self.lines.append(text)
        for culprit in culprits:
            ref = _ref(culprit if isinstance(culprit, RecordedEvent) else culprit.record)
            if ref not in self.refs:
                self.refs.append(ref)

    def result(self, check_id: str, passed: str) -> CheckResult:
        if not self.lines:
            return _result(check_id, CheckStatus.PASS, passed)
        return _result(check_id, CheckStatus.FAIL, "; ".join(self.lines),
                       sorted(self.refs, key=lambda r: r.stream_version))


def _result(check_id: str, status: CheckStatus, explanation: str,
            offending: list[EventRef] | None = None) -> CheckResult:
    return CheckResult(check_id=check_id, title=TITLES[check_id], status=status,
                       explanation=explanation, offending=offending or [])


def _not_applicable(check_id: str, why: str) -> CheckResult:
    return _result(check_id, CheckStatus.NOT_APPLICABLE, why)


def _when(value: datetime) -> str:
    return value.isoformat()


def _span(value: timedelta) -> str:
    days, seconds = value.days, value.seconds
    hours = seconds // 3600
    if days and hours:
        return f"{days}d {hours}h"
    return f"{days}d" if days else f"{hours}h"


def _sanction_text(sanction: Sanction | None) -> str:
    if sanction is None:
        return "none"
    return sanction.kind.value + (f" for {_span(sanction.term)}" if sanction.term else "")


def _rights_text(rights: Sequence[Right] | frozenset[Right]) -> str:
    return ", ".join(sorted(r.value for r in rights)) or "no rights"


# -- checks ----------------------------------------------------------------------------------


def _events_readable(h: _History) -> CheckResult:
    # An event the audit cannot read is one it cannot vouch for: it might hide a breach.
    if not h.entries and not h.unreadable:
        return _not_applicable("events-readable", "the case has no events")
    faults = _Faults()
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


def _rule_in_force(h: _History) -> CheckResult:
    reports = h.of(ReportFiled)
    if not reports:
        return _not_applicable("rule-in-force-on-conduct-date", "no report has been filed")
    faults = _Faults()
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


def _notice_charges(notice: _Entry[NoticeIssued], faults: _Faults) -> None:
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


def _is_adverse(entry: _Entry[Any]) -> bool:
    """Steps that act against the respondent; a finding of breach counts even unsanctioned."""
    event = entry.event
    if isinstance(event, DecisionRecorded):
        return event.upheld or event.sanction is not None or any(f.sanction for f in event.findings)
    return isinstance(event, InterimSuspensionImposed | InterimSuspensionRenewed | NoticeIssued
                      | HearingScheduled | SanctionApplied)


def _person_triaged_before(h: _History, entry: _Entry[Any]) -> bool:
    return any(t.record.actor.kind is ActorKind.PERSON and t.event.reviewed_by.strip()
               for t in h.earlier(entry, CaseTriaged))


def _human_triage(h: _History) -> CheckResult:
    # DSA 20(6), GDPR 22: a tool may flag, only a person may set an adverse measure going.
    check_id = "human-triage-of-automated-reports"
    automated = h.final.automated_report
    adverse = [e for e in h.entries if _is_adverse(e)]
    by_machine = [e for e in adverse if e.record.actor.kind is not ActorKind.PERSON]
    solely = [d for d in h.of(DecisionRecorded) if d.event.sanction is not None
              and d.event.automated_decision is AutomatedDecision.FULLY]
    if not (automated or by_machine or solely):
        return _not_applicable(check_id, "the report did not come from an automated detector "
                                         "and no adverse step was taken by automated means")
    faults = _Faults()
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


def _interim_governed(h: _History) -> CheckResult:
    check_id = "interim-suspension-governed"
    if not any(h.of(kind) for kind in _INTERIM_EVENTS):
        return _not_applicable(check_id, "no interim suspension was imposed")
    faults = _Faults()
    for imposed in h.of(InterimSuspensionImposed):
        _check_imposed(h, imposed, faults)
    for renewed in h.of(InterimSuspensionRenewed):
        if renewed.before.interim is None:
            faults.add(f"{renewed.label} renews a suspension that was not in force", renewed)
        _check_review_date(h, renewed, renewed.event.review_by, faults)
    ended_by: list[_Entry[Any]] = [*h.of(InterimSuspensionLifted), *h.of(InterimSuspensionLapsed)]
    for ended in ended_by:
        removed = ended.before.interim.rights_removed if ended.before.interim else frozenset()
        missing = removed - set(ended.event.rights_restored)
        if missing:
            faults.add(f"{ended.label} leaves {_rights_text(missing)} removed", ended)
    for deadline in _interim_deadlines(h):
        problem = _overdue(deadline, h.clock)
        if problem:
            faults.add(problem, *deadline.culprits)
    return faults.result(check_id, "each interim suspension had reasons, the policy's rights "
                                   "and a review date, and was renewed, lifted or lapsed in time")


def _check_imposed(h: _History, imposed: _Entry[InterimSuspensionImposed],
                   faults: _Faults) -> None:
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
            faults.add(f"{imposed.label} removes {_rights_text(event.rights_removed)}; the "
                       f"pinned policy removes {_rights_text(expected)}", imposed)
    _check_review_date(h, imposed, event.review_by, faults)


def _check_review_date(h: _History, entry: _Entry[Any], review_by: datetime,
                       faults: _Faults) -> None:
    procedure = entry.before.procedure
    if review_by <= entry.at:
        faults.add(f"{entry.label} sets a review date that is not in the future", entry)
    elif procedure is not None:
        longest = procedure.deadlines.interim_suspension_review
        if review_by > entry.at + longest:
            faults.add(f"{entry.label} sets review by {_when(review_by)}, later than the "
                       f"policy's {_span(longest)}", entry)


def _notice_before_hearing(h: _History) -> CheckResult:
    check_id = "notice-before-hearing"
    steps: list[_Entry[Any]] = [*h.of(HearingScheduled), *h.of(HearingHeld),
                                *h.of(DecisionRecorded)]
    if not steps:
        return _not_applicable(check_id, "no hearing has been scheduled or held and no "
                                         "decision recorded")
    faults = _Faults()
    for step in sorted(steps, key=lambda e: e.version):
        notices = h.earlier(step, NoticeIssued)
        if not notices:
            faults.add(f"{step.label} without any notice to the respondent", step)
            continue
        _check_notice_for(h, step, notices[0], faults)
    return faults.result(check_id, "notice was given before every hearing and decision, in "
                                   "time and covering every allegation decided")


def _check_notice_for(h: _History, step: _Entry[Any], notice: _Entry[NoticeIssued],
                      faults: _Faults) -> None:
    event = step.event
    when = event.at if isinstance(event, HearingScheduled) else step.at
    if notice.at > when:
        faults.add(f"{notice.label} is dated after {step.label}", notice, step)
        return
    minimum = notice.before.procedure.deadlines.minimum_hearing_notice \
        if notice.before.procedure else None
    if isinstance(event, HearingScheduled | HearingHeld) and minimum and when - notice.at < minimum:
        faults.add(f"{step.label} is {_span(when - notice.at)} after {notice.label}; the policy "
                   f"requires {_span(minimum)}", notice, step)
    if isinstance(event, DecisionRecorded):
        noticed = {a.allegation_id for a in notice.event.allegations}
        for finding in event.findings:
            if finding.allegation_id not in noticed:
                faults.add(f"{step.label} decides {finding.allegation_id}, which was not put to "
                           "the respondent", step)


def _disclosure_before_reliance(h: _History) -> CheckResult:
    check_id = "disclosure-before-reliance"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return _not_applicable(check_id, "no decision has been recorded")
    faults = _Faults()
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


def _check_reliance(decision: _Entry[DecisionRecorded], faults: _Faults) -> None:
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
            f"was disclosed at {_when(disclosed_at)}, after the cut-off {_when(cutoff)}"
    if evidence_id in state.withheld:
        return None  # withheld with a recorded reason: invariant 2 allows it
    if evidence_id not in state.evidence:
        return "is not on the case file"
    return "was never disclosed to the respondent"


def _hearing_before_decision(h: _History) -> CheckResult:
    check_id = "hearing-before-decision"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return _not_applicable(check_id, "no decision has been recorded")
    faults = _Faults()
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


def _roles_held(h: _History) -> dict[str, dict[str, list[_Entry[Any]]]]:
    """person -> role in this case -> the events that gave it to them."""
    held: dict[str, dict[str, list[_Entry[Any]]]] = {}

    def give(person: str, role: str, entry: _Entry[Any]) -> None:
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


def _panel_independence(h: _History) -> CheckResult:
    # ACAS 5 and 27, Porter v Magill: nobody judges a case they investigated, appear in,
    # or have already judged at first instance.
    check_id = "panel-independence"
    held = _roles_held(h)
    if not any(_STAFF_ROLE_NAMES & roles.keys() for roles in held.values()):
        return _not_applicable(check_id, "no investigator or panel has been appointed")
    faults = _Faults()
    for person, roles in sorted(held.items()):
        staff = _STAFF_ROLE_NAMES & roles.keys()
        if staff and len(roles) > 1:
            culprits = [e for role in sorted(staff) for e in roles[role]]
            faults.add(f"{person!r} is {' and '.join(sorted(roles))}", *culprits)
    return faults.result(check_id, "investigator, panel and appeal panel are distinct from each "
                                   "other and from the parties and witnesses")


def _conflicts_declared(h: _History) -> CheckResult:
    check_id = "panel-conflicts-declared"
    panels: list[_Entry[Any]] = [*h.of(PanelAppointed), *h.of(AppealPanelAppointed)]
    decisions: list[_Entry[Any]] = [*h.of(DecisionRecorded), *h.of(AppealDecided)]
    if not panels and not decisions:
        return _not_applicable(check_id, "no panel has been appointed and nothing decided")
    faults = _Faults()
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


def _decision_complete(h: _History) -> CheckResult:
    # ACAS 17-18, DSA 17(3): the respondent must be able to see why, and how to challenge it.
    check_id = "decision-complete"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return _not_applicable(check_id, "no decision has been recorded")
    faults = _Faults()
    for decision in decisions:
        for gap in [*_finding_gaps(decision), *_sanction_gaps(decision),
                    *_redress_gaps(decision)]:
            faults.add(f"{decision.label} {gap}", decision)
    return faults.result(check_id, "every decision states facts, rule, reasons, sanction and "
                                   "duration, automation flags and how to appeal by when")


def _finding_gaps(decision: _Entry[DecisionRecorded]) -> list[str]:
    event, state = decision.event, decision.before
    gaps = [] if event.findings else ["has no findings"]
    for finding in event.findings:
        if finding.findings.value is None and not finding.findings.erased:
            gaps.append(f"states no facts found on {finding.allegation_id}")
        if not finding.reasons.strip():
            gaps.append(f"gives no reasons on {finding.allegation_id}")
        if finding.upheld and state.rule_for(finding.allegation_id) is None:
            gaps.append(f"upholds {finding.allegation_id} without an identifiable rule")
    noticed = {a.allegation_id for a in state.notice.allegations} if state.notice else set()
    missing = sorted(noticed - {f.allegation_id for f in event.findings})
    if missing:
        gaps.append(f"makes no finding on {', '.join(missing)}")
    if event.upheld != any(f.upheld for f in event.findings):
        gaps.append("says upheld=" + str(event.upheld).lower() + ", contradicting its findings")
    return gaps


def _sanction_gaps(decision: _Entry[DecisionRecorded]) -> list[str]:
    event = decision.event
    gaps = []
    if any(f.sanction for f in event.findings) and event.sanction is None:
        gaps.append("sanctions findings but states no governing sanction")
    if event.sanction is not None and event.sanction.kind is SanctionKind.SUSPENSION \
            and not event.sanction.term:
        gaps.append("imposes a suspension without a duration")
    if event.sanction is not None and event.statement_of_reasons is None:
        gaps.append("restricts the member without a statement of reasons")
    if decision.before.automated_report and not event.automated_detection:
        gaps.append("does not say the case came from automated detection")
    return gaps


def _redress_gaps(decision: _Entry[DecisionRecorded]) -> list[str]:
    event = decision.event
    gaps = []
    if not event.how_to_appeal.strip():
        gaps.append("does not say how to appeal")
    if event.appeal_deadline <= event.effective_at:
        gaps.append("gives an appeal deadline that is not after the decision")
    return gaps


def _sanction_allowed(h: _History) -> CheckResult:
    check_id = "sanction-allowed-by-rule"
    decisions = [d for d in h.of(DecisionRecorded)
                 if d.event.sanction or any(f.sanction for f in d.event.findings)]
    varied = [a for a in h.of(AppealDecided) if a.event.new_sanction is not None]
    applied = h.of(SanctionApplied)
    if not (decisions or varied or applied):
        return _not_applicable(check_id, "no sanction was decided or carried out")
    faults = _Faults()
    for decision in decisions:
        _check_decided_sanctions(decision, faults)
    for appeal in varied:
        assert appeal.event.new_sanction is not None
        problem = _allowed_problem(appeal.before, appeal.event.new_sanction)
        if problem:
            faults.add(f"{appeal.label} varies the sanction to {problem}", appeal)
    for carried in applied:
        standing = carried.before.effective_sanction
        if carried.event.sanction != standing:
            faults.add(f"{carried.label} carries out {_sanction_text(carried.event.sanction)}, "
                       f"but the sanction standing was {_sanction_text(standing)}", carried)
    return faults.result(check_id, "every sanction decided, varied or carried out is one the "
                                   "cited rule, in its pinned version, allows")


def _check_decided_sanctions(decision: _Entry[DecisionRecorded], faults: _Faults) -> None:
    state, event = decision.before, decision.event
    for finding in event.findings:
        problem = _finding_sanction_problem(state, finding)
        if problem:
            faults.add(f"{decision.label} on {finding.allegation_id}: {problem}", decision)
    given = [f.sanction for f in event.findings if f.sanction is not None]
    if event.sanction is not None and event.sanction not in given:
        faults.add(f"{decision.label} imposes {_sanction_text(event.sanction)}, which no finding "
                   "gave", decision)


def _finding_sanction_problem(state: CaseState, finding: Finding) -> str | None:
    if finding.sanction is None:
        return None
    if not finding.upheld:
        return "a sanction on an allegation not upheld"
    cited = state.rule_for(finding.allegation_id)
    if cited is None:
        return "the allegation cites no pinned rule"
    version, rule = cited
    if rule.allows(finding.sanction.kind, finding.sanction.term):
        return None
    return (f"{_sanction_text(finding.sanction)} is not allowed by {rule.rule_id}@{version.version}"
            f" (allows {', '.join(k.value for k in rule.allowed_sanctions)}"
            + (f", suspension up to {_span(rule.max_suspension)})" if rule.max_suspension else ")"))


def _allowed_problem(state: CaseState, sanction: Sanction) -> str | None:
    """Why no upheld finding's rule allows this sanction, or None."""
    decision = state.decision
    upheld = [f.allegation_id for f in decision.findings if f.upheld] if decision else []
    cited = [c for c in (state.rule_for(a) for a in upheld) if c is not None]
    if any(rule.allows(sanction.kind, sanction.term) for _, rule in cited):
        return None
    names = ", ".join(f"{rule.rule_id}@{version.version}" for version, rule in cited)
    return f"{_sanction_text(sanction)}, which {names or 'no upheld rule'} does not allow"


def _appeal_window(h: _History) -> CheckResult:
    check_id = "appeal-window-respected"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return _not_applicable(check_id, "no decision has been recorded, so there is nothing "
                                         "to appeal")
    faults = _Faults()
    for decision in decisions:
        window = decision.event.appeal_deadline - decision.at
        procedure = decision.before.procedure
        if procedure is not None and window < procedure.deadlines.appeal_window:
            faults.add(f"{decision.label} allows {_span(window)} to appeal; the policy gives "
                       f"{_span(procedure.deadlines.appeal_window)}", decision)
    for closed in h.of(AppealWindowClosed):
        _check_window_closed(closed, faults)
    for carried in h.of(SanctionApplied):
        _check_not_during_appeal(carried, faults)
    for outcome in h.of(AppealDecided):
        if outcome.before.appeal is None:
            faults.add(f"{outcome.label} decides an appeal that was never lodged", outcome)
        if not outcome.event.reasons.strip():
            faults.add(f"{outcome.label} gives no reasons", outcome)
    return faults.result(check_id, "the appeal window was the policy's, stayed open to its end, "
                                   "no sanction ran during it, and appeal outcomes have reasons")


def _check_window_closed(closed: _Entry[AppealWindowClosed], faults: _Faults) -> None:
    decision = closed.before.decision
    if decision is None:
        faults.add(f"{closed.label} closes a window with no decision", closed)
    elif closed.at < decision.appeal_deadline or closed.event.closes_at < decision.appeal_deadline:
        faults.add(f"{closed.label} closed the window before {_when(decision.appeal_deadline)}",
                   closed)


def _check_not_during_appeal(carried: _Entry[SanctionApplied], faults: _Faults) -> None:
    state = carried.before
    if state.appeal is not None and state.appeal_decision is None:
        faults.add(f"{carried.label} was carried out while an appeal was pending", carried)
    elif state.appeal is None and state.decision is not None and (
            not state.appeal_window_closed or carried.at < state.decision.appeal_deadline):
        faults.add(f"{carried.label} was carried out before the appeal window closed "
                   f"({_when(state.decision.appeal_deadline)})", carried)


def _reinstatement(h: _History) -> CheckResult:
    # DSA Art 20, GDPR Art 16: a reversal restores rights and leaves no warning on file.
    check_id = "reinstatement-after-successful-appeal"
    allowed = [a for a in h.of(AppealDecided) if a.event.outcome is AppealOutcome.ALLOWED]
    if not allowed:
        return _not_applicable(check_id, "no appeal was allowed")
    faults = _Faults()
    for appeal in allowed:
        following = h.later(appeal, MemberReinstated)
        if not following:
            faults.add(f"{appeal.label} allowed the appeal but no reinstatement was recorded",
                       appeal)
            continue
        for gap in _reinstatement_gaps(following[0]):
            faults.add(f"{following[0].label} {gap}", appeal, following[0])
    return faults.result(check_id, "every allowed appeal was followed by a reinstatement that "
                                   "restored rights, kept continuity and corrected the record")


def _reinstatement_gaps(reinstated: _Entry[MemberReinstated]) -> list[str]:
    event = reinstated.event
    gaps = []
    if event.reason is not ReinstatementReason.APPEAL_ALLOWED:
        gaps.append(f"gives reason {event.reason.value}, not the allowed appeal")
    if not event.record_corrected:
        gaps.append("leaves the reversed decision on the record")
    if not event.continuity_preserved:
        gaps.append("breaks continuity of membership")
    missing = reinstated.before.rights_removed - set(event.rights_restored)
    if missing:
        gaps.append(f"does not restore {_rights_text(missing)}")
    return gaps


# -- deadlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Deadline:
    kind: str
    due_at: datetime
    set_by: _Entry[Any]
    met_by: _Entry[Any] | None  # the act that met it (possibly late)
    escalated_by: _Entry[Any] | None  # the recorded breach, lapse or closure

    @property
    def culprits(self) -> list[_Entry[Any]]:
        return [self.set_by] + ([self.met_by] if self.met_by else [])


def _overdue(deadline: _Deadline, clock: datetime | None) -> str | None:
    """What went wrong with a deadline, or None if it was met, escalated or is not yet due."""
    if deadline.met_by is not None and deadline.met_by.at <= deadline.due_at:
        return None
    if deadline.escalated_by is not None:
        return None
    what = (f"the {deadline.kind} deadline of {_when(deadline.due_at)} set by "
            f"{deadline.set_by.label}")
    if deadline.met_by is not None:
        return f"{what} was met late by {deadline.met_by.label} with no escalation recorded"
    if clock is not None and clock > deadline.due_at:
        return f"{what} passed by {_when(clock)} without being met or escalated"
    return None


def _first_of(entries: Sequence[_Entry[Any]]) -> _Entry[Any] | None:
    return min(entries, key=lambda e: e.version, default=None)


def _missed(h: _History, kind: str) -> _Entry[Any] | None:
    return _first_of([m for m in h.of(DeadlineMissed) if m.event.kind == kind])


def _acknowledge_deadline(h: _History) -> list[_Deadline]:
    report = h.first(ReportFiled)
    procedure = report.before.procedure if report else None
    procedure = procedure or h.procedure
    if report is None or procedure is None:
        return []
    return [_Deadline("acknowledge", report.at + procedure.deadlines.acknowledge, report,
                      h.first(ReportAcknowledged), _missed(h, "acknowledge"))]


def _respond_deadline(h: _History) -> list[_Deadline]:
    notice = h.first(NoticeIssued)
    if notice is None:
        return []
    # A decision before the due date moves the case on: nothing is then owed or escalated.
    met = _first_of([*h.later(notice, ResponseSubmitted), *h.later(notice, DecisionRecorded)])
    return [_Deadline("respond", notice.event.response_due, notice, met, _missed(h, "respond"))]


_INTERIM_ENDS = (InterimSuspensionRenewed, InterimSuspensionLifted, InterimSuspensionLapsed,
                 DecisionRecorded, MemberReinstated, CaseDismissed, CaseClosed)


def _interim_deadlines(h: _History) -> list[_Deadline]:
    deadlines = []
    periods: list[_Entry[Any]] = [*h.of(InterimSuspensionImposed), *h.of(InterimSuspensionRenewed)]
    for period in sorted(periods, key=lambda e: e.version):
        end = _first_of([e for kind in _INTERIM_ENDS for e in h.later(period, kind)])
        lapsed = end if end is not None and isinstance(end.event, InterimSuspensionLapsed) \
            else None
        met = None if lapsed else end
        deadlines.append(_Deadline("interim suspension review", period.event.review_by, period,
                                   met, lapsed))
    return deadlines


def _appeal_deadlines(h: _History) -> list[_Deadline]:
    decision = h.first(DecisionRecorded)
    if decision is None or not decision.event.upheld:
        return []  # nothing upheld, nothing to appeal: no window to close
    due = decision.event.appeal_deadline
    lodged = _first_of([a for a in h.later(decision, AppealLodged) if a.at <= due])
    closed = _first_of(h.later(decision, AppealWindowClosed))
    return [_Deadline("appeal window", due, decision, lodged, closed)]


def _sanction_end_deadlines(h: _History) -> list[_Deadline]:
    deadlines = []
    for carried in h.of(SanctionApplied):
        if carried.event.ends_at is None:
            continue
        ended = _first_of([*h.later(carried, SanctionEnded), *h.later(carried, MemberReinstated)])
        deadlines.append(_Deadline("sanction end", carried.event.ends_at, carried, None, ended))
    return deadlines


def _deadlines(h: _History) -> CheckResult:
    # ACAS 4, Chakrabarti: published timescales, and escalation on the record when missed.
    check_id = "deadlines-met-or-escalated"
    if h.first(ReportFiled) is None or h.procedure is None:
        return _not_applicable(check_id, "no report with a pinned procedure, so no deadlines")
    deadlines = [*_acknowledge_deadline(h), *_respond_deadline(h), *_interim_deadlines(h),
                 *_appeal_deadlines(h), *_sanction_end_deadlines(h)]
    faults = _Faults()
    for deadline in deadlines:
        problem = _overdue(deadline, h.clock)
        if problem:
            faults.add(problem, *deadline.culprits)
    as_of = f" as of {_when(h.clock)}" if h.clock else ""
    return faults.result(check_id, f"{len(deadlines)} deadline(s){as_of}: each met, escalated "
                                   "on the record, or not yet due")


# -- who acted -------------------------------------------------------------------------------

# The commands whose permissions govern who may record each event.
_COMMANDS_FOR: dict[str, tuple[str, ...]] = {
    "ReportFiled": ("FileReport",), "ReportAcknowledged": ("AcknowledgeReport",),
    "CaseTriaged": ("TriageCase",), "CaseDismissed": ("TriageCase",),
    "InvestigatorAssigned": ("AssignInvestigator",), "EvidenceAdded": ("AddEvidence",),
    "InterimSuspensionImposed": ("ImposeInterimSuspension",),
    "InterimSuspensionRenewed": ("RenewInterimSuspension",),
    "InterimSuspensionLifted": ("LiftInterimSuspension",),
    "InterimSuspensionLapsed": ("LapseInterimSuspension",), "NoticeIssued": ("IssueNotice",),
    "EvidenceDisclosed": ("DiscloseEvidence",), "ResponseSubmitted": ("SubmitResponse",),
    "DeadlineMissed": ("EscalateMissedDeadline",), "PanelAppointed": ("AppointPanel",),
    "HearingScheduled": ("ScheduleHearing",), "HearingHeld": ("RecordHearingHeld",),
    "DecisionRecorded": ("RecordDecision",), "AppealLodged": ("LodgeAppeal",),
    "AppealWindowClosed": ("CloseAppealWindow",), "AppealPanelAppointed": ("AppointAppealPanel",),
    "AppealDecided": ("DecideAppeal",), "SanctionApplied": ("CarryOutSanction",),
    "SanctionEnded": ("EndSanction",), "MemberReinstated": ("Reinstate", "EndSanction"),
    "CaseClosed": ("CloseCase",),
}


def _allowed_roles(event_type: str) -> frozenset[str]:
    roles: frozenset[str] = frozenset()
    for command in _COMMANDS_FOR.get(event_type, ()):
        roles |= PERMISSIONS.get(command, frozenset())
    return roles


def _outside_case(entry: _Entry[Any]) -> str | None:
    """Why this act came from someone not assigned to the case in that role, or None.

    Case officers are not assigned per case (any case officer may act), so for them only
    the role, kind and party rules apply; investigators and panels are bound to the case.
    """
    actor, state, event = entry.record.actor, entry.before, entry.event
    if actor.role not in ROLES:
        return f"{actor.id!r} acted as {actor.role!r}, a role with no part in case procedure"
    if actor.role not in _allowed_roles(entry.record.event_type):
        return f"{actor.id!r} recorded {entry.record.event_type} as {actor.role}, which that " \
               "role may not do"
    if actor.kind not in ROLE_KINDS.get(actor.role, frozenset({ActorKind.PERSON})):
        return f"a {actor.kind.value} actor {actor.id!r} acted as {actor.role}"
    parties = {event.complainant.person_id, event.respondent.person_id} \
        if isinstance(event, ReportFiled) else state.party_ids
    if actor.role in STAFF_ROLES and actor.id in parties:
        return f"{actor.id!r} is a party to the case but acted as {actor.role}"
    return _binding_problem(entry)


def _binding_problem(entry: _Entry[Any]) -> str | None:
    actor, state, event = entry.record.actor, entry.before, entry.event
    bound: dict[str, frozenset[str]] = {
        INVESTIGATOR: frozenset({state.investigator_id}) if state.investigator_id else frozenset(),
        PANEL_MEMBER: state.panel_ids,
        APPEAL_PANEL_MEMBER: state.appeal_panel_ids,
        RESPONDENT: frozenset({state.respondent.person_id}) if state.respondent else frozenset(),
    }
    if isinstance(event, ReportFiled):
        bound[COMPLAINANT] = bound[DETECTOR] = frozenset({event.complainant.person_id})
    assigned = bound.get(actor.role)
    if assigned is not None and actor.id not in assigned:
        return f"{actor.id!r} acted as {actor.role} but is not the {actor.role} assigned to " \
               "this case"
    return None


def _instructions_on_record(h: _History) -> CheckResult:
    # EHRC 2020: interference came from people outside the case; every such act is surfaced.
    check_id = "instructions-on-record"
    if not h.entries:
        return _not_applicable(check_id, "the case has no readable events")
    faults = _Faults()
    for entry in h.entries:
        problem = _outside_case(entry)
        if problem:
            faults.add(f"{entry.label}: {problem}", entry)
    return faults.result(check_id, "every act was by the party, detector, system or staff "
                                   "member assigned to it in that role")


# -- complainant -----------------------------------------------------------------------------

_OUTCOMES = (CaseDismissed, DecisionRecorded, AppealDecided)


def _complainant_informed(h: _History) -> CheckResult:
    # DSA 16(4)-(5), invariant 11: acknowledge receipt, and say what was done.
    check_id = "complainant-informed"
    report = h.first(ReportFiled)
    if report is None:
        return _not_applicable(check_id, "no report has been filed")
    if report.event.complainant.kind is ComplainantKind.AUTOMATED_DETECTOR:
        return _not_applicable(check_id, "the report came from an automated detector: there is "
                                         "no complainant to inform")
    faults = _Faults()
    acknowledged = h.first(ReportAcknowledged)
    procedure = report.before.procedure or h.procedure
    ack_due = report.at + procedure.deadlines.acknowledge if procedure else None
    if acknowledged is None and ack_due is not None and h.clock is not None and h.clock > ack_due:
        faults.add(f"the report was never acknowledged (due {_when(ack_due)})", report)
    outcomes = sorted((e for kind in _OUTCOMES for e in h.of(kind)), key=lambda e: e.version)
    ack = "the report was acknowledged" if acknowledged else "acknowledgement is not yet due"
    if h.notifications is None:
        return faults.result(check_id, f"{ack}; the notification stream was not supplied, so "
                                       "delivery to the complainant was not verified")
    _check_delivery(h, report, acknowledged, outcomes, faults)
    return faults.result(check_id, f"{ack}, and the complainant was sent the acknowledgement "
                                   f"(if any) and {len(outcomes)} outcome(s)")


def _complainant_causes(h: _History, person_id: str) -> set[str]:
    """Ids of the case events that caused a notification to the complainant."""
    causes = set()
    for note in h.notifications or ():
        payload = note.payload
        to_complainant = payload.get("recipient_role") == COMPLAINANT \
            or payload.get("recipient_subject_id") == person_id
        if note.event_type == "NotificationDispatched" and to_complainant:
            causes.add(str(payload.get("caused_by")))
    return causes


def _check_delivery(h: _History, report: _Entry[ReportFiled],
                    acknowledged: _Entry[ReportAcknowledged] | None,
                    outcomes: list[_Entry[Any]], faults: _Faults) -> None:
    causes = _complainant_causes(h, report.event.complainant.person_id)
    sources = [report] + ([acknowledged] if acknowledged else [])
    if acknowledged is not None and not any(str(s.record.event_id) in causes for s in sources):
        faults.add(f"no acknowledgement was sent to the complainant for {acknowledged.label}",
                   acknowledged)
    for outcome in outcomes:
        # The message may come with the outcome itself or with a later step (e.g. closure).
        told = any(str(e.record.event_id) in causes for e in h.entries
                   if e.version >= outcome.version)
        if not told:
            faults.add(f"the complainant was not told the outcome of {outcome.label}", outcome)


_CHECKS: tuple[Callable[[_History], CheckResult], ...] = (
    _events_readable, _rule_in_force, _human_triage, _interim_governed, _notice_before_hearing,
    _disclosure_before_reliance, _hearing_before_decision, _panel_independence,
    _conflicts_declared, _decision_complete, _sanction_allowed, _appeal_window,
    _reinstatement, _deadlines, _instructions_on_record, _complainant_informed,
)


# -- timeline --------------------------------------------------------------------------------


def _ids(values: Sequence[str]) -> str:
    return ", ".join(values) or "none"


def _report_summary(e: ReportFiled) -> str:
    charges = ", ".join(f"{a.allegation_id}: {a.rule_id}@{e.rule_versions.get(a.allegation_id)}"
                        for a in e.allegations)
    source = "automated detector" if e.automated else e.complainant.kind.value
    return (f"report by {source} {e.complainant.person_id} against {e.respondent.person_id}: "
            f"{charges}; {len(e.evidence)} evidence item(s); procedure {e.policy_id} "
            f"{e.procedure_version}")


def _decision_summary(e: DecisionRecorded) -> str:
    upheld = [f.allegation_id for f in e.findings if f.upheld]
    rejected = [f.allegation_id for f in e.findings if not f.upheld]
    return (f"decision: upheld {_ids(upheld)}, not upheld {_ids(rejected)}; sanction "
            f"{_sanction_text(e.sanction)}; automated detection "
            f"{'yes' if e.automated_detection else 'no'}, decision {e.automated_decision.value};"
            f" appeal by {_when(e.appeal_deadline)}")


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "ReportFiled": _report_summary,
    "ReportAcknowledged": lambda e: "receipt acknowledged to the complainant",
    "CaseTriaged": lambda e: f"triaged for investigation by {e.reviewed_by}",
    "CaseDismissed": lambda e: f"dismissed ({e.dismissal_reason.value}) by {e.reviewed_by}",
    "InvestigatorAssigned": lambda e: f"investigator {e.investigator_id} assigned"
                                      + (f", replacing {e.replaces}" if e.replaces else ""),
    "EvidenceAdded": lambda e: f"evidence added: {_ids([i.evidence_id for i in e.evidence])}",
    "InterimSuspensionImposed": lambda e: f"interim suspension removing "
                                          f"{_rights_text(e.rights_removed)}; review by "
                                          f"{_when(e.review_by)}",
    "InterimSuspensionRenewed": lambda e: f"interim suspension renewed; review by "
                                          f"{_when(e.review_by)}",
    "InterimSuspensionLifted": lambda e: f"interim suspension lifted; restored "
                                         f"{_rights_text(e.rights_restored)}",
    "InterimSuspensionLapsed": lambda e: f"interim suspension lapsed at review date "
                                         f"{_when(e.review_by)}",
    "NoticeIssued": lambda e: "notice of "
                              + ", ".join(f"{a.allegation_id} ({a.rule_id}@{a.policy_version})"
                                          for a in e.allegations)
                              + f"; response due {_when(e.response_due)}",
    "EvidenceDisclosed": lambda e: f"disclosed {_ids(e.evidence_ids)}; withheld "
                                   f"{_ids([w.evidence_id for w in e.withheld])}; "
                                   f"{len(e.redactions)} redaction(s)",
    "ResponseSubmitted": lambda e: "response submitted" + (" late" if e.late else ""),
    "DeadlineMissed": lambda e: f"{e.kind} deadline of {_when(e.due_at)} missed; escalated to "
                                f"{e.escalated_to}",
    "PanelAppointed": lambda e: f"panel appointed: {_ids([m.member_id for m in e.members])}",
    "HearingScheduled": lambda e: f"hearing scheduled for {_when(e.at)}",
    "HearingHeld": lambda e: f"hearing held, attended by {_ids(e.attendees)}; respondent "
                             + ("attended" if e.respondent_attended else "absent"),
    "DecisionRecorded": _decision_summary,
    "AppealLodged": lambda e: "appeal lodged by the respondent",
    "AppealWindowClosed": lambda e: f"appeal window closed ({_when(e.closes_at)})",
    "AppealPanelAppointed": lambda e: "appeal panel appointed: "
                                      + _ids([m.member_id for m in e.members]),
    "AppealDecided": lambda e: f"appeal {e.outcome.value}"
                               + (f"; new sanction {_sanction_text(e.new_sanction)}"
                                  if e.new_sanction else ""),
    "SanctionApplied": lambda e: f"{_sanction_text(e.sanction)} carried out: status {e.status}, "
                                 f"removing {_rights_text(e.rights_removed)}"
                                 + (f" until {_when(e.ends_at)}" if e.ends_at else ""),
    "SanctionEnded": lambda e: f"sanction ended at {_when(e.ends_at)}",
    "MemberReinstated": lambda e: f"reinstated ({e.reason.value}): restored "
                                  f"{_rights_text(e.rights_restored)}; record corrected "
                                  + ("yes" if e.record_corrected else "no"),
    "CaseClosed": lambda e: "case closed",
}


def _timeline_entry(record: RecordedEvent, summary: str, flags: list[str]) -> TimelineEntry:
    return TimelineEntry(
        stream_version=record.stream_version, event_id=record.event_id,
        event_type=record.event_type, actor_id=record.actor.id, actor_role=record.actor.role,
        actor_kind=record.actor.kind, authority=record.authority,
        effective_at=record.effective_at, recorded_at=record.recorded_at, summary=summary,
        flags=flags)


def _timeline(h: _History) -> list[TimelineEntry]:
    rows = [_timeline_entry(record, "unreadable event", [why]) for record, why in h.unreadable]
    for entry in h.entries:
        outside = _outside_case(entry)
        summary = _SUMMARIES[entry.record.event_type]  # every readable type has one
        rows.append(_timeline_entry(entry.record, summary(entry.event),
                                    [f"outside the case: {outside}"] if outside else []))
    return sorted(rows, key=lambda row: row.stream_version)
