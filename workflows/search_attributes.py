"""What the Temporal UI may show about a case: typed search attributes, no personal data.

Staff find cases by stage, next deadline and overdue (``DueProcessStage = 'under_appeal'``,
``DueProcessOverdue = true``) without opening sealed payloads. Only facts about the
procedure are published: the stage, when the next deadline falls, whether an escalated
deadline is still outstanding, the procedure's policy version and the rulebook rule ids
the allegations cite. Names, statements and evidence never leave the sealed history.

A cluster must have the attributes registered before a worker runs this code, or the
upsert fails the workflow task: ``dueprocess dev`` passes them to the dev server
(``start_dev_flags``) and operators run ``operator_commands()`` once per namespace (the
README's "Cases in the Temporal UI").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributeUpdate,
)

from ..domain import case as dc
from ..domain.case.deadlines import acknowledge_due, response_due
from .case_contracts import ESCALATION_NOTICE_PATCH

STAGE = SearchAttributeKey.for_keyword("DueProcessStage")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("DueProcessNextDeadline")
OVERDUE = SearchAttributeKey.for_bool("DueProcessOverdue")
POLICY_VERSION = SearchAttributeKey.for_keyword("DueProcessPolicyVersion")
RULES_CITED = SearchAttributeKey.for_keyword_list("DueProcessRulesCited")
CASE_SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STAGE, NEXT_DEADLINE, OVERDUE, POLICY_VERSION, RULES_CITED)

# The spelling the temporal CLI and the server's API use for each type.
_CLI_TYPE = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

CaseAttributes = dict[str, Any]  # attribute name -> value (None: unset)


def registrations() -> list[tuple[str, str]]:
    """(name, type) of every case attribute, as ``temporal`` spells the type."""
    return [(key.name, _CLI_TYPE[key.indexed_value_type]) for key in CASE_SEARCH_ATTRIBUTES]


def start_dev_flags() -> list[str]:
    """``temporal server start-dev`` flags that register the case attributes."""
    return [arg for name, kind in registrations()
            for arg in ("--search-attribute", f"{name}={kind}")]


def operator_commands(namespace: str = "default") -> list[str]:
    """The one-off registration on a cluster (add ``--address``/TLS flags as needed)."""
    return [f"temporal operator search-attribute create --namespace {namespace} "
            f"--name {name} --type {kind}" for name, kind in registrations()]


def overdue(state: dc.CaseState) -> bool:
    """A deadline was missed (and escalated) and what it asked for is still outstanding:
    the domain's ``overdue_since``, as the case list has it. Histories recorded before
    ESCALATION_NOTICE_PATCH published this for the acknowledgement and the response only,
    so the patch is asked only where the two answers differ: they replay unchanged."""
    legacy = ("acknowledge" in state.missed and acknowledge_due(state) is not None) or (
        "respond" in state.missed and response_due(state) is not None)
    if legacy or dc.overdue_since(state) is None:
        return legacy
    return workflow.patched(ESCALATION_NOTICE_PATCH)


def case_attributes(state: dc.CaseState, next_deadline: datetime | None) -> CaseAttributes:
    report = state.report
    return {
        STAGE.name: state.stage.value,
        NEXT_DEADLINE.name: next_deadline,
        OVERDUE.name: overdue(state),
        POLICY_VERSION.name: report.procedure_version if report else None,
        RULES_CITED.name: sorted({a.rule_id for a in report.allegations}) if report else None,
    }


def updates(
    before: CaseAttributes | None, after: CaseAttributes
) -> list[SearchAttributeUpdate[Any]]:
    """The upserts that take the published attributes from ``before`` to ``after``.

    An attribute that becomes absent keeps its last value rather than being unset: only
    the next deadline ever does (between deadlines, and once closed), and an unset
    Datetime breaks ``describe`` on the time-skipping test server (it hands back the
    null, which the SDK cannot parse as a date), which the tests and the client's
    error explanations use. So the next deadline reads "the latest deadline set";
    combine it with the stage."""
    return [key.value_set(after[key.name]) for key in CASE_SEARCH_ATTRIBUTES
            if after[key.name] is not None
            and (before is None or before.get(key.name) != after[key.name])]
