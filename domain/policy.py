"""The rulebook as versioned data.

A policy document holds non-overlapping versions. A charge is judged under the version
in force on the conduct date (no retrospective rules: McFadden v Unite); procedure
(deadlines, statuses, evidence handling) follows the version in force when the report
is filed. Cases pin the versions they use, so later edits never change an open case.

Durations are ISO-8601 strings in days, weeks and time parts only (``"P14D"``,
``"P2W"``, ``"PT36H"``). Bare numbers are refused because "14" could mean seconds or
days, and months/years are refused because their length varies.

Bounds (``MAX_DURATION``, ``EARLIEST_DATE``/``LATEST_DATE``, ``MAX_*`` counts and text
lengths) hold for every policy that parses, so no policy can overflow a date or a durable
timer: a deadline is at most ten years after a conduct date before 2200. Publication adds
floors on the periods that protect the respondent (``PUBLICATION_FLOORS``): they are checked
when a version is published, not when one is parsed, so a pinned version stays readable.

Pure: ``load_policy`` takes text, never a path; callers do the reading.
"""

from __future__ import annotations

import json
from datetime import date
from itertools import pairwise
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .base import Model, PolicyViolation
from .policy_escalation import (
    DEFAULT_WHEN_MISSED,
    MISSED_KINDS,
    EscalationRole,
    MissedKind,
    WhenMissed,
)
from .policy_parts import (
    Deadlines,
    EscalationStep,
    EvidencePolicy,
    RepeatReporting,
    Retention,
    Rule,
)
from .policy_terms import (
    EARLIEST_DATE,
    INTERIM_STATUS,
    LATEST_DATE,
    MAX_DURATION,
    MAX_EXAMPLES,
    MAX_LIST,
    MAX_LONG_TEXT,
    MAX_RULES,
    MAX_SHORT_TEXT,
    MAX_STATUSES,
    MAX_VERSIONS,
    PUBLICATION_FLOORS,
    REQUIRED_STATUSES,
    SANCTION_SEVERITY,
    SANCTION_STATUS,
    Duration,
    IsoDuration,
    LongText,
    PolicyDate,
    Right,
    SanctionKind,
    ShortText,
    SourceKind,
    Text,
    WebAddress,
    iso_duration_text,
)

# The terms and parts are re-exported: callers import the whole rulebook from here.
__all__ = [
    "DEFAULT_WHEN_MISSED",
    "EARLIEST_DATE",
    "INTERIM_STATUS",
    "LATEST_DATE",
    "MAX_DURATION",
    "MAX_EXAMPLES",
    "MAX_LIST",
    "MAX_LONG_TEXT",
    "MAX_RULES",
    "MAX_SHORT_TEXT",
    "MAX_STATUSES",
    "MAX_VERSIONS",
    "MISSED_KINDS",
    "PUBLICATION_FLOORS",
    "REQUIRED_STATUSES",
    "SANCTION_SEVERITY",
    "SANCTION_STATUS",
    "Deadlines",
    "Duration",
    "EscalationRole",
    "EscalationStep",
    "EvidencePolicy",
    "IsoDuration",
    "LongText",
    "MissedKind",
    "PolicyDate",
    "PolicyDocument",
    "PolicyError",
    "PolicyVersion",
    "RepeatReporting",
    "Retention",
    "Right",
    "Rule",
    "SanctionKind",
    "ShortText",
    "SourceKind",
    "Text",
    "WebAddress",
    "WhenMissed",
    "iso_duration_text",
    "load_policy",
]


class PolicyVersion(Model):
    version: ShortText
    effective_from: PolicyDate
    effective_to: PolicyDate | None = Field(default=None, validate_default=True)  # inclusive
    rules: list[Rule] = Field(max_length=MAX_RULES)
    statuses: dict[ShortText, Annotated[list[Right], Field(max_length=MAX_LIST)]] = Field(
        max_length=MAX_STATUSES)
    deadlines: Deadlines
    evidence: EvidencePolicy
    # DSA Art 23; absent in versions pinned before it, whose reports are never held.
    repeat_reporting: RepeatReporting | None = None
    # GDPR storage limitation; absent in versions pinned before it: kept until erased.
    retention: Retention | None = None
    # ACAS Code paras 19-22: which sanctions need a current prior one; none in versions
    # pinned before it, whose decisions weigh prior sanctions without a ladder.
    escalation: list[EscalationStep] = Field(default=[], max_length=MAX_LIST)
    # DSA Art 14 and 17(3)(e): where this version is published; a statement of reasons
    # links to it (``decision_ground_reference_url``). Absent in versions pinned before it.
    reference_url: WebAddress | None = None

    @field_validator("effective_to")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("effective_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"must not be before effective_from ({start.isoformat()})")
        return value

    @field_validator("rules")
    @classmethod
    def _unique_rules(cls, value: list[Rule]) -> list[Rule]:
        if not value:
            raise ValueError("a version needs at least one rule")
        ids = [rule.rule_id for rule in value]
        repeated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if repeated:
            raise ValueError(f"rule ids must be unique, repeated: {repeated}")
        return value

    @field_validator("statuses")
    @classmethod
    def _required_statuses(cls, value: dict[str, list[Right]]) -> dict[str, list[Right]]:
        missing = sorted(REQUIRED_STATUSES - value.keys())
        if missing:
            raise ValueError(f"missing statuses {missing} (required: {sorted(REQUIRED_STATUSES)})")
        return value

    @field_validator("escalation")
    @classmethod
    def _one_step_per_sanction(cls, value: list[EscalationStep]) -> list[EscalationStep]:
        kinds = [step.sanction for step in value]
        if len(set(kinds)) != len(kinds):
            raise ValueError("one escalation step per sanction")
        return value

    def escalation_for(self, kind: SanctionKind) -> EscalationStep | None:
        return next((step for step in self.escalation if step.sanction is kind), None)

    def in_force_on(self, day: date) -> bool:
        ended = self.effective_to is not None and day > self.effective_to
        return self.effective_from <= day and not ended

    def find_rule(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.rule_id == rule_id), None)

    def rule(self, rule_id: str) -> Rule:
        found = self.find_rule(rule_id)
        if found is None:
            raise PolicyViolation(
                f"rule {rule_id!r} is not in policy version {self.version}",
                rule="rule-in-force-on-conduct-date", field="rule_id")
        return found

    def rights_removed(self, status: str) -> frozenset[Right]:
        return frozenset(self.statuses.get(status, []))

    def authority(self, path: str) -> str:
        """The authority string for an act the policy itself requires, e.g. a deadline."""
        return f"policy:{self.version}#{path}"


class PolicyDocument(Model):
    policy_id: ShortText
    versions: list[PolicyVersion] = Field(max_length=MAX_VERSIONS)

    @field_validator("versions")
    @classmethod
    def _no_overlap(cls, value: list[PolicyVersion]) -> list[PolicyVersion]:
        if not value:
            raise ValueError("a policy needs at least one version")
        names = [v.version for v in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"version names must be unique, repeated: {repeated}")
        ordered = sorted(value, key=lambda v: v.effective_from)
        for earlier, later in pairwise(ordered):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                raise ValueError(
                    f"versions {earlier.version!r} ({_period(earlier)}) and "
                    f"{later.version!r} ({_period(later)}) overlap")
        return value

    def version_on(self, day: date) -> PolicyVersion:
        for version in self.versions:
            if version.in_force_on(day):
                return version
        raise PolicyViolation(
            f"no version of policy {self.policy_id!r} was in force on {day.isoformat()}",
            rule="rule-in-force-on-conduct-date")

    def version_named(self, name: str) -> PolicyVersion | None:
        return next((v for v in self.versions if v.version == name), None)


def _period(version: PolicyVersion) -> str:
    end = version.effective_to.isoformat() if version.effective_to else "open-ended"
    return f"{version.effective_from.isoformat()}..{end}"


def publication_problems(version: PolicyVersion, path: str) -> list[tuple[str, str]]:
    """Why a valid version may not be published: a protective period below its floor.
    ``path`` is the version's place in the published document, e.g. ``versions.1``."""
    problems: list[tuple[str, str]] = []
    for name, floor in PUBLICATION_FLOORS.items():
        if getattr(version.deadlines, name) < floor:
            problems.append((f"{path}.deadlines.{name}",
                             f"must be at least {iso_duration_text(floor)} (it protects the "
                             "respondent)"))
    return problems


class PolicyError(ValueError):
    """A policy text that cannot be loaded; ``problems`` pairs field paths with what is wrong."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))

    @property
    def field(self) -> str:
        return self.problems[0][0]


def load_policy(text: str, fmt: Literal["yaml", "json"] = "yaml") -> PolicyDocument:
    """Parse and validate a policy document; every error names the field path at fault."""
    raw = _parse(text, fmt)
    if not isinstance(raw, dict):
        raise PolicyError([("<document>", f"must be a mapping, got {type(raw).__name__}")])
    try:
        return PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError([_problem(error) for error in exc.errors()]) from exc


def _parse(text: str, fmt: str) -> Any:
    try:
        if fmt == "yaml":
            return yaml.safe_load(text)
        if fmt == "json":
            return json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise PolicyError([("<document>", f"not valid {fmt}: {exc}")]) from exc
    raise PolicyError([("<format>", f"unknown format {fmt!r} (use 'yaml' or 'json')")])


def _problem(error: Any) -> tuple[str, str]:
    path = ".".join(str(part) for part in error["loc"]) or "<document>"
    message = str(error["msg"]).removeprefix("Value error, ")
    return path, message
