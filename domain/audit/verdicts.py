"""The audit's verdict on each transition rule: the same predicate decide() asks, asked of
every recorded step against the case as it stood before it.

``now`` for a recorded step is when the organisation knew of it (``known_at``): for a
step recorded here, when the store learned of it (``recorded_at``), so a record may not
describe what had not yet happened when it was written; for an imported step, the time
the source asserts it was known, the time the importer judged it at (domain/imports).
"""

from __future__ import annotations

from ..rules.catalogue import TRANSITION_RULES
from ..rules.model import ProcessRule, Transition
from .context import History
from .model import CheckResult
from .results import Faults, not_applicable

_SHOWN = 8  # judged events named in a pass, before "and N more"


def _judged_text(labels: list[str]) -> str:
    shown = ", ".join(labels[:_SHOWN])
    more = len(labels) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def verdict(rule: ProcessRule, h: History) -> CheckResult:
    judged: list[str] = []
    faults = Faults()
    for entry in h.entries:
        if not rule.applies_to(entry.event):
            continue
        judged.append(entry.label)
        step = Transition(entry.before, entry.event, entry.record.known_at)
        for found in rule.breaches(step):
            where = f" [field {found.field}]" if found.field else ""
            faults.add(f"{entry.label}: {found.message}{where}", entry)
    if not judged:
        kinds = ", ".join(sorted(k.__name__ for k in rule.events))
        return not_applicable(rule.rule_id, f"no {kinds} on record to judge")
    return faults.result(rule.rule_id, f"{rule.passed}; judged {_judged_text(judged)}")


def transition_verdicts(h: History) -> list[CheckResult]:
    return [verdict(rule, h) for rule in TRANSITION_RULES]
