"""A member's standing, bitemporally: one answer for live queries, replay and audit.

Two times: ``effective_at`` (valid time: when a fact held in the world) and
``recorded_at`` (knowledge time: when the organisation learned it). ``standing`` answers
"what was this member's standing *as of* a date, *as known on* another date":

1. keep the events known by ``as_known_on`` (what was known then): by default an
   imported event counts from the time its source asserts the organisation knew it,
   every other event from ``recorded_at``; ``knowledge="recorded"`` uses ``recorded_at``
   for all (what dueprocess itself had recorded). The answer says which it used;
2. fold each case with the case's one fold (``evolve``) and read its measures from the
   folded state: an allowed appeal voids the decision from the start, a varied sanction
   replaces the original from its original date (invariant 9: a reversal restores rights
   and continuity as of the original dates);
3. evaluate at valid time ``as_of`` using ``effective_at``.

Every answer carries the events that produced it, voided ones included, as reasons.

Rights: a measure removes the rights written into its event, or where no event says
(a renewal with no recorded imposition, a varied sanction) those of the case's pinned
procedure: later rulebook edits never change what was imposed. Membership statuses come
from no case and take their rights from the policy version in force on the as-of date.

Pure: no I/O and no clock; ``as_known_on=None`` means "everything recorded".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from ..base import Model
from ..envelope import RecordedEvent
from ..policy import PolicyDocument, Right
from ..streams import member_stream
from .explain import measure_reasons, member_text
from .history import (
    CaseView,
    Cited,
    Knowledge,
    MeasureView,
    Reason,
    known,
    measures_of,
    parse_member,
)
from .member import MemberEvent, MemberRejoined, MemberState, evolve_member
from .statuses import (
    ALL_RIGHTS,
    EXPELLED,
    NON_MEMBER_STATUSES,
    STATUS_PRECEDENCE,
    SUSPENDED,
    WARNED,
    base_removed,
    rank,
    version_on,
)

__all__ = ["ALL_RIGHTS", "EXPELLED", "NON_MEMBER_STATUSES", "STATUS_PRECEDENCE", "SUSPENDED",
           "WARNED", "Knowledge", "Reason", "SanctionOnRecord", "Standing", "standing"]


class SanctionOnRecord(Model):
    """A sanction on the member's record at ``as_of``, and whether it still counts: one
    past the period its rule sets (ACAS 19-20) no longer counts, in standing or in what
    a later panel weighs."""

    case_id: str
    kind: str
    imposed_at: datetime
    current_until: datetime | None  # None: current indefinitely
    current: bool


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
    # The knowledge time as_known_on was judged by, and whether any imported event (with
    # its source's asserted knowledge time) went into the answer.
    knowledge: Knowledge = "asserted"
    uses_imported: bool = False
    sanctions: list[SanctionOnRecord] = []


def standing(member_id: str, events: Sequence[RecordedEvent], policy: PolicyDocument,
             as_of: datetime, as_known_on: datetime | None = None,
             knowledge: Knowledge = "asserted",
             views: Sequence[CaseView] | None = None) -> Standing:
    """Standing of ``member_id`` at valid time ``as_of`` as known on ``as_known_on``.

    ``events``: the member stream plus the case streams where the member is respondent,
    in any order (the caller collects them; cases about someone else are skipped).
    ``views``: the case streams among ``events`` already folded (``case_views``), for a
    caller that keeps them as the streams grow; only with ``as_known_on`` None.
    """
    if as_of.tzinfo is None or (as_known_on is not None and as_known_on.tzinfo is None):
        raise ValueError("as_of and as_known_on must carry a time zone")
    own = member_stream(member_id)
    records = known(events, as_known_on, knowledge)
    facts = [c for c in (parse_member(r) for r in records if r.stream_id == own)
             if c is not None]
    folded = [c for c in sorted(facts, key=lambda c: (c.at, c.order)) if c.at <= as_of]
    member = MemberState.empty(member_id)
    for cited in folded:
        member = evolve_member(member, cited.event)
    readmissions = [c.at for c in folded if isinstance(c.event, MemberRejoined)]
    if views is not None and as_known_on is not None:
        raise ValueError("views: folded cases are what is known now, not as_known_on")
    measures = measures_of(member_id, [r for r in records if r.stream_id != own], views)
    answer = _answer(member_id, member, folded, measures, readmissions, policy, as_of,
                     as_known_on)
    return answer.model_copy(update={
        "knowledge": knowledge,
        "uses_imported": any(r.imported_from is not None for r in answer.reasons)})


def _answer(member_id: str, member: MemberState, folded: list[Cited[MemberEvent]],
            measures: list[MeasureView], readmissions: list[datetime], policy: PolicyDocument,
            as_of: datetime, as_known_on: datetime | None) -> Standing:
    version = version_on(policy, as_of.date())
    active = [m for m in measures if m.in_effect(as_of, readmissions)]
    statuses = [member.status.value, *(m.status for m in active)]
    removed = base_removed(member.status.value, version).union(*(m.rights for m in active))
    status = min(statuses, key=rank)
    continuous = None if status in NON_MEMBER_STATUSES else _continuity(
        member, measures, readmissions, as_of)
    reasons = [*(c.reason(member_text(c)) for c in folded),
               *(r for m in measures if m.start <= as_of
                 for r in measure_reasons(m, as_of, readmissions))]
    return Standing(
        member_id=member_id, status=status,
        rights=[r for r in ALL_RIGHTS if r not in removed],
        rights_removed=[r for r in ALL_RIGHTS if r in removed],
        membership_number=member.membership_number, continuous_since=continuous,
        as_of=as_of, as_known_on=as_known_on, reasons=_ordered(reasons),
        sanctions=_on_record(measures, as_of))


def _on_record(measures: list[MeasureView], as_of: datetime) -> list[SanctionOnRecord]:
    """Sanctions that took effect by ``as_of`` and were not voided, current or expired."""
    return [SanctionOnRecord(case_id=m.case.state.case_id, kind=m.fact.sanction.kind.value,
                             imposed_at=m.start, current_until=m.fact.current_until,
                             current=not m.expired(as_of))
            for m in measures
            if m.fact.sanction is not None and not m.voided and m.start <= as_of]


def _continuity(member: MemberState, measures: list[MeasureView],
                readmissions: list[datetime], as_of: datetime) -> date | None:
    """Suspensions never break continuity and voided measures never happened; only an
    expulsion that stands does, and continuity then restarts when it ends."""
    since = member.current_continuity
    for m in measures:
        if since is None or m.voided or m.status != EXPELLED or m.start > as_of:
            continue
        end = m.end_by(readmissions)
        if end is None or end > as_of:
            return None
        if not m.fact.continuity_preserved:
            since = max(since, end.date())
    return since


def _ordered(reasons: list[Reason]) -> list[Reason]:
    unique = {r.event_id: r for r in reasons}  # an event explained once, last word wins
    return sorted(unique.values(),
                  key=lambda r: (r.effective_at, r.recorded_at, r.stream_id, str(r.event_id)))
