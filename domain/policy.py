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
from datetime import date, timedelta
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
    iso_duration_text,
)

# The terms are re-exported: callers import the whole rulebook vocabulary from here.
__all__ = [
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
    "PUBLICATION_FLOORS",
    "REQUIRED_STATUSES",
    "SANCTION_SEVERITY",
    "SANCTION_STATUS",
    "Deadlines",
    "Duration",
    "EvidencePolicy",
    "IsoDuration",
    "LongText",
    "PolicyDate",
    "PolicyDocument",
    "PolicyError",
    "PolicyVersion",
    "Right",
    "Rule",
    "SanctionKind",
    "ShortText",
    "SourceKind",
    "Text",
    "iso_duration_text",
    "load_policy",
]


class Rule(Model):
    """One rule of conduct, written so a member can understand it (definition + examples)."""

    rule_id: ShortText
    title: ShortText
    definition: LongText
    examples: list[LongText] = Field(max_length=MAX_EXAMPLES)
    allowed_sanctions: list[SanctionKind] = Field(max_length=MAX_LIST)
    max_suspension: Duration | None = Field(default=None, validate_default=True)

    @field_validator("examples")
    @classmethod
    def _has_examples(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one example is required (rules must be understandable)")
        return value

    @field_validator("allowed_sanctions")
    @classmethod
    def _sanctions(cls, value: list[SanctionKind]) -> list[SanctionKind]:
        if not value:
            raise ValueError("at least one sanction must be allowed")
        if len(set(value)) != len(value):
            raise ValueError("sanctions must not repeat")
        return value

    @field_validator("max_suspension")
    @classmethod
    def _max_only_with_suspension(
        cls, value: timedelta | None, info: ValidationInfo,
    ) -> timedelta | None:
        # Open-ended suspensions are how cases drag on for 18 months: the rule must cap them.
        allowed = info.data.get("allowed_sanctions", [])
        if SanctionKind.SUSPENSION in allowed and value is None:
            raise ValueError("required when suspension is an allowed sanction")
        if SanctionKind.SUSPENSION not in allowed and value is not None:
            raise ValueError("only meaningful when suspension is an allowed sanction")
        return value

    def allows(self, kind: SanctionKind, term: timedelta | None) -> bool:
        if kind not in self.allowed_sanctions:
            return False
        if kind is SanctionKind.SUSPENSION:
            return term is not None and self.max_suspension is not None \
                and term <= self.max_suspension
        return True


class Deadlines(Model):
    acknowledge: Duration
    respond: Duration
    minimum_hearing_notice: Duration
    disclosure_lead_time: Duration  # evidence reaches the respondent this long before the hearing
    appeal_window: Duration
    interim_suspension_review: Duration  # longest an interim suspension may run unreviewed
    rejoin_continuity_window: Duration  # resign-in-protest then rejoin within this keeps continuity
    # GDPR Art 14(3)(a): data from another source is notified within a month; 28 days never
    # exceeds a calendar month. A default, so versions pinned before it still read.
    data_collection_notice: Duration = Field(default=timedelta(days=28), validate_default=True)
    schedule_hearing: Duration = timedelta(days=28)  # notice to a scheduled hearing (ACAS 4)


class EvidencePolicy(Model):
    acceptable_source_kinds: list[SourceKind] = Field(max_length=MAX_LIST)
    private_source_kinds: list[SourceKind] = Field(default=[], max_length=MAX_LIST)
    # Bases that may stand in for consent on private sources.
    lawful_bases: list[ShortText] = Field(default=[], max_length=MAX_LIST)

    @field_validator("acceptable_source_kinds")
    @classmethod
    def _some_acceptable(cls, value: list[SourceKind]) -> list[SourceKind]:
        if not value:
            raise ValueError("at least one source kind must be acceptable")
        return value

    @field_validator("private_source_kinds")
    @classmethod
    def _private_are_acceptable(
        cls, value: list[SourceKind], info: ValidationInfo,
    ) -> list[SourceKind]:
        acceptable = set(info.data.get("acceptable_source_kinds", []))
        stray = [kind.value for kind in value if kind not in acceptable]
        if stray:
            raise ValueError(f"{stray} are not in acceptable_source_kinds")
        return value

    def inadmissibility(
        self, kind: SourceKind, consent: bool, lawful_basis: str | None,
    ) -> str | None:
        """Why evidence of this kind is inadmissible, or None if it may be relied on."""
        if kind not in self.acceptable_source_kinds:
            return f"source kind {kind.value!r} is not acceptable under the policy"
        if kind not in self.private_source_kinds or consent:
            return None
        if lawful_basis is None:
            return f"private source {kind.value!r} without consent or a recorded lawful basis"
        if lawful_basis not in self.lawful_bases:
            return f"lawful basis {lawful_basis!r} is not one the policy allows"
        return None


class PolicyVersion(Model):
    version: ShortText
    effective_from: PolicyDate
    effective_to: PolicyDate | None = Field(default=None, validate_default=True)  # inclusive
    rules: list[Rule] = Field(max_length=MAX_RULES)
    statuses: dict[ShortText, Annotated[list[Right], Field(max_length=MAX_LIST)]] = Field(
        max_length=MAX_STATUSES)
    deadlines: Deadlines
    evidence: EvidencePolicy

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
