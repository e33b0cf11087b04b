"""The shape of the transparency statistics (domain/statistics.py computes them): counts,
rates, rule ids, kinds, dates and durations only, never personal data (invariant 14)."""

from __future__ import annotations

from datetime import datetime

from .base import Model


class RuleCounts(Model):
    """Allegations citing one rule id, and the first-instance findings on them."""

    allegations: int = 0
    upheld: int = 0
    not_upheld: int = 0


class DismissalCounts(Model):
    total: int
    by_reason: dict[str, int]


class DecisionCounts(Model):
    """First-instance decisions; ``sanctions_by_kind`` is the governing sanction decided."""

    total: int
    upheld: int
    not_upheld: int
    sanctions_by_kind: dict[str, int]


class InterimSuspensionCounts(Model):
    imposed: int
    renewed: int
    lifted: int
    lapsed: int


class AppealCounts(Model):
    lodged: int
    decided: int
    outcomes: dict[str, int]
    reversal_rate: float | None  # (allowed + sanction_varied) / decided; None: none decided


class AutomationCounts(Model):
    """Automation use, and how often a reviewed automated flag did not stand.

    ``automated_error_rate`` is, of the automated-detector reports that were dismissed or
    decided, the share dismissed, not upheld, reversed on appeal, or found by a person
    to be an automation error and corrected on the record (``automated_errors_corrected``).
    """

    reports_from_automated_detectors: int
    decisions_with_automated_detection: int
    automated_decision: dict[str, int]  # decisions by DSA automated_decision value
    automated_reports_concluded: int
    automated_reports_dismissed: int
    automated_reports_not_upheld: int
    automated_reports_reversed_on_appeal: int
    automated_errors_corrected: int = 0
    automated_error_rate: float | None


class RepeatReporterCounts(Model):
    """DSA Art 23 (and Art 24(1)(b): suspensions for manifestly unfounded notices)."""

    warnings: int = 0  # reporters warned, counted on the case whose dismissal warned them
    reports_held: int = 0
    held_now: int = 0  # held at the end of the log
    holds_contested: int = 0
    holds_lifted_on_contest: int = 0


class MedianDays(Model):
    """Medians in days; None when no case in the period has both ends recorded."""

    report_to_decision: float | None
    report_to_closure: float | None
    decision_to_appeal_decision: float | None


class CaseStatistics(Model):
    period_from: datetime | None
    period_to: datetime | None
    generated_from_events: int  # events folded, over the cases counted
    cases: int
    by_stage: dict[str, int]
    by_complainant_kind: dict[str, int]
    by_rule: dict[str, RuleCounts]
    dismissals: DismissalCounts
    decisions: DecisionCounts
    interim_suspensions: InterimSuspensionCounts
    appeals: AppealCounts
    automation: AutomationCounts
    deadlines_missed: dict[str, int]
    median_days: MedianDays
    repeat_reporters: RepeatReporterCounts = RepeatReporterCounts()


class CaseContribution(Model):
    """One case's share of every figure, computed once per case from its fold (the
    ``contribution`` of domain/statistics.py); the statistics of a period are the sum of
    the contributions of the cases reported in it. The statistics read model stores these
    rows, so they hold counts, kinds, rule ids, the report's date and durations only: no
    person id, name, case id or free text (invariant 14)."""

    reported_at: datetime  # the report's effective_at: the period filter reads it
    events: int
    stage: str
    source: str  # the complainant's kind
    counts: dict[str, int] = {}  # scalar counters by name; zeros left out
    rules: dict[str, RuleCounts] = {}
    dismissal: str | None = None  # reason
    sanction: str | None = None  # governing sanction kind decided
    automated_decision: str | None = None
    appeal_outcome: str | None = None
    missed: dict[str, int] = {}  # deadlines missed by kind
    days_to_decision: float | None = None
    days_to_closure: float | None = None
    days_to_appeal_decision: float | None = None
