"""Transparency statistics from the case log, without personal data (invariant 14).

Counts by rule and source, outcomes, reversals, automation use and error rates, missed
deadlines and median times (DSA Arts 15, 24; Santa Clara "numbers"; EHRC: quarterly data).

Each case stream is folded with the domain's one fold (``evolve``) and read off the
resulting ``CaseState`` into the case's ``contribution`` (a small value, computed once per
case); only counters of interim-suspension events and missed deadlines look at the events
themselves, because the state keeps the live measure, not the history. The statistics are
the sum of the contributions, whether the cases are folded from the log here or their
contributions are read from the statistics read model (store/projections.py).

The statistics are a cohort: the cases whose report took effect in the period
(``period_from`` inclusive, ``period_to`` exclusive), with everything the log holds about
them, outcomes recorded after the period included. The output holds only counts, rule
ids, kinds, dates and durations: no person id, name, case id or free text.
"""

from __future__ import annotations

import statistics as _stats
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import get_args

from .case.events import DeadlineMissed
from .case.state import CaseStage
from .case.values import AppealOutcome, AutomatedDecision, ComplainantKind, DismissalReason
from .envelope import RecordedEvent
from .policy import SanctionKind
from .statistics_contribution import contribution, stream_contribution
from .statistics_models import (
    AppealCounts,
    AutomationCounts,
    CaseContribution,
    CaseStatistics,
    DecisionCounts,
    DismissalCounts,
    InterimSuspensionCounts,
    MedianDays,
    RepeatReporterCounts,
    RuleCounts,
)
from .streams import CASE_PREFIX

__all__ = [
    "CASE_STREAM_PREFIX", "AppealCounts", "AutomationCounts", "CaseContribution",
    "CaseStatistics", "DecisionCounts", "DismissalCounts", "InterimSuspensionCounts",
    "MedianDays", "RepeatReporterCounts", "RuleCounts", "StatisticsBuilder", "case_statistics",
    "contribution", "stream_contribution",
]

CASE_STREAM_PREFIX = CASE_PREFIX  # kept for callers; defined in streams.py
_DEADLINE_KINDS: tuple[str, ...] = get_args(DeadlineMissed.model_fields["kind"].annotation)


def case_statistics(
    cases: Mapping[str, Sequence[RecordedEvent]], *,
    period_from: datetime | None = None, period_to: datetime | None = None,
) -> CaseStatistics:
    """Statistics over case streams (keyed by stream id ``case-<id>`` or case id).

    Streams without a report are skipped; a case counts when its report's effective_at
    is in ``[period_from, period_to)`` (an open end when None). Bounds must be aware.
    """
    builder = StatisticsBuilder(period_from=period_from, period_to=period_to)
    for key, recorded in cases.items():
        builder.add(key, recorded)
    return builder.result()


class StatisticsBuilder:
    """``case_statistics`` one case at a time: a reader of the whole log hands each case
    stream (or a case's stored contribution) over and drops it; only counters (and the
    durations the medians need) stay."""

    def __init__(
        self, *, period_from: datetime | None = None, period_to: datetime | None = None
    ) -> None:
        for bound in (period_from, period_to):
            if bound is not None and bound.tzinfo is None:
                raise ValueError("period bounds must carry a time zone")
        self._period = (period_from, period_to)
        self._tally = _Tally()

    def add(self, key: str, recorded: Sequence[RecordedEvent]) -> None:
        """One case's whole stream (``key``: its stream id or case id)."""
        share = stream_contribution(key, recorded)
        if share is not None:
            self.add_contribution(share)

    def add_contribution(self, share: CaseContribution) -> None:
        """One case's contribution; counted when its report is in the period."""
        if _within(share.reported_at, *self._period):
            self._tally.add(share)

    def result(self) -> CaseStatistics:
        return self._tally.result(*self._period)


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)


def _median(values: list[float]) -> float | None:
    return round(_stats.median(values), 2) if values else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _counts(keys: Iterable[str], counter: Counter[str]) -> dict[str, int]:
    """Every known key (zero included, for period-on-period comparison), then any other."""
    known = {key: counter.get(key, 0) for key in keys}
    return known | {k: v for k, v in sorted(counter.items()) if k not in known}


class _Tally:
    """The sum of the contributions of the cases counted."""

    def __init__(self) -> None:
        self.cases = 0
        self.events = 0
        self.c: Counter[str] = Counter()  # scalar counters by name
        self.stage: Counter[str] = Counter()
        self.source: Counter[str] = Counter()
        self.rules: dict[str, Counter[str]] = {}
        self.dismissal: Counter[str] = Counter()
        self.sanction: Counter[str] = Counter()
        self.appeal: Counter[str] = Counter()
        self.automated_decision: Counter[str] = Counter()
        self.missed: Counter[str] = Counter()
        self.to_decision: list[float] = []
        self.to_closure: list[float] = []
        self.to_appeal_decision: list[float] = []

    def add(self, share: CaseContribution) -> None:
        self.cases += 1
        self.events += share.events
        # Plain loops: Counter.update's general path is most of the sum's time at 10k cases.
        for name, n in share.counts.items():
            self.c[name] += n
        self.stage[share.stage] += 1
        self.source[share.source] += 1
        for rule_id, counts in share.rules.items():
            rule = self.rules.setdefault(rule_id, Counter())
            rule["allegations"] += counts.allegations
            rule["upheld"] += counts.upheld
            rule["not_upheld"] += counts.not_upheld
        for missed, n in share.missed.items():
            self.missed[missed] += n
        for counter, kind in ((self.dismissal, share.dismissal),
                              (self.sanction, share.sanction),
                              (self.automated_decision, share.automated_decision),
                              (self.appeal, share.appeal_outcome)):
            if kind is not None:
                counter[kind] += 1
        for values, days in ((self.to_decision, share.days_to_decision),
                             (self.to_closure, share.days_to_closure),
                             (self.to_appeal_decision, share.days_to_appeal_decision)):
            if days is not None:
                values.append(days)

    def result(self, start: datetime | None, end: datetime | None) -> CaseStatistics:
        c = self.c
        decided_appeals = sum(self.appeal.values())
        reversals = self.appeal[AppealOutcome.ALLOWED.value] \
            + self.appeal[AppealOutcome.SANCTION_VARIED.value]
        automated_errors = (c["automated_dismissed"] + c["automated_not_upheld"]
                            + c["automated_reversed"] + c["automated_errors_other"])
        return CaseStatistics(
            period_from=start, period_to=end, generated_from_events=self.events,
            cases=self.cases,
            by_stage=_counts([s.value for s in CaseStage], self.stage),
            by_complainant_kind=_counts([k.value for k in ComplainantKind], self.source),
            by_rule={rule_id: RuleCounts(**counts)
                     for rule_id, counts in sorted(self.rules.items())},
            dismissals=DismissalCounts(
                total=sum(self.dismissal.values()),
                by_reason=_counts([r.value for r in DismissalReason], self.dismissal)),
            decisions=DecisionCounts(
                total=c["decisions"], upheld=c["upheld"], not_upheld=c["not_upheld"],
                sanctions_by_kind=_counts([k.value for k in SanctionKind], self.sanction)),
            interim_suspensions=InterimSuspensionCounts(
                imposed=c["interim_imposed"], renewed=c["interim_renewed"],
                lifted=c["interim_lifted"], lapsed=c["interim_lapsed"]),
            appeals=AppealCounts(
                lodged=c["appeals_lodged"], decided=decided_appeals,
                outcomes=_counts([o.value for o in AppealOutcome], self.appeal),
                reversal_rate=_rate(reversals, decided_appeals)),
            automation=AutomationCounts(
                reports_from_automated_detectors=c["automated_reports"],
                decisions_with_automated_detection=c["automated_detection"],
                automated_decision=_counts([a.value for a in AutomatedDecision],
                                           self.automated_decision),
                automated_reports_concluded=c["automated_concluded"],
                automated_reports_dismissed=c["automated_dismissed"],
                automated_reports_not_upheld=c["automated_not_upheld"],
                automated_reports_reversed_on_appeal=c["automated_reversed"],
                automated_errors_corrected=c["automated_corrected"],
                automated_error_rate=_rate(automated_errors, c["automated_concluded"])),
            deadlines_missed=_counts(_DEADLINE_KINDS, self.missed),
            median_days=MedianDays(
                report_to_decision=_median(self.to_decision),
                report_to_closure=_median(self.to_closure),
                decision_to_appeal_decision=_median(self.to_appeal_decision)),
            repeat_reporters=RepeatReporterCounts(
                warnings=c["rr_warnings"], reports_held=c["rr_held"], held_now=c["rr_held_now"],
                holds_contested=c["rr_contested"], holds_lifted_on_contest=c["rr_lifted"]),
        )
