"""Audit of one case: its full timeline, and a check of each due-process rule over the events.

Pure: no I/O, no clock (the caller passes ``now``).

The audit must judge any history, including ones the deciders would have refused: events
written to the store directly, recorded under rules that have since changed, or simply
corrupted. So every check walks the events themselves and folds them with the total
``evolve``; nothing here calls decide(), which would reject exactly the histories an audit
exists to expose. Each check passes, fails naming the offending events, or says why it
does not apply.

The package is split by concern: ``model`` (public results), ``context`` (the parsed and
folded history), ``results`` (faults and wording), ``deadlines``, ``roles`` (who acted),
the checks by theme (``checks_intake``, ``checks_hearing``, ``checks_outcome``,
``checks_process``) and ``timeline``. This module holds the entry point and the order in
which checks are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ..envelope import RecordedEvent
from .checks_hearing import (
    conflicts_declared,
    disclosure_before_reliance,
    hearing_before_decision,
    notice_before_hearing,
    panel_independence,
)
from .checks_intake import events_readable, human_triage, interim_governed, rule_in_force
from .checks_outcome import appeal_window, decision_complete, reinstatement, sanction_allowed
from .checks_process import complainant_informed, deadlines_met, instructions_on_record
from .context import History, read_history
from .model import TITLES, CaseAudit, CheckResult, CheckStatus, EventRef, TimelineEntry
from .timeline import build_timeline

__all__ = [
    "TITLES",
    "CaseAudit",
    "CheckResult",
    "CheckStatus",
    "EventRef",
    "TimelineEntry",
    "audit_case",
]

_CHECKS: tuple[Callable[[History], CheckResult], ...] = (
    events_readable, rule_in_force, human_triage, interim_governed, notice_before_hearing,
    disclosure_before_reliance, hearing_before_decision, panel_independence,
    conflicts_declared, decision_complete, sanction_allowed, appeal_window,
    reinstatement, deadlines_met, instructions_on_record, complainant_informed,
)


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
    history = read_history(events, notifications, now)
    checks = [check(history) for check in _CHECKS]
    return CaseAudit(
        case_id=history.case_id, as_of=history.clock, timeline=build_timeline(history),
        checks=checks, ok=all(c.status is not CheckStatus.FAIL for c in checks))
