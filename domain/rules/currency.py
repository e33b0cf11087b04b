"""ACAS Code paras 19-20: a warning (or any sanction) stays current on the member's record
for the period its rule sets, and no longer counts after it.

One computation for the decider (which writes ``current_until`` on the sanction carried
out), the rule that judges it, and so the audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ..base import PolicyViolation
from ..case.events import SanctionApplied
from ..case.state import CaseState
from .model import Breach, ProcessRule, Transition, acas
from .outcome import upheld_rules


def current_until(state: CaseState, at: datetime) -> datetime | None:
    """When a sanction carried out at ``at`` stops being current: the longest period the
    upheld rules (in their pinned versions) set, or None when none sets one."""
    periods = [rule.current_for for _, rule in upheld_rules(state) if rule.current_for]
    return at + max(periods) if periods else None


def _currency(t: Transition) -> Iterator[Breach]:
    event = t.event
    assert isinstance(event, SanctionApplied)
    expected = current_until(t.before, event.effective_at)
    if event.current_until != expected:
        said = expected.isoformat() if expected else "no end (no rule sets a period)"
        yield Breach("current_until", f"the sanction stays current until {said}")


SANCTION_CURRENCY = ProcessRule(
    "sanction-currency", "A sanction stays current for the period its rule sets, then no "
    "longer counts", acas("19", "20"), PolicyViolation, guards=("CarryOutSanction",),
    events=(SanctionApplied,), predicate=_currency,
    passed="every sanction carried out stays current for the period its rule sets")

CONTENT = (SANCTION_CURRENCY,)
