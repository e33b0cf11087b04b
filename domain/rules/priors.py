"""ACAS Code paras 19-22: when a sanction is decided, the respondent's prior sanctions that
are still current are taken into account; an expired one no longer counts, so it is never
weighed nor cited as aggravating; and the rulebook may require a current prior sanction
before a graver one (a first written warning before a final one), unless the finding is
gross misconduct.

decide() weighs the record the workflow read (``domain/case/priors.py`` weigh) and writes
what it weighed into the decision, so these predicates judge a recorded decision exactly
as decide() judged the candidate.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..base import InvalidCommand, PolicyViolation
from ..case.events import CaseEventBase, DecisionRecorded
from ..case.priors import PriorSanction
from .model import Breach, ProcessRule, RuleKind, Transition, acas


def _expired_on(prior: PriorSanction) -> str:
    until = prior.current_until.date().isoformat() if prior.current_until else "?"
    return f"the {prior.sanction.kind.value} of case {prior.case_id} stopped being current " \
           f"on {until}"


def _concerns_priors(event: CaseEventBase) -> bool:
    return isinstance(event, DecisionRecorded) \
        and (event.prior_sanctions is not None or bool(event.aggravating_priors))


def _current(t: Transition) -> Iterator[Breach]:
    event = t.event
    assert isinstance(event, DecisionRecorded)
    at, priors = event.effective_at, event.prior_sanctions
    if priors is None:
        if not event.aggravating_priors:
            return  # nothing read, nothing cited: decided as before the priors were weighed
        yield Breach("aggravating_priors", "no prior sanctions of the respondent were read, "
                                           "so none can be cited")
        return
    for index, prior in enumerate(priors.weighed):
        if not prior.current_at(at):
            yield Breach(f"prior_sanctions.weighed.{index}",
                         f"{_expired_on(prior)}: it no longer counts")
    for index, prior in enumerate(priors.expired):
        if prior.current_at(at):
            yield Breach(f"prior_sanctions.expired.{index}",
                         f"the {prior.sanction.kind.value} of case {prior.case_id} is still "
                         "current: it is weighed")
    weighed = {p.case_id for p in priors.weighed}
    expired = {p.case_id: p for p in priors.expired}
    for index, case_id in enumerate(event.aggravating_priors):
        if case_id in expired:
            yield Breach(f"aggravating_priors.{index}",
                         f"{_expired_on(expired[case_id])}: an expired sanction is never an "
                         "aggravating prior")
        elif case_id not in weighed:
            yield Breach(f"aggravating_priors.{index}",
                         f"case {case_id} holds no current prior sanction of the respondent")


PRIOR_SANCTIONS_CURRENT = ProcessRule(
    "prior-sanctions-current", "A decision weighs only the respondent's prior sanctions still "
    "current; an expired one is never counted or cited as aggravating", acas("19", "20", "21"),
    InvalidCommand, guards=("RecordDecision",), events=(DecisionRecorded,), predicate=_current,
    concerns=_concerns_priors,
    passed="every decision weighed only prior sanctions current when it was decided")


def _gross_misconduct(t: Transition, event: DecisionRecorded) -> bool:
    for finding in event.findings:
        cited = t.before.rule_for(finding.allegation_id) if finding.upheld else None
        if cited is not None and cited[1].gross_misconduct:
            return True
    return False


def _escalation(t: Transition) -> Iterator[Breach]:
    event, procedure = t.event, t.procedure
    assert isinstance(event, DecisionRecorded)
    if event.sanction is None or event.prior_sanctions is None or procedure is None:
        return
    step = procedure.escalation_for(event.sanction.kind)
    if step is None or _gross_misconduct(t, event):
        return
    if not any(p.sanction.kind in step.requires_current for p in event.prior_sanctions.weighed):
        needed = " or ".join(k.value for k in step.requires_current)
        expired = [p for p in event.prior_sanctions.expired
                   if p.sanction.kind in step.requires_current]
        why = f" ({_expired_on(expired[-1])})" if expired else ""
        yield Breach("sanction", f"{event.sanction.kind.value} needs a current prior {needed} "
                                 f"under the rulebook{why}, unless the finding is gross "
                                 "misconduct")


SANCTION_ESCALATION = ProcessRule(
    "sanction-escalation", "A sanction the rulebook escalates to follows a current prior "
    "sanction, unless the finding is gross misconduct", acas("19", "20", "22"),
    PolicyViolation, guards=("RecordDecision",), events=(DecisionRecorded,),
    predicate=_escalation,
    concerns=lambda e: isinstance(e, DecisionRecorded) and e.prior_sanctions is not None
    and e.sanction is not None,
    passed="every sanction the rulebook escalates to followed a current prior sanction, or "
           "a finding of gross misconduct")

PRIORS_READ_BY_ENGINE = ProcessRule(
    "prior-sanctions-read-by-engine", "The respondent's prior sanctions are read by the engine "
    "from the record, never supplied with a decision", acas("19", "21"), InvalidCommand,
    kind=RuleKind.COMMAND, guards=("RecordDecision",))

CONTENT = (PRIOR_SANCTIONS_CURRENT, SANCTION_ESCALATION)
