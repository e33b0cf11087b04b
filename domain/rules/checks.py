"""Checks shared by the case deciders; each raises a DomainError naming its rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..base import DueProcessViolation, InvalidCommand, Personal, PolicyViolation
from ..case.commands import CaseCommandBase
from ..case.state import CaseState
from ..case.values import Admissibility, EvidenceItem, PanelMember, Sanction
from ..policy import PolicyVersion, Rule, SanctionKind


def meta(command: CaseCommandBase, at: datetime) -> dict[str, Any]:
    """The fields every event copies from the command that caused it."""
    return {"actor": command.actor, "authority": command.authority, "effective_at": at}


def procedure(state: CaseState) -> PolicyVersion:
    version = state.procedure
    if version is None:
        raise InvalidCommand("the case has no report yet", rule="case-not-reported")
    return version


def require_investigation(state: CaseState, *, adverse: bool) -> None:
    """The case must have been triaged for investigation by a person."""
    if state.dismissal is not None:
        raise InvalidCommand("the case was dismissed at triage", rule="case-dismissed")
    if state.triage is not None:
        return
    if adverse and state.automated_report:
        # DSA 20(6), GDPR 22: a flag from a tool never leads to a measure without a human.
        raise DueProcessViolation(
            "an automated report needs a named person's triage before any adverse measure",
            rule="human-triage-of-automated-reports")
    raise InvalidCommand("the case must be triaged for investigation first",
                         rule="triage-before-investigation")


def require_undecided(state: CaseState) -> None:
    if state.decision is not None:
        raise InvalidCommand("the case has been decided", rule="case-decided")


def require_text(value: str | None, *, field: str, rule: str) -> None:
    if value is not None and not value.strip():
        raise InvalidCommand("must not be blank", rule=rule, field=field)


def require_subject(value: Personal | None, subject_id: str, *, field: str) -> None:
    """Personal data must be keyed to the person it is about, or erasure misses it."""
    if value is not None and value.subject_id != subject_id:
        raise InvalidCommand(f"personal data must have subject_id {subject_id!r}",
                             rule="personal-data-subject", field=field)


def require_unique(ids: Iterable[str], *, field: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            raise InvalidCommand(f"{value!r} appears twice", rule="unique-ids",
                                 field=f"{field}.{index}")
        seen.add(value)


def admissibility(version: PolicyVersion, items: Iterable[EvidenceItem]) -> list[Admissibility]:
    rulings = []
    for item in items:
        reason = version.evidence.inadmissibility(item.source_kind, item.consent, item.lawful_basis)
        rulings.append(Admissibility(evidence_id=item.evidence_id, admissible=reason is None,
                                     reason=reason))
    return rulings


def check_evidence_items(
    items: list[EvidenceItem], at: datetime, *, field: str, staff: frozenset[str] = frozenset(),
) -> None:
    """Ids are unique, capture precedes submission, and no witness is also staff."""
    require_unique((item.evidence_id for item in items), field=f"{field}.*.evidence_id")
    for index, item in enumerate(items):
        if item.captured_at > at:
            raise InvalidCommand("evidence cannot be captured after it is submitted",
                                 rule="evidence-capture-time", field=f"{field}.{index}.captured_at")
        if item.witness_id is not None and item.witness_id in staff:
            raise DueProcessViolation(
                f"witness {item.witness_id!r} already investigates or judges this case",
                rule="panel-independence", field=f"{field}.{index}.witness_id")


def check_panel(
    members: list[PanelMember], conflicted: frozenset[str], *, field: str = "members",
) -> None:
    """Every member declared their interests and has no part in the case already."""
    require_unique((m.member_id for m in members), field=f"{field}.*.member_id")
    for index, member in enumerate(members):
        if not member.declared:
            raise DueProcessViolation(
                f"{member.member_id!r} must declare interests before sitting",
                rule="conflict-declaration", field=f"{field}.{index}.declared")
        if member.member_id in conflicted:
            raise DueProcessViolation(
                f"{member.member_id!r} is a party, witness or already involved in another role",
                rule="panel-independence", field=f"{field}.{index}.member_id")


def conflicted_for(state: CaseState, *others: frozenset[str]) -> frozenset[str]:
    """Parties and witnesses, plus whoever holds the other roles."""
    conflicted = state.party_ids | state.witness_ids
    for group in others:
        conflicted |= group
    return conflicted


def check_sanction(
    sanction: Sanction, rules: list[tuple[PolicyVersion, Rule]], *, field: str,
) -> None:
    """A sanction must be one a cited rule, in its pinned version, allows."""
    if sanction.kind is SanctionKind.SUSPENSION:
        if sanction.term is None or sanction.term <= timedelta(0):
            raise InvalidCommand("a suspension needs a positive term", rule="sanction-term",
                                 field=f"{field}.term")
    elif sanction.term is not None:
        raise InvalidCommand("only a suspension has a term", rule="sanction-term",
                             field=f"{field}.term")
    if any(rule.allows(sanction.kind, sanction.term) for _, rule in rules):
        return
    cited = ", ".join(f"{rule.rule_id}@{version.version}" for version, rule in rules)
    raise PolicyViolation(
        f"{sanction.kind.value} (term {sanction.term}) is not allowed by {cited or 'no rule'}",
        rule="sanction-allowed-by-rule", field=field)
