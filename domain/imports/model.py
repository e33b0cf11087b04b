"""The import file: a history recorded elsewhere, as dueprocess commands with their times.

Format ``dueprocess-import/1`` (JSON or YAML; a sample is deploy/imports/sample-2016.yaml)::

    format: dueprocess-import/1
    source: the system or register the history comes from
    members:                       # membership facts, per member, oldest first
      - member_id: m-1
        facts:
          - known_at: 2016-03-02T10:00:00Z   # optional: when the organisation knew it
            command: {type: RecordJoined, actor: ..., authority: ..., joined_on: 2016-03-01}
    cases:                         # cases, each its steps oldest first
      - case_id: legacy-2016-001
        steps:
          - known_at: ...          # optional, as above
            command: {type: FileReport, effective_at: 2016-06-01T09:00:00Z, ...}

Every case step names its original ``effective_at``; ``known_at`` is the time the source
asserts the organisation knew the fact (default: its effective time). Reports carry no
rulebook: they are filed under the published one, as live reports are. Timer steps
(deadline escalations, closing the appeal window...) are the importer's, not the file's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import (
    AwareDatetime,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from ..base import DomainError, Model
from ..case.commands import TIMER_COMMANDS, CaseCommand
from ..membership.facts import MemberCommand
from ..text import IdText, LineText, walk

FORMAT = "dueprocess-import/1"
FILE_SHAPE = "import-file-shape"  # the rule a file not in the format breaks


class ImportRejected(DomainError):
    """The import file was refused; ``record`` names the record at fault (e.g.
    ``cases[0].steps[2]``) and ``field`` the field within the file."""

    error_type = "ImportRejected"

    def __init__(self, message: str, *, record: str, rule: str, field: str | None) -> None:
        super().__init__(f"{record}: {message}", rule=rule, field=field)
        self.record = record

    def details(self) -> dict[str, Any]:
        return {**super().details(), "record": self.record}

    @property
    def bad_input(self) -> bool:
        return self.rule == FILE_SHAPE  # a file not in the format; else a refused history


class MemberFact(Model):
    known_at: AwareDatetime | None = None
    command: MemberCommand


class MemberHistory(Model):
    member_id: IdText
    facts: list[MemberFact] = Field(min_length=1)


class CaseStep(Model):
    known_at: AwareDatetime | None = None
    command: CaseCommand

    @field_validator("command")
    @classmethod
    def _dated_and_not_a_timer(cls, command: CaseCommand) -> CaseCommand:
        if command.effective_at is None:
            raise ValueError("an imported step must carry its original effective_at")
        if isinstance(command, TIMER_COMMANDS):
            raise ValueError(f"{command.type} is a deadline's own step: the importer "
                             "records deadlines from the case's dates; leave it out")
        return command

    @property
    def at(self) -> datetime:
        assert self.command.effective_at is not None  # checked above
        return self.command.effective_at


class CaseHistory(Model):
    case_id: IdText
    steps: list[CaseStep] = Field(min_length=1)


class ImportFile(Model):
    format: Literal["dueprocess-import/1"]
    source: LineText
    members: list[MemberHistory] = []
    cases: list[CaseHistory] = []

    @model_validator(mode="wrap")
    @classmethod
    def _within_limits(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """The text limits every command keeps (no NUL, ids at most 200 characters, ...)
        on the file's own fields too: its source is written into every imported event's
        envelope and its ids become stream names (domain/text.py judges both)."""
        file = handler(data)
        if errors := list(walk(file)):
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return file


def _path(loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    """(record, field) from a validation error location: the record is the innermost
    member/fact/case/step, the field what lies beneath it."""
    record, rest = "", list(loc)
    while rest:
        head = rest[0]
        if isinstance(head, int):
            record += f"[{head}]"
        elif head in ("members", "facts", "cases", "steps"):
            record += ("." if record else "") + head
        else:
            break
        rest.pop(0)
    # Tagged unions add the command type to the location: not a field of the file.
    fields = [str(p) for p in rest if not (isinstance(p, str) and p[:1].isupper())]
    return record or "file", ".".join(fields) or None


def parse_import(document: Any) -> ImportFile:
    """The file, or ImportRejected naming the first record and field at fault."""
    try:
        return ImportFile.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        record, field = _path(tuple(first["loc"]))
        raise ImportRejected(f"{field or 'record'}: {first['msg']}", record=record,
                             rule=FILE_SHAPE, field=field) from None
