"""The transparency statistics (``domain.statistics``, what ``dueprocess stats`` prints)
as charts: cases by stage, time per stage, appeal reversal rate, automation error rate,
and overdue work. Figures are read off ``CaseStatistics``, never recounted here."""

from __future__ import annotations

from collections.abc import Mapping

from ..domain.case.values import AppealOutcome
from ..domain.statistics import CaseStatistics
from .charts import Chart, bar_chart, counts, days, rates


def statistics_charts(s: CaseStatistics,
                      overdue_now: Mapping[str, int] | None = None) -> list[Chart]:
    """The charts of the statistics page, in order. ``overdue_now``: open cases whose
    next deadline has passed, by stage (the case list read model's word), if known."""
    a, auto, m = s.appeals, s.automation, s.median_days
    reversals = a.outcomes.get(AppealOutcome.ALLOWED.value, 0) \
        + a.outcomes.get(AppealOutcome.SANCTION_VARIED.value, 0)
    concluded = auto.automated_reports_concluded
    errors = round((auto.automated_error_rate or 0.0) * concluded)
    charts = [
        counts("stats-stage", f"Cases by stage ({s.cases} in all)", list(s.by_stage.items())),
        days("stats-time", "Median days per stage", [
            ("report to decision", m.report_to_decision),
            ("decision to appeal decision", m.decision_to_appeal_decision),
            ("report to closure", m.report_to_closure)]),
        rates("stats-appeals", "Appeal reversal rate", [
            ("reversed (allowed or varied)", a.reversal_rate, reversals, a.decided)]),
        rates("stats-automation", "Automation error rate", [
            ("automated reports that did not stand", auto.automated_error_rate, errors,
             concluded)]),
        counts("stats-missed", "Deadlines missed, by kind", list(s.deadlines_missed.items())),
    ]
    if overdue_now is not None:
        charts.append(counts("stats-overdue", "Open cases overdue now, by stage",
                             sorted(overdue_now.items()), empty="no open case is overdue"))
    return charts


def statistics_svgs(s: CaseStatistics,
                    overdue_now: Mapping[str, int] | None = None) -> list[tuple[Chart, str]]:
    """Each chart with its SVG, for a page to show the figures both ways."""
    return [(chart, bar_chart(chart)) for chart in statistics_charts(s, overdue_now)]
