"""History check on the outcome: an allowed appeal is followed by reinstatement.

What a reinstatement must restore is judged on the step by the catalogue's
``reinstatement-restores-rights``; this check asks whether one happened at all.
"""

from __future__ import annotations

from ..case.events import AppealDecided, MemberReinstated
from ..case.values import AppealOutcome, ReinstatementReason
from .context import History
from .model import CheckResult
from .results import Faults, not_applicable


def reinstatement(h: History) -> CheckResult:
    # DSA Art 20, GDPR Art 16: a reversal restores rights and leaves no warning on file.
    check_id = "reinstatement-after-successful-appeal"
    allowed = [a for a in h.of(AppealDecided) if a.event.outcome is AppealOutcome.ALLOWED]
    if not allowed:
        return not_applicable(check_id, "no appeal was allowed")
    faults = Faults()
    for appeal in allowed:
        following = h.later(appeal, MemberReinstated)
        if not following:
            faults.add(f"{appeal.label} allowed the appeal but no reinstatement was recorded",
                       appeal)
        elif following[0].event.reason is not ReinstatementReason.APPEAL_ALLOWED:
            faults.add(f"{following[0].label} gives reason {following[0].event.reason.value}, "
                       "not the allowed appeal", appeal, following[0])
    return faults.result(check_id, "every allowed appeal was followed by a reinstatement "
                                   "for that reason")
