"""Building blocks shared by every decider: actors, personal data, errors.

Everything here is pure so it can be imported inside the Temporal workflow sandbox.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from .text import OptionalId, OptionalLine, command_errors


class Model(BaseModel):
    """Frozen, strict-about-unknown-fields base for commands, events and values."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ActorKind(StrEnum):
    PERSON = "person"
    SYSTEM = "system"
    AUTOMATED = "automated"  # an automated detector: never enough on its own for an adverse step


class Actor(Model):
    """Who did something, in which role. Roles are checked by the deciders."""

    id: OptionalId  # blank is refused below, for old and new records alike
    role: OptionalId
    kind: ActorKind = ActorKind.PERSON

    @field_validator("id", "role")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


SYSTEM_ACTOR = Actor(id="dueprocess", role="system", kind=ActorKind.SYSTEM)


class Personal(Model):
    """A piece of personal data about one data subject.

    The event store encrypts ``value`` under the subject's own key when it writes and
    decrypts it when it reads. After the subject is erased (key destroyed) it reads
    back with ``value=None`` and ``erased=True``: the redaction marker.
    """

    pii: Literal[True] = True
    subject_id: OptionalId
    value: str | None
    erased: bool = False

    def text(self) -> str:
        return "[erased]" if self.value is None else self.value


def personal(subject_id: str, value: str) -> Personal:
    return Personal(subject_id=subject_id, value=value)


class DomainError(Exception):
    """A business rejection. ``error_type`` is the stable name clients match on.

    ``rule`` names the rule broken (a due-process rule id, a policy rule id or a
    field rule); ``field`` names the input field when one is at fault.
    """

    error_type: ClassVar[str] = "DomainError"

    @property
    def bad_input(self) -> bool:
        """Input no step could take, not a refused step: exit 2 and "Invalid input",
        wherever it is reported (cli/errors.py, api/problems.py)."""
        return False

    def __init__(self, message: str, *, rule: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"type": self.error_type, "rule": self.rule, "field": self.field,
                "message": self.message}

    def __str__(self) -> str:
        where = f" [field: {self.field}]" if self.field else ""
        return f"{self.error_type}({self.rule}): {self.message}{where}"


class InvalidCommand(DomainError):
    """The command is malformed or does not fit the case (wrong stage, unknown id)."""

    error_type = "InvalidCommand"


class InvalidInput(DomainError):
    """Input no step could take (a malformed value, a cursor never given out): bad input,
    as a validation error is, not a refused step (exit 2, HTTP 422 InvalidInput)."""

    error_type = "InvalidInput"

    @property
    def bad_input(self) -> bool:
        return True


class DueProcessViolation(DomainError):
    """The command would break a due-process rule (notice before hearing, ...)."""

    error_type = "DueProcessViolation"


class NotPermitted(DomainError):
    """The actor's role may not issue this command."""

    error_type = "NotPermitted"


class PolicyViolation(DomainError):
    """The command contradicts the pinned policy (rule not in force, sanction not allowed)."""

    error_type = "PolicyViolation"


class CaseClosed(DomainError):
    error_type = "CaseClosed"


def check_effective_time(at: datetime, now: datetime, last: datetime | None) -> None:
    """Records describe the past, in order. Deciders check this only when something
    happens, so an idempotent retry never trips on time."""
    if at > now:
        raise InvalidCommand("cannot record something that has not happened yet",
                             rule="effective-at-not-in-future", field="effective_at")
    if last is not None and at < last:
        raise InvalidCommand("records go in order: this predates the last one on record",
                             rule="effective-at-order", field="effective_at")


DOMAIN_ERRORS: tuple[type[DomainError], ...] = (
    DomainError, InvalidCommand, DueProcessViolation, NotPermitted, PolicyViolation, CaseClosed,
)


class EventBase(Model):
    """Base of every domain event: a past-tense fact.

    ``type`` is the discriminator and storage name; ``schema_version`` is bumped when
    the shape changes (old shapes are upcast on read, never edited). ``actor`` and
    ``authority`` say who did it on whose authority; ``effective_at`` is when it took
    effect in the world (the store adds ``recorded_at``).
    """

    schema_version: ClassVar[int] = 1
    type: str
    actor: Actor
    authority: str
    effective_at: datetime


class CommandBase(Model):
    """Base of every command: an imperative request from an actor under an authority.

    ``effective_at`` lets staff record something that happened earlier (a hearing held
    yesterday); when omitted the decider uses the time it is given (workflow time).
    """

    type: str
    actor: Actor
    authority: OptionalLine  # blank refused below, with its own message
    effective_at: datetime | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _within_limits(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Text, sizes and dates judged on the whole command (see domain/text.py: events
        share the value types, and old events must keep reading)."""
        command = handler(data)
        if errors := command_errors(command):
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return command

    @field_validator("authority")
    @classmethod
    def _authority_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name the rule or delegation the act relies on")
        return value
