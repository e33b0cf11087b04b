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
import re
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .base import Model, PolicyViolation


class Right(StrEnum):
    """Membership rights a status can remove."""

    VOTE = "vote"
    STAND_FOR_OFFICE = "stand_for_office"
    ATTEND = "attend"


class SanctionKind(StrEnum):
    """Sanctions a decision may impose. Interim suspension is deliberately absent:
    it is a holding measure, never a sanction (ACAS 8)."""

    WARNING = "warning"
    SUSPENSION = "suspension"
    EXPULSION = "expulsion"


SANCTION_SEVERITY: dict[SanctionKind, int] = {
    SanctionKind.WARNING: 1, SanctionKind.SUSPENSION: 2, SanctionKind.EXPULSION: 3,
}

# The status a member holds while each measure is in effect; the policy says which
# rights that status removes.
INTERIM_STATUS = "interim_suspended"
SANCTION_STATUS: dict[SanctionKind, str] = {
    SanctionKind.WARNING: "warned",
    SanctionKind.SUSPENSION: "suspended",
    SanctionKind.EXPULSION: "expelled",
}
REQUIRED_STATUSES = frozenset({INTERIM_STATUS, *SANCTION_STATUS.values()})


class SourceKind(StrEnum):
    """Where a piece of evidence came from; private kinds need consent or a lawful basis."""

    PUBLIC_POST = "public_post"
    PRIVATE_MESSAGE = "private_message"
    THIRD_PARTY_SCREENSHOT = "third_party_screenshot"
    AUTOMATED_CAPTURE = "automated_capture"
    DOCUMENT = "document"
    WITNESS_STATEMENT = "witness_statement"


_ISO_DURATION = re.compile(
    r"^P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?)$")


def _iso_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and value not in ("P", "PT") and _ISO_DURATION.match(value):
        return value
    raise ValueError("must be an ISO-8601 duration in days/weeks/hours such as 'P14D'")


# Ten years (with leap days): longer than any disciplinary period, far below the limits
# of datetime arithmetic and of Temporal's timers, so no deadline can overflow either.
MAX_DURATION = timedelta(days=3653)
# Effective dates a rulebook may name; with MAX_DURATION every deadline stays in year 2210.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
MAX_VERSIONS = 100
MAX_RULES = 200
MAX_EXAMPLES = 20
MAX_STATUSES = 50
MAX_LIST = 50  # sanctions, source kinds, lawful bases, rights of a status
MAX_SHORT_TEXT = 200  # ids, titles, version names, lawful bases
MAX_LONG_TEXT = 10_000  # definitions and examples

# Least length of the periods that protect the respondent (ACAS Code paras 9-12, 26-27):
# time to answer the allegations, notice of the hearing, sight of the evidence before it,
# and time to appeal. Checked on publication (see ``publication_problems``).
PUBLICATION_FLOORS: dict[str, timedelta] = {
    "respond": timedelta(days=7),
    "minimum_hearing_notice": timedelta(days=5),
    "disclosure_lead_time": timedelta(days=2),
    "appeal_window": timedelta(days=7),
}


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration")
    if value > MAX_DURATION:
        raise ValueError(f"must be at most {MAX_DURATION.days} days (ten years)")
    return value


def _sane_date(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE.isoformat()} and "
                         f"{LATEST_DATE.isoformat()}")
    return value


def iso_duration_text(value: timedelta) -> str:
    """Days and time parts only: pydantic's own output says "P1Y" for 365 days."""
    sign = "-" if value < timedelta(0) else ""
    days, rest = divmod(abs(value), timedelta(days=1))
    hours, rest = divmod(rest, timedelta(hours=1))
    minutes, rest = divmod(rest, timedelta(minutes=1))
    seconds = rest.total_seconds()
    time = "".join(f"{n:g}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
                   if n)
    if not time:
        return f"{sign}P{days}D"
    return f"{sign}P{days}DT{time}" if days else f"{sign}PT{time}"


IsoDuration = Annotated[timedelta, PlainSerializer(iso_duration_text, when_used="json")]
Duration = Annotated[
    timedelta, BeforeValidator(_iso_duration), AfterValidator(_positive),
    PlainSerializer(iso_duration_text, when_used="json"),
]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT), AfterValidator(_not_blank)]
LongText = Annotated[str, Field(max_length=MAX_LONG_TEXT), AfterValidator(_not_blank)]
PolicyDate = Annotated[date, AfterValidator(_sane_date)]


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
