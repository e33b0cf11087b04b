"""The parts of a policy version: rules of conduct (with the sanctions each allows), the
deadlines of the procedure, and how evidence is handled. Each validates itself on parse.

Split out of policy.py, which re-exports every name here.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, ValidationInfo, field_validator

from .base import Model
from .policy_escalation import DEFAULT_WHEN_MISSED, MissedKind, WhenMissed
from .policy_terms import (
    MAX_EXAMPLES,
    MAX_LIST,
    Duration,
    LongText,
    SanctionKind,
    ShortText,
    SourceKind,
)


class Rule(Model):
    """One rule of conduct, written so a member can understand it (definition + examples)."""

    rule_id: ShortText
    title: ShortText
    definition: LongText
    examples: list[LongText] = Field(max_length=MAX_EXAMPLES)
    allowed_sanctions: list[SanctionKind] = Field(max_length=MAX_LIST)
    max_suspension: Duration | None = Field(default=None, validate_default=True)
    # ACAS Code paras 19-20: how long a sanction under this rule stays current on the
    # member's record; after it, it no longer counts (a warning no longer stands). None:
    # current indefinitely, as in versions written before it.
    current_for: Duration | None = None
    # ACAS Code para 22: conduct so serious that a first offence may meet the gravest
    # sanction, so the rulebook's escalation (a current prior sanction) does not apply.
    gross_misconduct: bool = False

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
    # Every other stage has a period too (issue 15), so no case waits unseen at any step;
    # defaults keep versions published before them readable. ACAS 4: without unreasonable delay.
    triage: Duration = timedelta(days=14)  # acknowledgement to a triage decision
    investigation: Duration = timedelta(days=28)  # triaged for investigation to notice issued
    decide_after_hearing: Duration = timedelta(days=14)  # hearing held to the decision
    decide_appeal: Duration = timedelta(days=28)  # appeal lodged to its decision (ACAS 27)
    # Issue 15: who a missed deadline is escalated to and what happens next, by kind;
    # kinds not set use DEFAULT_WHEN_MISSED (domain/policy_escalation.py).
    when_missed: dict[MissedKind, WhenMissed] = Field(default={}, max_length=MAX_LIST)
    # Where each period comes from (the ACAS Code, the EHRC, the GDPR...), by period name:
    # data, so `dueprocess rules` and the API can cite it.
    sources: dict[ShortText, list[ShortText]] = Field(default={}, max_length=MAX_LIST)

    @field_validator("sources")
    @classmethod
    def _sources_name_periods(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        periods = cls.period_names()
        for name, cited in value.items():
            if name not in periods:
                raise ValueError(f"{name!r} is not a deadline (one of {', '.join(periods)})")
            if not 1 <= len(cited) <= MAX_EXAMPLES:
                raise ValueError(f"{name}: between 1 and {MAX_EXAMPLES} sources")
        return value

    @classmethod
    def period_names(cls) -> list[str]:
        """The names of the periods (every field but the escalations and sources)."""
        return [name for name in cls.model_fields if name not in ("when_missed", "sources")]

    def escalation(self, kind: MissedKind) -> WhenMissed:
        """Who a miss of ``kind`` is escalated to and what happens next."""
        return self.when_missed.get(kind) or DEFAULT_WHEN_MISSED[kind]


class EscalationStep(Model):
    """ACAS Code paras 19-20: ``sanction`` follows only a prior sanction of one of the
    kinds ``requires_current`` that is still current on the member's record, unless the
    finding is of gross misconduct (para 22; ``Rule.gross_misconduct``)."""

    sanction: SanctionKind
    requires_current: list[SanctionKind] = Field(min_length=1, max_length=MAX_LIST)


# Bounds of the repeat-reporter count: a threshold of 1 would warn on a single dismissal.
MIN_REPEAT_THRESHOLD = 2
MAX_REPEAT_THRESHOLD = 100


class RepeatReporting(Model):
    """DSA Art 23: who frequently reports what is manifestly unfounded is warned, then has
    the processing of their reports suspended for a reasonable period.

    ``threshold`` manifestly unfounded dismissals of one reporter's reports within
    ``window`` bring a reasoned ``warning``; reports the reporter files from then until
    ``hold_period`` after the warning are held (recorded, not processed), contestable.
    """

    threshold: int = Field(ge=MIN_REPEAT_THRESHOLD, le=MAX_REPEAT_THRESHOLD)
    window: Duration
    hold_period: Duration
    warning: LongText  # the reasons given to the reporter (DSA Art 23(3): case by case)


class Retention(Model):
    """GDPR Art 5(1)(e), storage limitation: how long each kind of record keeps the people's
    personal data after it ends (a case from its closure, by outcome; a membership from
    when it ended). A person's data is shredded once every record naming them is past its
    period and none is open (domain/retention.py)."""

    dismissed: Duration
    not_upheld: Duration
    sanctioned: Duration
    membership: Duration


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
