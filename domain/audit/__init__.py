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
``verdicts`` (each transition rule of the catalogue asked of every recorded step: the
same predicates decide() asks), the history checks by theme (``checks_intake``,
``checks_outcome``, ``checks_process``), ``evidence`` (provenance and rulings) and
``timeline``. This module holds the entry point and the order in
which checks are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ..envelope import RecordedEvent
from .checks_intake import events_readable, interim_governed
from .checks_outcome import reinstatement
from .checks_process import complainant_informed, deadlines_met, instructions_on_record
from .collection import data_collection_notice
from .contacts import contact_rows, outside_contacts
from .context import History, read_history
from .evidence import evidence_rows, with_items
from .model import (
    TITLES,
    CaseAudit,
    CheckResult,
    CheckStatus,
    ContactRow,
    EventRef,
    EvidenceRow,
    TimelineEntry,
)
from .timeline import build_timeline
from .verdicts import transition_verdicts

__all__ = [
    "TITLES",
    "CaseAudit",
    "CheckResult",
    "CheckStatus",
    "ContactRow",
    "EventRef",
    "EvidenceRow",
    "TimelineEntry",
    "audit_case",
]

# Checks judged over the whole history; the transition rules come from the catalogue.
_HISTORY_CHECKS: tuple[Callable[[History], CheckResult], ...] = (
    interim_governed, reinstatement, deadlines_met, instructions_on_record,
    complainant_informed, data_collection_notice, outside_contacts,
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
    rows = evidence_rows(history)
    checks = [events_readable(history)]
    for verdict in transition_verdicts(history):
        admissibility = verdict.check_id == "evidence-admissibility"
        checks.append(with_items(verdict, rows) if admissibility else verdict)
    checks += [check(history) for check in _HISTORY_CHECKS]
    return CaseAudit(
        case_id=history.case_id, as_of=history.clock, timeline=build_timeline(history),
        checks=checks, evidence=rows, contacts=contact_rows(history),
        ok=all(c.status is not CheckStatus.FAIL for c in checks))
