"""Reports over the whole log: `stats` (transparency statistics, no personal data) and
`cases` (the case list read model)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..domain.case import CaseStage
from ..domain.statistics import CaseStatistics
from ..services.case_list import overdue_sql
from ..services.statistics import AGE_BANDS, ageing_by_stage, projected_statistics
from ..settings import ConfigError, Settings
from ..store.errors import stored_data
from ..store.projection_runner import projection_lags
from .audit import parse_when
from .common import EXTENSIONS, command, emit
from .connect import connect_pool

__all__ = ["ageing_text", "stats_text"]

_LAG_CAP = 10_000  # counting further would cost more than the statistics themselves


@command("cases")
async def _cases(args: argparse.Namespace, settings: Settings) -> int:
    async with connect_pool(settings) as pool:
        rows = await pool.fetch(
            # Overdue is judged at read time (the projection holds only what the events
            # say): a deadline has passed and is still outstanding, escalated or not.
            f"""SELECT case_id, stage, respondent_id, next_deadline_kind, next_deadline_at,
                      {overdue_sql("now()")} AS overdue, overdue_since, held_until,
                      opened_at, version, stage_entered_at,
                      -- The age of the current stage, in whole days, at read time too.
                      floor(extract(epoch FROM now() - stage_entered_at) / 86400)::int
                          AS stage_age_days
                 FROM case_list
                WHERE ($1::text IS NULL OR stage = $1)
                  AND (NOT $2::boolean OR {overdue_sql("now()")})
                ORDER BY opened_at DESC NULLS LAST""",
            args.stage, args.overdue,
        )
    docs = [dict(r) for r in rows]
    emit(args, docs, "\n".join(
        f"{r['case_id']}  {r['stage']:20} respondent={r['respondent_id']} next="
        f"{r['next_deadline_kind'] or '-'}@{r['next_deadline_at'] or '-'}"
        f" in-stage={_age(r['stage_age_days'])}"
        + (f" held-until={r['held_until']}" if r["held_until"] else "")
        + ("  OVERDUE" if r["overdue"] else "") for r in rows)
        or ("no overdue cases" if args.overdue else
            "no cases (is a worker running? `dueprocess projections catch-up` fills this)"))
    return 0


def _age(days: int | None) -> str:
    return "-" if days is None else f"{days}d"


def _period_end(text: str | None) -> datetime | None:
    """--to: a bare date includes that whole day; a date-time is the exclusive end."""
    end = parse_when(text, "--to")
    if text is not None and end is not None:
        try:
            date.fromisoformat(text)
        except ValueError:
            return end
        return end + timedelta(days=1)
    return end


def _nonzero(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"


def _share(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def stats_text(s: CaseStatistics) -> str:
    period = (f"{s.period_from:%Y-%m-%d %H:%M}" if s.period_from else "start") + " to " \
        + (f"{s.period_to:%Y-%m-%d %H:%M} (exclusive)" if s.period_to else "now")
    d, a, auto, m = s.decisions, s.appeals, s.automation, s.median_days
    i = s.interim_suspensions
    rules = "; ".join(f"{rule} {c.allegations} ({c.upheld} upheld, {c.not_upheld} not)"
                      for rule, c in s.by_rule.items()) or "none"
    return "\n".join([
        f"{s.cases} case(s) reported {period}, from {s.generated_from_events} events",
        f"  stage:       {_nonzero(s.by_stage)}",
        f"  source:      {_nonzero(s.by_complainant_kind)}",
        f"  rules cited: {rules}",
        f"  dismissed:   {s.dismissals.total} ({_nonzero(s.dismissals.by_reason)})",
        f"  decisions:   {d.total} ({d.upheld} upheld, {d.not_upheld} not upheld); "
        f"sanctions: {_nonzero(d.sanctions_by_kind)}",
        f"  interim suspensions: {i.imposed} imposed, {i.renewed} renewed, "
        f"{i.lifted} lifted, {i.lapsed} lapsed",
        f"  appeals:     {a.lodged} lodged, {a.decided} decided ({_nonzero(a.outcomes)}); "
        f"reversal rate {_share(a.reversal_rate)}",
        f"  automation:  {auto.reports_from_automated_detectors} detector report(s), "
        f"{auto.decisions_with_automated_detection} decision(s) with automated detection, "
        f"error rate {_share(auto.automated_error_rate)} "
        f"({auto.automated_errors_corrected} corrected as automation errors)",
        f"               automated decision: {_nonzero(auto.automated_decision)}",
        f"  deadlines missed: {_nonzero(s.deadlines_missed)}",
        f"  median days: report->decision {_days(m.report_to_decision)}, "
        f"report->closure {_days(m.report_to_closure)}, "
        f"decision->appeal decision {_days(m.decision_to_appeal_decision)}",
        f"  repeat reporters: {s.repeat_reporters.warnings} warned, "
        f"{s.repeat_reporters.reports_held} report(s) held ({s.repeat_reporters.held_now} now), "
        f"{s.repeat_reporters.holds_contested} contested, "
        f"{s.repeat_reporters.holds_lifted_on_contest} lifted on contest",
    ])


def ageing_text(ageing: Mapping[str, Mapping[str, int]]) -> str:
    """Open cases by stage and days in it, as under 7 / 7-28 / over 28 (/ unknown)."""
    def bands(counts: Mapping[str, int]) -> str:
        shown = "/".join(str(counts[b]) for b in AGE_BANDS[:3])
        return shown + (f" (+{counts['unknown']} unknown)" if counts.get("unknown") else "")
    return "  backlog ageing (open cases by days in stage, <7/7-28/>28): " + (
        "; ".join(f"{stage} {bands(c)}" for stage, c in ageing.items()) or "none")


@command("stats")
async def _stats(args: argparse.Namespace, settings: Settings) -> int:
    start, end = parse_when(args.period_from, "--from"), _period_end(args.period_to)
    if start is not None and end is not None and start >= end:
        raise ConfigError("--from must be before --to")
    async with connect_pool(settings) as pool:
        with stored_data("the statistics read model (case_statistics)"):
            stats = await projected_statistics(pool, period_from=start, period_to=end)
        # Backlog ageing is about the open cases now, whatever the reporting period.
        ageing = await ageing_by_stage(pool, datetime.now(UTC))
        async with pool.acquire() as conn:
            [lag] = await projection_lags(conn, ["case_statistics"], cap=_LAG_CAP)
    emit(args, {**stats.model_dump(mode="json"), "backlog_ageing": ageing},
         stats_text(stats) + "\n" + ageing_text(ageing))
    if behind := int(lag["behind"]):
        # Said on stderr so the figures (and --json) stay as they are.
        print(f"dueprocess: the statistics read model is {behind:,}"
              f"{'+' if behind >= _LAG_CAP else ''} event(s) behind the log; a running worker"
              " or `dueprocess projections catch-up` brings it up to date", file=sys.stderr)
    return 0


def _extend(sub: Any, add: Any) -> None:
    cases = add("cases", "list cases with their stage and next deadline")
    cases.add_argument("--stage", choices=[s.value for s in CaseStage], metavar="STAGE",
                       help="only cases at this stage: " + ", ".join(s.value for s in CaseStage))
    cases.add_argument("--overdue", action="store_true",
                       help="only cases whose next deadline has passed")
    stats = add("stats", "transparency statistics (from the case_statistics read model, "
                "which workers keep current), without personal data")
    stats.add_argument("--from", dest="period_from", metavar="DATE",
                       help="count cases reported on or after this ISO date or date-time")
    stats.add_argument("--to", dest="period_to", metavar="DATE",
                       help="... and before this date-time (a bare date counts that whole day)")


EXTENSIONS.append(_extend)
