"""Rules on sanctions, appeal and reinstatement (ACAS 22-27, DSA 20, GDPR 16,
invariants 1, 7 and 9).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ..base import DueProcessViolation, InvalidCommand, PolicyViolation
from ..case.events import (
    AppealDecided,
    AppealLodged,
    AppealPanelAppointed,
    AppealWindowClosed,
    CaseEventBase,
    DecisionRecorded,
    MemberReinstated,
    SanctionApplied,
)
from ..case.state import CaseState
from ..case.values import AppealOutcome, Sanction
from ..policy import PolicyVersion, Rule, SanctionKind
from ..policy_terms import duration_text
from .model import Breach, ProcessRule, Transition, acas, dsa, gdpr, invariant


def _term_problem(sanction: Sanction) -> str | None:
    if sanction.kind is SanctionKind.SUSPENSION:
        if sanction.term is None or sanction.term <= timedelta(0):
            return "a suspension needs a positive term"
    elif sanction.term is not None:
        return "only a suspension has a term"
    return None


def _sanctions(t: Transition) -> Iterator[tuple[str, Sanction, bool]]:
    """(field, sanction, upheld) for each sanction a decision or appeal gives."""
    event = t.event
    if isinstance(event, DecisionRecorded):
        for index, finding in enumerate(event.findings):
            if finding.sanction is not None:
                yield f"findings.{index}.sanction", finding.sanction, finding.upheld
    elif isinstance(event, AppealDecided) and event.new_sanction is not None:
        yield "new_sanction", event.new_sanction, True


def sanctions_given(event: CaseEventBase) -> bool:
    if isinstance(event, DecisionRecorded):
        return event.sanction is not None or any(f.sanction for f in event.findings)
    if isinstance(event, AppealDecided):
        return event.new_sanction is not None
    return isinstance(event, SanctionApplied)


def _upheld_only(t: Transition) -> Iterator[Breach]:
    for field, _, upheld in _sanctions(t):
        if not upheld:
            yield Breach(field, "a sanction needs an upheld finding")


SANCTION_REQUIRES_UPHELD_FINDING = ProcessRule(
    "sanction-requires-upheld-finding", "A sanction follows only an upheld finding",
    acas("18") + invariant(1), InvalidCommand, guards=("RecordDecision",),
    events=(DecisionRecorded,), predicate=_upheld_only, concerns=sanctions_given,
    passed="every sanction follows an upheld finding")


def _terms(t: Transition) -> Iterator[Breach]:
    for field, sanction, _ in _sanctions(t):
        problem = _term_problem(sanction)
        if problem:
            yield Breach(f"{field}.term", problem)


SANCTION_TERM = ProcessRule(
    "sanction-term", "A suspension, and only a suspension, has a positive term",
    acas("18") + dsa("17(3)") + invariant(3), InvalidCommand,
    guards=("RecordDecision", "DecideAppeal"), events=(DecisionRecorded, AppealDecided),
    predicate=_terms, concerns=sanctions_given,
    passed="every suspension has a term, and nothing else does")


def upheld_rules(state: CaseState) -> list[tuple[PolicyVersion, Rule]]:
    decision = state.decision
    upheld = [f.allegation_id for f in decision.findings if f.upheld] if decision else []
    return [pair for pair in (state.rule_for(a) for a in upheld) if pair is not None]


def _not_allowed(sanction: Sanction, rules: list[tuple[PolicyVersion, Rule]]) -> str | None:
    if any(rule.allows(sanction.kind, sanction.term) for _, rule in rules):
        return None
    cited = ", ".join(f"{rule.rule_id}@{version.version}" for version, rule in rules)
    term = duration_text(sanction.term) if sanction.term is not None else "none"
    return f"{sanction.kind.value} (term {term}) is not allowed by {cited or 'no rule'}"


def _allowed(t: Transition) -> Iterator[Breach]:
    event, before = t.event, t.before
    if isinstance(event, SanctionApplied):
        if event.sanction != before.effective_sanction:
            yield Breach("sanction", f"carries out {event.sanction.kind.value}, but the sanction "
                                     f"standing is {before.effective_sanction}")
        return
    for field, sanction, _ in _sanctions(t):
        if _term_problem(sanction):
            continue  # sanction-term
        if isinstance(event, DecisionRecorded):
            cited = before.rule_for(event.findings[int(field.split(".")[1])].allegation_id)
            rules = [cited] if cited else []
        else:
            rules = upheld_rules(before)
        problem = _not_allowed(sanction, rules)
        if problem:
            yield Breach(field, problem)


SANCTION_ALLOWED_BY_RULE = ProcessRule(
    "sanction-allowed-by-rule", "Every sanction is one the cited rule, in its pinned version, "
    "allows", acas("18") + invariant(1), PolicyViolation,
    guards=("RecordDecision", "DecideAppeal", "CarryOutSanction"),
    events=(DecisionRecorded, AppealDecided, SanctionApplied), predicate=_allowed,
    concerns=sanctions_given,
    passed="every sanction decided, varied or carried out is one the cited rule allows")


def _decided(t: Transition) -> Iterator[Breach]:
    if t.before.decision is None:
        yield Breach(None, "there is no decision to appeal")


DECISION_BEFORE_APPEAL = ProcessRule(
    "decision-before-appeal", "An appeal is against a decision", acas("26"), InvalidCommand,
    guards=("LodgeAppeal",), events=(AppealLodged,), predicate=_decided,
    passed="every appeal was against a decision")


def _one_appeal(t: Transition) -> Iterator[Breach]:
    if t.before.appeal is not None:
        yield Breach(None, "an appeal has already been lodged")


APPEAL_ALREADY_LODGED = ProcessRule(
    "appeal-already-lodged", "One appeal per decision", acas("26"), InvalidCommand,
    guards=("LodgeAppeal",), events=(AppealLodged,), predicate=_one_appeal,
    passed="one appeal was lodged")


def _something_upheld(t: Transition) -> Iterator[Breach]:
    decision = t.before.decision
    if decision is not None and not decision.upheld:
        yield Breach(None, "nothing was upheld, so there is nothing to appeal")


NOTHING_TO_APPEAL = ProcessRule(
    "nothing-to-appeal", "Only a decision upholding an allegation is appealed", acas("26"),
    InvalidCommand, guards=("LodgeAppeal",), events=(AppealLodged,), predicate=_something_upheld,
    passed="every appeal was against an upheld allegation")


def _window(t: Transition) -> Iterator[Breach]:
    event, before = t.event, t.before
    decision = before.decision
    if isinstance(event, AppealLodged):
        if decision is not None and (before.appeal_window_closed
                                     or event.effective_at > decision.appeal_deadline):
            yield Breach("effective_at", f"the appeal window closed at "
                                         f"{decision.appeal_deadline.isoformat()}")
    elif isinstance(event, AppealWindowClosed):
        if decision is None or event.closes_at < decision.appeal_deadline:
            yield Breach("closes_at", "closes the appeal window before the decision's deadline")
    elif before.appeal is None and not before.appeal_window_closed:
        yield Breach(None, "the appeal window is still open")


APPEAL_WINDOW = ProcessRule(
    "appeal-window", "Appeals are accepted until the window closes; no sanction runs while "
    "it is open", acas("26") + dsa("20") + invariant(7), DueProcessViolation,
    guards=("LodgeAppeal", "CloseAppealWindow", "CarryOutSanction"),
    events=(AppealLodged, AppealWindowClosed, SanctionApplied), predicate=_window,
    passed="appeals were accepted until the window closed, and no sanction ran during it")


def _not_pending(t: Transition) -> Iterator[Breach]:
    if t.before.appeal is not None and t.before.appeal_decision is None:
        yield Breach(None, "an appeal is pending")


APPEAL_PENDING = ProcessRule(
    "appeal-pending", "No sanction is carried out while an appeal is pending",
    acas("26") + dsa("20") + invariant(7), DueProcessViolation, guards=("CarryOutSanction",),
    events=(SanctionApplied,), predicate=_not_pending,
    passed="no sanction was carried out while an appeal was pending")


def _lodged(t: Transition) -> Iterator[Breach]:
    if t.before.appeal is None:
        yield Breach(None, "no appeal has been lodged")


APPEAL_LODGED = ProcessRule(
    "appeal-lodged", "An appeal panel sits and decides only on a lodged appeal", acas("27"),
    InvalidCommand, guards=("AppointAppealPanel", "DecideAppeal"),
    events=(AppealPanelAppointed, AppealDecided), predicate=_lodged,
    passed="appeal panels sat only on lodged appeals")


def _appeal_open(t: Transition) -> Iterator[Breach]:
    if t.before.appeal_decision is not None:
        yield Breach(None, "the appeal has been decided")


APPEAL_DECIDED = ProcessRule(
    "appeal-decided", "An appeal is decided once", acas("27"), InvalidCommand,
    guards=("AppointAppealPanel", "DecideAppeal"), events=(AppealPanelAppointed, AppealDecided),
    predicate=_appeal_open, passed="each appeal was decided once")


def _varied(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, AppealDecided)
    varied = t.event.outcome is AppealOutcome.SANCTION_VARIED
    if varied != (t.event.new_sanction is not None):
        yield Breach("new_sanction", "a new sanction is given exactly when the sanction is varied")


SANCTION_VARIED = ProcessRule(
    "sanction-varied", "An appeal gives a new sanction exactly when it varies the sanction",
    acas("27"), InvalidCommand, guards=("DecideAppeal",), events=(AppealDecided,),
    predicate=_varied, passed="new sanctions came only with a varied outcome")


def reinstatement_due(state: CaseState) -> bool:
    return state.appeal_decision is not None \
        and state.appeal_decision.outcome is AppealOutcome.ALLOWED


def _reinstatable(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, MemberReinstated)
    if t.before.reinstated is None and not (reinstatement_due(t.before)
                                            or t.before.sanction_ended):
        yield Breach(None, "reinstatement follows an allowed appeal or the end of a sanction")


NOTHING_TO_REINSTATE = ProcessRule(
    "nothing-to-reinstate", "Reinstatement follows an allowed appeal or the end of a sanction",
    dsa("20") + invariant(9), InvalidCommand, guards=("Reinstate",), events=(MemberReinstated,),
    predicate=_reinstatable, passed="every reinstatement followed an allowed appeal or the end "
                                    "of a sanction")


def _restores(t: Transition) -> Iterator[Breach]:
    assert isinstance(t.event, MemberReinstated)
    event, allowed = t.event, reinstatement_due(t.before)
    missing = t.before.rights_removed - set(event.rights_restored)
    if missing:
        yield Breach("rights_restored", f"does not restore {sorted(missing)}")
    if allowed and not event.record_corrected:
        yield Breach("record_corrected", "leaves the reversed decision on the record")
    if not event.continuity_preserved:
        yield Breach("continuity_preserved", "breaks continuity of membership")


REINSTATEMENT_RESTORES = ProcessRule(
    "reinstatement-restores-rights", "A reinstatement restores rights and continuity and, "
    "after an allowed appeal, corrects the record", dsa("20") + gdpr("16") + invariant(9),
    DueProcessViolation, guards=("Reinstate", "EndSanction"), events=(MemberReinstated,),
    predicate=_restores, passed="every reinstatement restored rights and continuity and "
                                "corrected the record where the appeal was allowed")

STAGE = (DECISION_BEFORE_APPEAL, APPEAL_ALREADY_LODGED, APPEAL_LODGED, APPEAL_DECIDED,
         NOTHING_TO_APPEAL, APPEAL_WINDOW, APPEAL_PENDING, NOTHING_TO_REINSTATE)
CONTENT = (SANCTION_REQUIRES_UPHELD_FINDING, SANCTION_TERM, SANCTION_VARIED,
           SANCTION_ALLOWED_BY_RULE, REINSTATEMENT_RESTORES)
