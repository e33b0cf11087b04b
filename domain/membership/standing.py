"""A member's standing, bitemporally: one pure fold for live queries, replay and audit.

Two times: ``effective_at`` (valid time: when a fact held in the world) and
``recorded_at`` (knowledge time: when the organisation learned it). ``standing`` answers
"what was this member's standing *as of* a date, *as known on* another date":

1. keep the events recorded by ``as_known_on`` (what was known then);
2. apply the known appeal outcomes: an allowed appeal voids the decision from the start,
   a varied sanction replaces the original from its original date (invariant 9: a
   reversal restores rights and continuity as of the original dates);
3. evaluate at valid time ``as_of`` using ``effective_at``.

Every answer carries the events that produced it, voided ones included, as reasons.

Rights: a measure removes the rights written into its event (decided under the case's
pinned policy; later rulebook edits never change what was imposed). Statuses no event
specifies (membership statuses, a varied sanction) take their rights from the policy
version in force on the as-of date.

Pure: no I/O and no clock; ``as_known_on=None`` means "everything recorded".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from ..base import Model
from ..case.events import (
    CASE_EVENT_ADAPTER,
    AppealDecided,
    CaseEvent,
    DecisionRecorded,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
    MemberReinstated,
    ReportFiled,
    SanctionApplied,
    SanctionEnded,
)
from ..case.values import AppealOutcome, ReinstatementReason, Sanction
from ..envelope import RecordedEvent
from ..policy import (
    INTERIM_STATUS,
    SANCTION_STATUS,
    PolicyDocument,
    PolicyVersion,
    Right,
    SanctionKind,
)
from .member import (
    MEMBER_EVENT_ADAPTER,
    MEMBER_EVENT_TYPES,
    MemberEvent,
    MemberJoined,
    MemberRejoined,
    MemberResigned,
    MembershipLapsed,
    MembershipRenewed,
    MembershipStatus,
    MemberState,
    evolve_member,
    member_stream,
)

EXPELLED = SANCTION_STATUS[SanctionKind.EXPULSION]
SUSPENDED = SANCTION_STATUS[SanctionKind.SUSPENSION]
WARNED = SANCTION_STATUS[SanctionKind.WARNING]
ALL_RIGHTS: tuple[Right, ...] = tuple(Right)

# Which status is shown when several conditions hold at once, most telling first.
# Unknown statuses (a policy may add its own) rank with "warned". A measure outranks
# "not_a_member" because a respondent's membership facts may not have been imported yet;
# rights are unaffected (they are the union of everything that removes them).
STATUS_PRECEDENCE: tuple[str, ...] = (
    EXPELLED,
    MembershipStatus.RESIGNED.value,
    MembershipStatus.LAPSED.value,
    SUSPENDED,
    INTERIM_STATUS,
    WARNED,
    MembershipStatus.NOT_A_MEMBER.value,
    MembershipStatus.MEMBER.value,
)
NON_MEMBER_STATUSES = frozenset({
    EXPELLED, MembershipStatus.NOT_A_MEMBER.value, MembershipStatus.RESIGNED.value,
    MembershipStatus.LAPSED.value,
})

# Case event types the fold reads; the rest of a case stream is ignored unparsed.
_CASE_TYPES = frozenset({
    "ReportFiled", "InterimSuspensionImposed", "InterimSuspensionRenewed",
    "InterimSuspensionLifted", "InterimSuspensionLapsed", "DecisionRecorded", "AppealDecided",
    "SanctionApplied", "SanctionEnded", "MemberReinstated",
})


class Reason(Model):
    """One event behind an answer, with what it did to the member's standing."""

    event_id: UUID
    stream_id: str
    event_type: str
    effective_at: datetime
    recorded_at: datetime
    explanation: str


class Standing(Model):
    member_id: str
    status: str
    rights: list[Right]  # held
    rights_removed: list[Right]
    membership_number: str | None
    continuous_since: date | None
    as_of: datetime
    as_known_on: datetime | None
    reasons: list[Reason]


# -- parsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Known:
    """A parsed event with its envelope (for valid/knowledge time and the reason)."""

    record: RecordedEvent
    event: CaseEvent | MemberEvent

    @property
    def at(self) -> datetime:
        return self.record.effective_at

    @property
    def order(self) -> tuple[str, int, str]:
        return self.record.stream_id, self.record.stream_version, str(self.record.event_id)

    def reason(self, explanation: str) -> Reason:
        r = self.record
        return Reason(event_id=r.event_id, stream_id=r.stream_id, event_type=r.event_type,
                      effective_at=r.effective_at, recorded_at=r.recorded_at,
                      explanation=explanation)


def _parse(record: RecordedEvent, member_stream_id: str) -> _Known | None:
    """The domain event, or None for types standing does not use or cannot read:
    an unreadable event must not make a member's standing unanswerable."""
    payload = {**record.payload, "type": record.event_type}
    try:
        if record.stream_id == member_stream_id:
            if record.event_type not in MEMBER_EVENT_TYPES:
                return None
            return _Known(record, MEMBER_EVENT_ADAPTER.validate_python(payload))
        if record.event_type not in _CASE_TYPES:
            return None
        return _Known(record, CASE_EVENT_ADAPTER.validate_python(payload))
    except ValidationError:
        return None


# -- the answer ----------------------------------------------------------------------


def standing(member_id: str, events: Sequence[RecordedEvent], policy: PolicyDocument,
             as_of: datetime, as_known_on: datetime | None = None) -> Standing:
    """Standing of ``member_id`` at valid time ``as_of`` as known on ``as_known_on``.

    ``events``: the member stream plus the case streams where the member is respondent,
    in any order (the caller collects them; cases about someone else are skipped).
    """
    if as_of.tzinfo is None or (as_known_on is not None and as_known_on.tzinfo is None):
        raise ValueError("as_of and as_known_on must carry a time zone")
    own = member_stream(member_id)
    known = [k for k in (_parse(r, own) for r in events) if k is not None
             and (as_known_on is None or k.record.recorded_at <= as_known_on)]
    member_events = sorted((k for k in known if k.record.stream_id == own),
                           key=lambda k: (k.at, k.order))
    folded = [k for k in member_events if k.at <= as_of]
    member = _fold_member(member_id, folded)
    readmissions = [k.at for k in folded if isinstance(k.event, MemberRejoined)]
    measures = _measures(member_id, [k for k in known if k.record.stream_id != own], policy,
                         as_of)
    return _answer(member_id, member, folded, measures, readmissions, policy, as_of,
                   as_known_on)


def _fold_member(member_id: str, folded: Iterable[_Known]) -> MemberState:
    state = MemberState.empty(member_id)
    for known in folded:
        if isinstance(known.event, _MEMBER_EVENT_CLASSES):
            state = evolve_member(state, known.event)
    return state


def _answer(member_id: str, member: MemberState, folded: list[_Known],
            measures: list[_Measure], readmissions: list[datetime], policy: PolicyDocument,
            as_of: datetime, as_known_on: datetime | None) -> Standing:
    version = _version_on(policy, as_of.date())
    active = [m for m in measures if m.in_effect(as_of, readmissions)]
    statuses = [member.status.value, *(m.status for m in active)]
    removed = _base_removed(member.status.value, version).union(*(m.rights for m in active))
    status = min(statuses, key=_rank)
    continuous = None if status in NON_MEMBER_STATUSES else _continuity(
        member, measures, readmissions, as_of)
    reasons = [*(k.reason(_member_text(k)) for k in folded),
               *(r for m in measures if m.start <= as_of for r in m.reasons(as_of, readmissions))]
    return Standing(
        member_id=member_id, status=status,
        rights=[r for r in ALL_RIGHTS if r not in removed],
        rights_removed=[r for r in ALL_RIGHTS if r in removed],
        membership_number=member.membership_number, continuous_since=continuous,
        as_of=as_of, as_known_on=as_known_on, reasons=_ordered(reasons))


def _rank(status: str) -> int:
    if status in STATUS_PRECEDENCE:
        return STATUS_PRECEDENCE.index(status)
    return STATUS_PRECEDENCE.index(WARNED)  # ties with "warned"; min() keeps the first


def _version_on(policy: PolicyDocument, day: date) -> PolicyVersion | None:
    return next((v for v in policy.versions if v.in_force_on(day)), None)


def _base_removed(status: str, version: PolicyVersion | None) -> frozenset[Right]:
    """Rights a membership status removes: the policy's word if it names the status,
    otherwise none for a member and all for anyone who is not one."""
    if version is not None and status in version.statuses:
        return version.rights_removed(status)
    return frozenset() if status == MembershipStatus.MEMBER.value else frozenset(ALL_RIGHTS)


def _continuity(member: MemberState, measures: list[_Measure], readmissions: list[datetime],
                as_of: datetime) -> date | None:
    """Suspensions never break continuity and voided measures never happened; only an
    expulsion that stands does, and continuity then restarts when it ends."""
    since = member.current_continuity
    for m in measures:
        if since is None or m.voided or m.status != EXPELLED or m.start > as_of:
            continue
        end = m.end_by(readmissions)
        if end is None or end > as_of:
            return None
        if not m.continuity_preserved:
            since = max(since, end.date())
    return since


def _ordered(reasons: list[Reason]) -> list[Reason]:
    unique = {r.event_id: r for r in reasons}  # an event explained once, last word wins
    return sorted(unique.values(),
                  key=lambda r: (r.effective_at, r.recorded_at, r.stream_id, str(r.event_id)))


# -- measures from case streams ------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    """One interim suspension or sanction as it stands after known appeals."""

    source: _Known  # InterimSuspensionImposed/Renewed or SanctionApplied
    status: str
    rights: frozenset[Right]
    start: datetime
    end: datetime | None  # exclusive; None: indefinite
    rules: str = ""  # " under R1 (policy 2023.1)": the rules a sanction was decided under
    sanction: Sanction | None = None
    decision: _Known | None = None
    renewals: tuple[_Known, ...] = ()
    ended_by: _Known | None = None
    appeal: _Known | None = None  # the appeal outcome that voided, varied or upheld it
    voided: bool = False
    varied_from: Sanction | None = None

    @property
    def interim(self) -> bool:
        return self.status == INTERIM_STATUS

    @property
    def continuity_preserved(self) -> bool:
        reinstated = self.ended_by.event if self.ended_by is not None else None
        return isinstance(reinstated, MemberReinstated) and reinstated.continuity_preserved

    def end_by(self, readmissions: list[datetime]) -> datetime | None:
        """When it stopped; an expulsion ends only when the member is admitted again."""
        if self.status != EXPELLED:
            return self.end
        later = [at for at in readmissions if at > self.start]
        return min([*later, *([self.end] if self.end else [])], default=None)

    def in_effect(self, as_of: datetime, readmissions: list[datetime]) -> bool:
        end = self.end_by(readmissions)
        return not self.voided and self.start <= as_of and (end is None or as_of < end)

    def reasons(self, as_of: datetime, readmissions: list[datetime]) -> list[Reason]:
        found = [self.source.reason(self._describe() + self._fate(as_of, readmissions))]
        if self.decision is not None:
            found.append(self.decision.reason(self._decision_text()))
        found += [k.reason(_renewal_text(k)) for k in self.renewals if k.at <= as_of]
        if self.ended_by is not None and self.ended_by.at <= as_of:
            found.append(self.ended_by.reason(_ending_text(self.ended_by, self.interim)))
        if self.appeal is not None:
            found.append(self.appeal.reason(_appeal_text(self.appeal)))
        return found

    def _describe(self) -> str:
        if self.interim:
            return (f"interim suspension imposed on {_day(self.start)} (a holding measure, not "
                    f"a sanction; it does not break continuity); {_rights_text(self.rights)}")
        what = _sanction_phrase(self.sanction, self.status)
        return f"{what} {self._basis()}; {_rights_text(self.rights)}"

    def _basis(self) -> str:
        if self.decision is None:
            return "by the case's decision"
        return f"by decision of {_day(self.decision.at)}{self.rules}"

    def _fate(self, as_of: datetime, readmissions: list[datetime]) -> str:
        if self.voided:
            assert self.appeal is not None
            return (f" — voided by {_appeal_name(self.appeal)} on {_day(self.appeal.at)}: it "
                    "never took effect, so rights and continuity stand as of the original dates")
        varied = ""
        if self.varied_from is not None and self.appeal is not None:
            varied = (f"; varied on appeal on {_day(self.appeal.at)} from "
                      f"{_sanction_text(self.varied_from)}, from the original date")
        end = self.end_by(readmissions)
        if self.start > as_of:
            return varied + "; not yet in effect"
        if end is None:
            kept = "; ends membership and continuity" if self.status == EXPELLED \
                else "; does not break continuity"
            return f"{varied}; in effect{kept}"
        tense = "ended" if end <= as_of else "in effect until"
        kept = "; broke continuity" if self.status == EXPELLED else "; does not break continuity"
        return f"{varied}; {tense} {_day(end)}{kept}"

    def _decision_text(self) -> str:
        assert self.decision is not None
        what = _sanction_text(self.varied_from or self.sanction) if self.sanction else "a sanction"
        text = f"decision of {_day(self.decision.at)}{self.rules}: {what}"
        if self.voided and self.appeal is not None:
            return f"{text} — voided by {_appeal_name(self.appeal)} on {_day(self.appeal.at)}"
        return text


@dataclass
class _CaseFold:
    """Working state while reading one case stream in stream order."""

    member_id: str
    version: PolicyVersion | None  # in force on the as-of date: rights of varied sanctions
    report: ReportFiled | None = None
    decision: _Known | None = None
    reversal: _Known | None = None
    interim: _Measure | None = None
    measures: list[_Measure] = field(default_factory=list)

    @property
    def about_someone_else(self) -> bool:
        return self.report is not None and self.report.respondent.person_id != self.member_id

    def close_interim(self, ending: _Known) -> None:
        if self.interim is not None:
            self.measures.append(dataclasses.replace(self.interim, end=ending.at,
                                                     ended_by=ending))
            self.interim = None

    def all_measures(self) -> list[_Measure]:
        return [*self.measures, *([self.interim] if self.interim is not None else [])]


def _measures(member_id: str, case_events: list[_Known], policy: PolicyDocument,
              as_of: datetime) -> list[_Measure]:
    version = _version_on(policy, as_of.date())
    streams: dict[str, list[_Known]] = {}
    for known in sorted(case_events, key=lambda k: k.order):
        streams.setdefault(known.record.stream_id, []).append(known)
    found: list[_Measure] = []
    for items in streams.values():
        fold = _CaseFold(member_id=member_id, version=version)
        for known in items:
            _step(fold, known)
        if not fold.about_someone_else:
            found += fold.all_measures()
    return found


def _step(fold: _CaseFold, known: _Known) -> None:
    event = known.event
    match event:
        case ReportFiled():
            fold.report = event
        case InterimSuspensionImposed():
            fold.close_interim(known)
            fold.interim = _Measure(source=known, status=INTERIM_STATUS,
                                    rights=frozenset(event.rights_removed), start=known.at,
                                    end=None)
        case InterimSuspensionRenewed():
            _renew_interim(fold, known)
        case InterimSuspensionLifted() | InterimSuspensionLapsed():
            fold.close_interim(known)
        case DecisionRecorded():
            fold.close_interim(known)
            fold.decision = known
        case SanctionApplied():
            fold.measures.append(_sanction_measure(fold, known, event))
        case SanctionEnded():
            _end_sanctions(fold, known)
        case MemberReinstated():
            _reinstated(fold, known, event)
        case AppealDecided():
            _appeal(fold, known, event)


def _renew_interim(fold: _CaseFold, known: _Known) -> None:
    if fold.interim is not None:
        fold.interim = dataclasses.replace(fold.interim,
                                           renewals=(*fold.interim.renewals, known))
        return
    # A renewal with no recorded imposition is still a live measure on the record.
    fold.interim = _Measure(source=known, status=INTERIM_STATUS,
                            rights=_status_rights(fold.version, INTERIM_STATUS),
                            start=known.at, end=None)


def _sanction_measure(fold: _CaseFold, known: _Known, event: SanctionApplied) -> _Measure:
    measure = _Measure(source=known, status=event.status, rights=frozenset(event.rights_removed),
                       start=known.at, end=event.ends_at, sanction=event.sanction,
                       decision=fold.decision, rules=_rules(fold))
    if fold.reversal is not None:
        return dataclasses.replace(measure, voided=True, appeal=fold.reversal)
    return measure


def _end_sanctions(fold: _CaseFold, known: _Known) -> None:
    fold.measures = [_ended(m, known) for m in fold.measures]


def _ended(measure: _Measure, ending: _Known) -> _Measure:
    if measure.interim or measure.ended_by is not None or ending.at < measure.start:
        return measure
    end = ending.at if measure.end is None else min(measure.end, ending.at)
    return dataclasses.replace(measure, end=end, ended_by=ending)


def _reinstated(fold: _CaseFold, known: _Known, event: MemberReinstated) -> None:
    fold.close_interim(known)
    if event.reason is ReinstatementReason.APPEAL_ALLOWED:
        _void(fold, known)
    _end_sanctions(fold, known)


def _appeal(fold: _CaseFold, known: _Known, event: AppealDecided) -> None:
    if event.outcome is AppealOutcome.DISMISSED:
        fold.measures = [m if m.interim else dataclasses.replace(m, appeal=known)
                         for m in fold.measures]
    elif event.outcome is AppealOutcome.SANCTION_VARIED and event.new_sanction is not None:
        fold.measures = [_varied(fold, m, known, event.new_sanction) for m in fold.measures]
    else:  # allowed, or "varied" to no sanction at all
        _void(fold, known)


def _void(fold: _CaseFold, known: _Known) -> None:
    if fold.reversal is None:
        fold.reversal = known
    fold.measures = [m if m.interim or m.voided else
                     dataclasses.replace(m, voided=True, appeal=fold.reversal)
                     for m in fold.measures]


def _varied(fold: _CaseFold, measure: _Measure, known: _Known, new: Sanction) -> _Measure:
    """The new sanction runs from the original start, as if decided that way."""
    if measure.interim or measure.voided:
        return measure
    status = SANCTION_STATUS[new.kind]
    end = measure.start + new.term if new.term is not None else None
    ended_by = measure.ended_by
    # A recorded early end (the member was in fact reinstated) stands; otherwise the
    # new term decides when it ends.
    if ended_by is not None and (end is None or ended_by.at < end):
        end = ended_by.at
    else:
        ended_by = None
    return dataclasses.replace(
        measure, status=status, rights=_status_rights(fold.version, status, measure),
        sanction=new, end=end, ended_by=ended_by, appeal=known, varied_from=measure.sanction)


def _status_rights(version: PolicyVersion | None, status: str,
                   fallback: _Measure | None = None) -> frozenset[Right]:
    if version is not None and status in version.statuses:
        return version.rights_removed(status)
    if fallback is not None and fallback.status == status:
        return fallback.rights
    return frozenset() if status == WARNED else frozenset(ALL_RIGHTS)


# -- explanations --------------------------------------------------------------------


def _day(at: datetime) -> str:
    return at.date().isoformat()


def _rights_text(rights: Iterable[Right]) -> str:
    names = [r.value for r in ALL_RIGHTS if r in set(rights)]
    return f"removes {', '.join(names)}" if names else "removes no rights"


def _term_text(term: timedelta) -> str:
    days = term.days
    if days and days % 7 == 0:
        weeks = days // 7
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''}" if days else str(term)


def _sanction_text(sanction: Sanction) -> str:
    if sanction.term is not None:
        return f"{sanction.kind.value} for {_term_text(sanction.term)}"
    return sanction.kind.value


def _sanction_phrase(sanction: Sanction | None, status: str) -> str:
    if sanction is not None and sanction.term is not None:
        return f"{status} for {_term_text(sanction.term)}"
    return status


def _rules(fold: _CaseFold) -> str:
    """' under R1 (policy 2023.1)': the upheld rules, as far as the record says."""
    decision = fold.decision.event if fold.decision is not None else None
    report = fold.report
    if not isinstance(decision, DecisionRecorded) or report is None:
        return ""
    upheld = [f.allegation_id for f in decision.findings if f.upheld]
    by_id = {a.allegation_id: a.rule_id for a in report.allegations}
    cited = [f"{by_id[a]} (policy {report.rule_versions.get(a, '?')})"
             for a in upheld if a in by_id]
    return f" under {', '.join(dict.fromkeys(cited))}" if cited else ""


def _appeal_name(known: _Known) -> str:
    if isinstance(known.event, MemberReinstated):
        return "reinstatement after appeal"
    return "appeal allowed"


def _appeal_text(known: _Known) -> str:
    event = known.event
    day = _day(known.at)
    if isinstance(event, MemberReinstated):
        return (f"reinstated on {day} after an allowed appeal: the decision is void from the "
                "start; rights and continuity restored as of the original dates")
    assert isinstance(event, AppealDecided)
    if event.outcome is AppealOutcome.DISMISSED:
        return f"appeal dismissed on {day}: the sanction stands"
    if event.outcome is AppealOutcome.SANCTION_VARIED and event.new_sanction is not None:
        return (f"appeal decided on {day}: sanction varied to "
                f"{_sanction_text(event.new_sanction)} from the original date")
    return (f"appeal allowed on {day}: the decision is void from the start; rights and "
            "continuity restored as of the original dates")


def _renewal_text(known: _Known) -> str:
    event = known.event
    assert isinstance(event, InterimSuspensionRenewed)
    return (f"interim suspension renewed on {_day(known.at)}, next review by "
            f"{_day(event.review_by)}")


def _ending_text(known: _Known, interim: bool) -> str:
    event, day = known.event, _day(known.at)
    what = "interim suspension" if interim else "sanction"
    texts: dict[type[Any], str] = {
        InterimSuspensionLifted: f"interim suspension lifted on {day}",
        InterimSuspensionLapsed: f"interim suspension lapsed unreviewed on {day}",
        DecisionRecorded: f"decision recorded on {day}: the interim suspension ends",
        SanctionEnded: f"sanction term ended on {day}",
        InterimSuspensionImposed: f"a new interim suspension replaced this one on {day}",
    }
    if isinstance(event, MemberReinstated):
        kept = "continuity preserved" if event.continuity_preserved else "continuity not preserved"
        return f"reinstated on {day}: {what} ends, rights restored; {kept}"
    return texts.get(type(event), f"{what} ended on {day}")


def _member_text(known: _Known) -> str:
    event, day = known.event, _day(known.at)
    match event:
        case MemberJoined():
            return (f"joined on {event.joined_on.isoformat()} with membership number "
                    f"{event.membership_number}: continuous membership from "
                    f"{event.joined_on.isoformat()}")
        case MembershipRenewed():
            return f"membership renewed on {day} until {event.until.isoformat()}"
        case MembershipLapsed():
            return f"membership lapsed on {day}: continuity broken"
        case MemberResigned() if event.in_protest:
            return (f"resigned in protest on {day}: continuity and membership number are "
                    "kept on a rejoin within the policy's window")
        case MemberResigned():
            return f"resigned on {day}: continuity broken"
        case MemberRejoined():
            kept = "continuity kept" if event.continuity_kept else "continuity restarts"
            note = event.continuity_note or (
                f"{kept}: continuous membership since {event.continuous_since.isoformat()}")
            return (f"rejoined on {day} as the same member, number "
                    f"{event.membership_number}; {note}")
    return f"{known.record.event_type} on {day}"


_MEMBER_EVENT_CLASSES = (
    MemberJoined, MembershipRenewed, MembershipLapsed, MemberResigned, MemberRejoined,
)
