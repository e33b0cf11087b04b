"""`dueprocess rules`: the catalogue of due-process rules (and the README's table of them)."""

from __future__ import annotations

import argparse
from typing import Any

from ..domain.policy import MISSED_KINDS, PolicyDocument, iso_duration_text
from ..domain.rules.catalogue import CATALOGUE
from ..domain.rules.model import ProcessRule
from ..services.policyfile import load_policy_file
from ..settings import Settings
from .common import EXTENSIONS, command, emit

MARKER_START = "<!-- rules:start -->"
MARKER_END = "<!-- rules:end -->"


def _guards(rule: ProcessRule) -> list[str]:
    return ["every command" if g == "*" else g for g in rule.guards]


def rule_document(rule: ProcessRule) -> dict[str, Any]:
    return {"id": rule.rule_id, "title": rule.title, "kind": rule.kind.value,
            "sources": [str(s) for s in rule.sources],
            "sources_structured": [{"kind": s.kind.value, "ref": s.ref} for s in rule.sources],
            "error": rule.error.error_type, "guards": _guards(rule),
            "audit_check": rule.audit_check}


def rules_markdown() -> str:
    """The README's rule table, generated from the catalogue (sorted by id)."""
    lines = ["| Rule | Title | Sources | Guards | Audit check |",
             "|---|---|---|---|---|"]
    for rule in sorted(CATALOGUE, key=lambda r: r.rule_id):
        audit = f"`{rule.audit_check}`" if rule.audit_check else "command check"
        lines.append(f"| `{rule.rule_id}` | {rule.title} | "
                     f"{'; '.join(str(s) for s in rule.sources)} | "
                     f"{', '.join(_guards(rule)) or '-'} | {audit} |")
    return "\n".join(lines)


def _text() -> str:
    lines = []
    for rule in CATALOGUE:
        audit = rule.audit_check or "(command check: not on the record)"
        lines.append(f"{rule.rule_id:36} {rule.title}\n{'':36} sources: "
                     f"{'; '.join(str(s) for s in rule.sources)}\n{'':36} guards: "
                     f"{', '.join(_guards(rule)) or '-'}; audit: {audit}")
    return "\n".join(lines)


def deadline_documents(document: PolicyDocument) -> list[dict[str, Any]]:
    """Each version's periods with their cited sources, and each missed deadline's
    escalation (who is told, what happens next; issue 15)."""
    rows = []
    for version in document.versions:
        deadlines = version.deadlines
        for name in deadlines.period_names():
            row: dict[str, Any] = {
                "version": version.version, "deadline": name,
                "period": iso_duration_text(getattr(deadlines, name)),
                "sources": deadlines.sources.get(name, [])}
            kind = next((k for k in MISSED_KINDS if k == name), None)
            if kind is not None:
                then = deadlines.escalation(kind)
                row["when_missed"] = {"to": then.to, "next_step": then.next_step}
            rows.append(row)
    return rows


def _deadlines_text(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['version']:8} {r['deadline']:26} {r['period']:6} "
        f"sources: {'; '.join(r['sources']) or '-'}"
        + (f"\n{'':42}missed: to {r['when_missed']['to']}; next: "
           f"{r['when_missed']['next_step']}" if "when_missed" in r else "")
        for r in rows)


@command("rules")
async def _rules(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print(rules_markdown())
        return 0
    if args.deadlines:
        rows = deadline_documents(load_policy_file(settings.policy_file))
        emit(args, rows, _deadlines_text(rows))
        return 0
    emit(args, [rule_document(rule) for rule in CATALOGUE], _text())
    return 0


def _extend(sub: Any, add: Any) -> None:
    rules = add("rules", "list every due-process rule: id, title, sources, the commands it "
                "guards and the audit check that judges it")
    rules.add_argument("--markdown", action="store_true",
                       help="the README's rule table (between its rules markers)")
    rules.add_argument("--deadlines", action="store_true",
                       help="the rulebook's deadlines instead: each period, its sources and "
                            "who a miss is escalated to with the next step")


EXTENSIONS.append(_extend)
