"""One case's contribution to the transparency statistics (domain/statistics.py sums them).

``contribution`` is the one definition of what a case adds to each figure: the statistics
folded from the log and the statistics read model (store/projections.py) both
sum these values. A contribution holds counts, kinds, rule ids, the report's date and
durations: no person id, name, case id or free text (invariant 14).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from .case.events import (
    CASE_EVENT_ADAPTER,
    CaseClosed,
    CaseEvent,
    DeadlineMissed,
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
)
from .case.state import CaseState, fold
from .case.values import AppealOutcome
from .envelope import RecordedEvent
from .statistics_models import CaseContribution, RuleCounts
from .streams import case_id_of

__all__ = ["contribution", "stream_contribution"]

_DAY_SECONDS = 86_400.0


def stream_contribution(
    key: str, recorded: Sequence[RecordedEvent]
) -> CaseContribution | None:
    """``contribution`` of one case's stored stream (``key``: stream id or case id)."""
    ordered = sorted(recorded, key=lambda e: e.stream_version)
    events = [CASE_EVENT_ADAPTER.validate_python(e.payload) for e in ordered]
    return contribution(fold(events, CaseState.empty(case_id_of(key) or key)), events)


def contribution(state: CaseState, events: Sequence[CaseEvent]) -> CaseContribution | None:
    """What one case adds to each figure: ``state`` is ``events`` folded. A case without a
    report counts nowhere (None). The one definition of every per-case figure: the log's
    statistics and the statistics read model both sum these."""
    report = state.report
    if report is None:
        return None
    c: Counter[str] = Counter()  # scalar counters by name
    missed: Counter[str] = Counter()
    closed_at = _events(c, missed, events)
    decision = state.decision
    if decision is not None:
        c["decisions"] += 1
        c["upheld" if decision.upheld else "not_upheld"] += 1
        c["automated_detection"] += int(decision.automated_detection)
    if state.appeal is not None:
        c["appeals_lodged"] += 1
    appeal = state.appeal_decision
    if state.automated_report:
        _automated(c, state, appeal is not None and appeal.outcome is AppealOutcome.ALLOWED)
    facts = state.reporting
    c["rr_warnings"] += facts.warning is not None
    c["rr_held"] += facts.hold is not None
    c["rr_held_now"] += facts.held
    c["rr_contested"] += facts.contest is not None
    c["rr_lifted"] += facts.released is not None and facts.released.lifted
    return CaseContribution(
        reported_at=report.effective_at, events=len(events), stage=state.stage.value,
        source=report.complainant.kind.value,
        counts={k: int(v) for k, v in sorted(c.items()) if v},
        rules=_rules(state),
        dismissal=state.dismissal.dismissal_reason.value if state.dismissal else None,
        sanction=decision.sanction.kind.value if decision and decision.sanction else None,
        automated_decision=decision.automated_decision.value if decision else None,
        appeal_outcome=appeal.outcome.value if appeal else None,
        missed=dict(sorted(missed.items())),
        days_to_decision=_days(report.effective_at, decision.effective_at)
        if decision else None,
        days_to_closure=_days(report.effective_at, closed_at) if closed_at is not None else None,
        days_to_appeal_decision=_days(decision.effective_at, appeal.effective_at)
        if decision and appeal else None,
    )


def _rules(state: CaseState) -> dict[str, RuleCounts]:
    assert state.report is not None
    rule_of = {a.allegation_id: a.rule_id for a in state.report.allegations}
    rules: dict[str, Counter[str]] = {}
    for allegation in state.report.allegations:
        rules.setdefault(allegation.rule_id, Counter())["allegations"] += 1
    for finding in state.decision.findings if state.decision else []:
        rule_id = rule_of.get(finding.allegation_id)
        if rule_id is not None:
            rules[rule_id]["upheld" if finding.upheld else "not_upheld"] += 1
    return {rule_id: RuleCounts(**counts) for rule_id, counts in sorted(rules.items())}


def _events(c: Counter[str], missed: Counter[str], events: Sequence[CaseEvent]
            ) -> datetime | None:
    """Counts what the state keeps no history of; returns when the case first closed."""
    closed_at: datetime | None = None
    for event in events:
        match event:
            case InterimSuspensionImposed():
                c["interim_imposed"] += 1
            case InterimSuspensionRenewed():
                c["interim_renewed"] += 1
            case InterimSuspensionLifted():
                c["interim_lifted"] += 1
            case InterimSuspensionLapsed():
                c["interim_lapsed"] += 1
            case DeadlineMissed():
                missed[event.kind] += 1
            case CaseClosed():
                closed_at = closed_at or event.effective_at
    return closed_at


def _automated(c: Counter[str], state: CaseState, reversed_on_appeal: bool) -> None:
    c["automated_reports"] += 1
    corrected = any(x.automation_error for x in state.corrections)
    c["automated_corrected"] += corrected
    if state.dismissal is not None:
        c["automated_concluded"] += 1
        c["automated_dismissed"] += 1
    elif state.decision is not None:
        c["automated_concluded"] += 1
        if not state.decision.upheld:
            c["automated_not_upheld"] += 1
        elif reversed_on_appeal:
            c["automated_reversed"] += 1
        elif corrected:  # upheld and standing, then found an automation error
            c["automated_errors_other"] += 1


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / _DAY_SECONDS
