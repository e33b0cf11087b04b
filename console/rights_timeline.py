"""A member's rights over time, read from the one standing computation.

The picture is a step function: standing (``domain.membership.standing``) is asked at
every instant its answer can change (each recorded fact, each measure's start and end,
each policy version's first and last day) and holds until the next one. Nothing here
folds events or applies a rule: between two such instants the answer cannot change, so
the spans are exactly what ``standing`` would say at any time inside them (tested).

The measures (interim suspensions, sanctions, voided ones included) come from the case
state's own measure history through ``measures_of``, as standing reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..domain.envelope import RecordedEvent
from ..domain.membership.history import MeasureView, known, measures_of, parse_member
from ..domain.membership.member import MemberRejoined, day_start
from ..domain.membership.standing import standing
from ..domain.policy import PolicyDocument, Right
from ..domain.streams import case_id_of, member_stream


@dataclass(frozen=True)
class Span:
    """A period of unchanged standing: ``start`` inclusive, ``end`` exclusive."""

    start: datetime
    end: datetime
    status: str
    rights: tuple[Right, ...]  # held
    rights_removed: tuple[Right, ...]


@dataclass(frozen=True)
class MeasureBar:
    """One interim suspension or sanction on the record, as the picture draws it."""

    case_id: str
    status: str
    interim: bool
    start: datetime
    end: datetime | None  # exclusive; None: still in effect at the picture's end
    rights: tuple[Right, ...]  # removed while in effect
    voided: bool
    voided_on: datetime | None  # when the appeal that voided it took effect
    varied_from: str | None  # the sanction it replaced on appeal, e.g. "expulsion"

    @property
    def label(self) -> str:
        return "interim suspension" if self.interim else self.status.replace("_", " ")


@dataclass(frozen=True)
class RightsPicture:
    member_id: str
    start: datetime
    end: datetime
    as_known_on: datetime | None
    spans: tuple[Span, ...]
    measures: tuple[MeasureBar, ...]


def rights_over_time(member_id: str, events: Sequence[RecordedEvent],
                     policy: PolicyDocument, until: datetime,
                     as_known_on: datetime | None = None,
                     since: datetime | None = None) -> RightsPicture:
    """The member's standing from ``since`` (default: the first recorded fact) to
    ``until`` (exclusive), as known on ``as_known_on`` (None: everything recorded)."""
    if until.tzinfo is None or (since is not None and since.tzinfo is None):
        raise ValueError("since and until must carry a time zone")
    records = known(events, as_known_on)
    own = member_stream(member_id)
    readmissions = [c.at for c in (parse_member(r) for r in records if r.stream_id == own)
                    if c is not None and isinstance(c.event, MemberRejoined)]
    measures = measures_of(member_id, [r for r in records if r.stream_id != own])
    changes = _changes(records, measures, readmissions, policy)
    first = min((r.effective_at.astimezone(UTC) for r in records), default=until)
    start = min(since or first, until)
    points = sorted({start, *(c for c in changes if start < c < until)})
    spans = [] if start >= until else _spans(member_id, events, policy, points, until,
                                             as_known_on)
    bars = tuple(_bar(m, readmissions) for m in measures if m.start < until)
    return RightsPicture(member_id=member_id, start=start, end=until,
                         as_known_on=as_known_on, spans=tuple(spans),
                         measures=tuple(sorted(bars, key=lambda b: (b.start, b.case_id))))


def _changes(records: Sequence[RecordedEvent], measures: Sequence[MeasureView],
             readmissions: Sequence[datetime], policy: PolicyDocument) -> set[datetime]:
    """Every instant at which standing's answer may change."""
    found = {r.effective_at for r in records}
    for m in measures:
        end = m.end_by(readmissions)
        found |= {m.start, *([end] if end is not None else [])}
    for version in policy.versions:
        found.add(day_start(version.effective_from))
        if version.effective_to is not None:
            found.add(day_start(version.effective_to + timedelta(days=1)))
    return {at.astimezone(UTC) for at in found}


def _spans(member_id: str, events: Sequence[RecordedEvent], policy: PolicyDocument,
           points: list[datetime], until: datetime,
           as_known_on: datetime | None) -> list[Span]:
    spans: list[Span] = []
    for at, end in zip(points, [*points[1:], until], strict=True):
        answer = standing(member_id, events, policy, at, as_known_on)
        span = Span(start=at, end=end, status=answer.status, rights=tuple(answer.rights),
                    rights_removed=tuple(answer.rights_removed))
        last = spans[-1] if spans else None
        if last is not None and (last.status, last.rights) == (span.status, span.rights):
            spans[-1] = Span(start=last.start, end=end, status=last.status,
                             rights=last.rights, rights_removed=last.rights_removed)
        else:
            spans.append(span)
    return spans


def _bar(m: MeasureView, readmissions: Sequence[datetime]) -> MeasureBar:
    appeal = m.cite(m.fact.appeal)
    varied = m.fact.varied_from
    return MeasureBar(
        case_id=case_id_of(m.source.record.stream_id) or m.source.record.stream_id,
        status=m.status, interim=m.fact.interim, start=m.start, end=m.end_by(readmissions),
        rights=tuple(r for r in Right if r in m.rights), voided=m.voided,
        voided_on=appeal.at if m.voided and appeal is not None else None,
        varied_from=varied.kind.value if varied is not None else None)
