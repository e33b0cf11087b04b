"""History checks on intake: readable events and interim suspension over its life.

Whether each interim step was allowed when taken (review date, one at a time, not after
the decision) is judged by the catalogue's transition rules; this check follows each
suspension through to its end: the policy's rights removed, all restored, reviewed in time.
"""

from __future__ import annotations

from typing import Any

from ..case.events import (
    InterimSuspensionImposed,
    InterimSuspensionLapsed,
    InterimSuspensionLifted,
    InterimSuspensionRenewed,
)
from ..policy import INTERIM_STATUS
from .context import Entry, History
from .deadlines import interim_deadlines, overdue
from .model import CheckResult
from .results import Faults, not_applicable, rights_text


def events_readable(h: History) -> CheckResult:
    # An event the audit cannot read is one it cannot vouch for: it might hide a breach.
    if not h.entries and not h.unreadable:
        return not_applicable("events-readable", "the case has no events")
    faults = Faults()
    for record, why in h.unreadable:
        faults.add(f"v{record.stream_version}: {why}", record)
    return faults.result("events-readable", f"all {len(h.entries)} events read as case events")


_INTERIM_EVENTS = (InterimSuspensionImposed, InterimSuspensionRenewed, InterimSuspensionLifted,
                   InterimSuspensionLapsed)


def interim_governed(h: History) -> CheckResult:
    check_id = "interim-suspension-governed"
    if not any(h.of(kind) for kind in _INTERIM_EVENTS):
        return not_applicable(check_id, "no interim suspension was imposed")
    faults = Faults()
    for imposed in h.of(InterimSuspensionImposed):
        procedure = imposed.before.procedure
        if not imposed.event.reasons.strip():
            faults.add(f"{imposed.label} records no reasons", imposed)
        expected = procedure.rights_removed(INTERIM_STATUS) if procedure else None
        if expected is not None and frozenset(imposed.event.rights_removed) != expected:
            faults.add(f"{imposed.label} removes {rights_text(imposed.event.rights_removed)}; "
                       f"the pinned policy removes {rights_text(expected)}", imposed)
    ended_by: list[Entry[Any]] = [*h.of(InterimSuspensionLifted), *h.of(InterimSuspensionLapsed)]
    for ended in ended_by:
        removed = ended.before.interim.rights_removed if ended.before.interim else frozenset()
        missing = removed - set(ended.event.rights_restored)
        if missing:
            faults.add(f"{ended.label} leaves {rights_text(missing)} removed", ended)
    for deadline in interim_deadlines(h):
        problem = overdue(deadline, h.clock)
        if problem:
            faults.add(problem, *deadline.culprits)
    return faults.result(check_id, "each interim suspension had reasons and the policy's "
                                   "rights, restored them when it ended, and was renewed, "
                                   "lifted or lapsed in time")
