"""Checks on the outcome: a complete decision, sanctions the rule allows, the appeal
window, and reinstatement after a successful appeal.
"""

from __future__ import annotations

from ..case.events import (
    AppealDecided,
    AppealWindowClosed,
    DecisionRecorded,
    MemberReinstated,
    SanctionApplied,
)
from ..case.state import CaseState
from ..case.values import AppealOutcome, Finding, ReinstatementReason, Sanction
from ..policy import SanctionKind
from .context import Entry, History
from .model import CheckResult
from .results import Faults, iso, not_applicable, rights_text, sanction_text, span


def decision_complete(h: History) -> CheckResult:
    # ACAS 17-18, DSA 17(3): the respondent must be able to see why, and how to challenge it.
    check_id = "decision-complete"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return not_applicable(check_id, "no decision has been recorded")
    faults = Faults()
    for decision in decisions:
        for gap in [*_finding_gaps(decision), *_sanction_gaps(decision),
                    *_redress_gaps(decision)]:
            faults.add(f"{decision.label} {gap}", decision)
    return faults.result(check_id, "every decision states facts, rule, reasons, sanction and "
                                   "duration, automation flags and how to appeal by when")


def _finding_gaps(decision: Entry[DecisionRecorded]) -> list[str]:
    event, state = decision.event, decision.before
    gaps = [] if event.findings else ["has no findings"]
    for finding in event.findings:
        if finding.findings.value is None and not finding.findings.erased:
            gaps.append(f"states no facts found on {finding.allegation_id}")
        if not finding.reasons.strip():
            gaps.append(f"gives no reasons on {finding.allegation_id}")
        if finding.upheld and state.rule_for(finding.allegation_id) is None:
            gaps.append(f"upholds {finding.allegation_id} without an identifiable rule")
    noticed = {a.allegation_id for a in state.notice.allegations} if state.notice else set()
    missing = sorted(noticed - {f.allegation_id for f in event.findings})
    if missing:
        gaps.append(f"makes no finding on {', '.join(missing)}")
    if event.upheld != any(f.upheld for f in event.findings):
        gaps.append("says upheld=" + str(event.upheld).lower() + ", contradicting its findings")
    return gaps


def _sanction_gaps(decision: Entry[DecisionRecorded]) -> list[str]:
    event = decision.event
    gaps = []
    if any(f.sanction for f in event.findings) and event.sanction is None:
        gaps.append("sanctions findings but states no governing sanction")
    if event.sanction is not None and event.sanction.kind is SanctionKind.SUSPENSION \
            and not event.sanction.term:
        gaps.append("imposes a suspension without a duration")
    if event.sanction is not None and event.statement_of_reasons is None:
        gaps.append("restricts the member without a statement of reasons")
    if decision.before.automated_report and not event.automated_detection:
        gaps.append("does not say the case came from automated detection")
    return gaps


def _redress_gaps(decision: Entry[DecisionRecorded]) -> list[str]:
    event = decision.event
    gaps = []
    if not event.how_to_appeal.strip():
        gaps.append("does not say how to appeal")
    if event.appeal_deadline <= event.effective_at:
        gaps.append("gives an appeal deadline that is not after the decision")
    return gaps


def sanction_allowed(h: History) -> CheckResult:
    check_id = "sanction-allowed-by-rule"
    decisions = [d for d in h.of(DecisionRecorded)
                 if d.event.sanction or any(f.sanction for f in d.event.findings)]
    varied = [a for a in h.of(AppealDecided) if a.event.new_sanction is not None]
    applied = h.of(SanctionApplied)
    if not (decisions or varied or applied):
        return not_applicable(check_id, "no sanction was decided or carried out")
    faults = Faults()
    for decision in decisions:
        _check_decided_sanctions(decision, faults)
    for appeal in varied:
        assert appeal.event.new_sanction is not None
        problem = _allowed_problem(appeal.before, appeal.event.new_sanction)
        if problem:
            faults.add(f"{appeal.label} varies the sanction to {problem}", appeal)
    for carried in applied:
        standing = carried.before.effective_sanction
        if carried.event.sanction != standing:
            faults.add(f"{carried.label} carries out {sanction_text(carried.event.sanction)}, "
                       f"but the sanction standing was {sanction_text(standing)}", carried)
    return faults.result(check_id, "every sanction decided, varied or carried out is one the "
                                   "cited rule, in its pinned version, allows")


def _check_decided_sanctions(decision: Entry[DecisionRecorded], faults: Faults) -> None:
    state, event = decision.before, decision.event
    for finding in event.findings:
        problem = _finding_sanction_problem(state, finding)
        if problem:
            faults.add(f"{decision.label} on {finding.allegation_id}: {problem}", decision)
    given = [f.sanction for f in event.findings if f.sanction is not None]
    if event.sanction is not None and event.sanction not in given:
        faults.add(f"{decision.label} imposes {sanction_text(event.sanction)}, which no finding "
                   "gave", decision)


def _finding_sanction_problem(state: CaseState, finding: Finding) -> str | None:
    if finding.sanction is None:
        return None
    if not finding.upheld:
        return "a sanction on an allegation not upheld"
    cited = state.rule_for(finding.allegation_id)
    if cited is None:
        return "the allegation cites no pinned rule"
    version, rule = cited
    if rule.allows(finding.sanction.kind, finding.sanction.term):
        return None
    return (f"{sanction_text(finding.sanction)} is not allowed by {rule.rule_id}@{version.version}"
            f" (allows {', '.join(k.value for k in rule.allowed_sanctions)}"
            + (f", suspension up to {span(rule.max_suspension)})" if rule.max_suspension else ")"))


def _allowed_problem(state: CaseState, sanction: Sanction) -> str | None:
    """Why no upheld finding's rule allows this sanction, or None."""
    decision = state.decision
    upheld = [f.allegation_id for f in decision.findings if f.upheld] if decision else []
    cited = [c for c in (state.rule_for(a) for a in upheld) if c is not None]
    if any(rule.allows(sanction.kind, sanction.term) for _, rule in cited):
        return None
    names = ", ".join(f"{rule.rule_id}@{version.version}" for version, rule in cited)
    return f"{sanction_text(sanction)}, which {names or 'no upheld rule'} does not allow"


def appeal_window(h: History) -> CheckResult:
    check_id = "appeal-window-respected"
    decisions = h.of(DecisionRecorded)
    if not decisions:
        return not_applicable(check_id, "no decision has been recorded, so there is nothing "
                                        "to appeal")
    faults = Faults()
    for decision in decisions:
        window = decision.event.appeal_deadline - decision.at
        procedure = decision.before.procedure
        if procedure is not None and window < procedure.deadlines.appeal_window:
            faults.add(f"{decision.label} allows {span(window)} to appeal; the policy gives "
                       f"{span(procedure.deadlines.appeal_window)}", decision)
    for closed in h.of(AppealWindowClosed):
        _check_window_closed(closed, faults)
    for carried in h.of(SanctionApplied):
        _check_not_during_appeal(carried, faults)
    for outcome in h.of(AppealDecided):
        if outcome.before.appeal is None:
            faults.add(f"{outcome.label} decides an appeal that was never lodged", outcome)
        if not outcome.event.reasons.strip():
            faults.add(f"{outcome.label} gives no reasons", outcome)
    return faults.result(check_id, "the appeal window was the policy's, stayed open to its end, "
                                   "no sanction ran during it, and appeal outcomes have reasons")


def _check_window_closed(closed: Entry[AppealWindowClosed], faults: Faults) -> None:
    decision = closed.before.decision
    if decision is None:
        faults.add(f"{closed.label} closes a window with no decision", closed)
    elif closed.at < decision.appeal_deadline or closed.event.closes_at < decision.appeal_deadline:
        faults.add(f"{closed.label} closed the window before {iso(decision.appeal_deadline)}",
                   closed)


def _check_not_during_appeal(carried: Entry[SanctionApplied], faults: Faults) -> None:
    state = carried.before
    if state.appeal is not None and state.appeal_decision is None:
        faults.add(f"{carried.label} was carried out while an appeal was pending", carried)
    elif state.appeal is None and state.decision is not None and (
            not state.appeal_window_closed or carried.at < state.decision.appeal_deadline):
        faults.add(f"{carried.label} was carried out before the appeal window closed "
                   f"({iso(state.decision.appeal_deadline)})", carried)


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
            continue
        for gap in _reinstatement_gaps(following[0]):
            faults.add(f"{following[0].label} {gap}", appeal, following[0])
    return faults.result(check_id, "every allowed appeal was followed by a reinstatement that "
                                   "restored rights, kept continuity and corrected the record")


def _reinstatement_gaps(reinstated: Entry[MemberReinstated]) -> list[str]:
    event = reinstated.event
    gaps = []
    if event.reason is not ReinstatementReason.APPEAL_ALLOWED:
        gaps.append(f"gives reason {event.reason.value}, not the allowed appeal")
    if not event.record_corrected:
        gaps.append("leaves the reversed decision on the record")
    if not event.continuity_preserved:
        gaps.append("breaks continuity of membership")
    missing = reinstated.before.rights_removed - set(event.rights_restored)
    if missing:
        gaps.append(f"does not restore {rights_text(missing)}")
    return gaps
