"""`dueprocess rules`: the catalogue of due-process rules (and the README's table of them)."""

from __future__ import annotations

import argparse
from typing import Any

from ..domain.rules.catalogue import CATALOGUE
from ..domain.rules.model import ProcessRule
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


@command("rules")
async def _rules(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print(rules_markdown())
        return 0
    emit(args, [rule_document(rule) for rule in CATALOGUE], _text())
    return 0


def _extend(sub: Any, add: Any) -> None:
    rules = add("rules", "list every due-process rule: id, title, sources, the commands it "
                "guards and the audit check that judges it")
    rules.add_argument("--markdown", action="store_true",
                       help="the README's rule table (between its rules markers)")


EXTENSIONS.append(_extend)
