"""The catalogue lists every rule once, and the README's table is generated from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dueprocess.cli.main import main
from dueprocess.cli.rules import MARKER_END, MARKER_START, rules_markdown
from dueprocess.domain.audit import TITLES
from dueprocess.domain.case import commands as case_commands
from dueprocess.domain.rules.catalogue import BY_ID, CATALOGUE
from dueprocess.domain.rules.model import RuleKind

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_rule_is_listed_once_with_sources() -> None:
    ids = [rule.rule_id for rule in CATALOGUE]
    assert len(ids) == len(set(ids)) == len(BY_ID)
    assert all(rule.sources and rule.title for rule in CATALOGUE)


def test_kinds_are_consistent() -> None:
    for rule in CATALOGUE:
        transition = rule.kind is RuleKind.TRANSITION
        assert (rule.predicate is not None) == transition == bool(rule.events), rule.rule_id
        assert (rule.audit_check is None) == (rule.kind is RuleKind.COMMAND)


def test_guards_name_real_commands() -> None:
    commands = {cls.__name__ for cls in vars(case_commands).values()
                if isinstance(cls, type) and issubclass(cls, case_commands.CaseCommandBase)}
    named = {guard for rule in CATALOGUE for guard in rule.guards} - {"*"}
    assert named and named <= commands


def test_every_audited_rule_has_an_audit_title() -> None:
    assert set(TITLES) == {r.rule_id for r in CATALOGUE if r.audit_check is not None}


def test_cli_lists_every_rule_once_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [rule.rule_id for rule in CATALOGUE]
    disclosure = next(r for r in listed if r["id"] == "disclosure-before-reliance")
    assert "ACAS Code para 9" in disclosure["sources"] and "invariant 2" in disclosure["sources"]
    assert disclosure["guards"] == ["RecordDecision"]
    assert disclosure["audit_check"] == "disclosure-before-reliance"


def test_readme_rule_table_is_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split(MARKER_START, 1)[1].split(MARKER_END, 1)[0].strip()
    assert table == rules_markdown(), "regenerate with `dueprocess rules --markdown`"
