"""Actions that explain themselves: what the viewer may do in a case right now, and why not.

Each command the viewer's role may send (domain/case/roles PERMISSIONS) is tried in a DRY
RUN of the decider: ``decide(state, probe, now)`` with a probe command filled with
placeholder values. The decider and the rules it asks (domain/rules) are the only judges;
nothing here knows a rule. A refusal that does not depend on what the form would say
(the case's stage, the actor, the time: the error names no field of the form) blocks the
action, shown disabled with the rule's id, title and the decider's reason. A refusal
naming a form field depends on the input: the form is offered, and the real command,
sent exactly as the API sends it, gets the decider's answer on that field.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from ..domain import case as dc
from ..domain.base import Actor, CaseClosed, DomainError, Personal
from ..domain.case.commands import COMMAND_TYPES, TIMER_COMMANDS, CaseCommandBase, FileReport
from ..domain.case.decide import decide
from ..domain.case.roles import PERMISSIONS
from ..domain.rules.catalogue import BY_ID
from .forms import DATETIMES, Control, Group, controls

Status = Literal["available", "blocked", "done"]
NOT_ON_FORMS = frozenset({"actor", "effective_at", "case_id", "type"})
PROBE_TEXT = "probe"
HORIZON = timedelta(days=365)  # a probe's times: far enough ahead for any notice period


@dataclass
class Action:
    name: str  # the command type, e.g. "ScheduleHearing"
    title: str  # "Schedule hearing"
    status: Status
    rule: str | None = None
    rule_title: str | None = None
    reason: str | None = None
    form: list[Control | Group] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # a refusal of the real command not tied to one field


def title_of(name: str) -> str:
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return words[:1].upper() + words[1:]


def commands_for(role: str) -> list[type[CaseCommandBase]]:
    """What a role may send in the console (reports are filed elsewhere; timers are the
    system's)."""
    return [cls for name, cls in COMMAND_TYPES.items()
            if role in PERMISSIONS.get(name, frozenset())
            and cls is not FileReport and cls not in TIMER_COMMANDS]


def _probe_value(annotation: Any, subject: str, now: datetime) -> Any:
    kind = annotation
    if get_origin(kind) in (Union, types.UnionType):
        kind = next(a for a in get_args(kind) if a is not type(None))
    if get_origin(kind) is list:
        (inner,) = get_args(kind) or (str,)
        return [_probe_value(inner, subject, now)]
    if isinstance(kind, type):
        if issubclass(kind, Personal):
            return Personal(subject_id=subject, value=PROBE_TEXT)
        if issubclass(kind, BaseModel):
            return _probe(kind, subject, now)
        if issubclass(kind, Enum):
            return next(iter(kind))
        if kind is bool:
            return True
        if kind in DATETIMES:
            return now + HORIZON
        if kind is timedelta:
            return timedelta(days=1)
        if kind is int:
            return 1
    return PROBE_TEXT


def _probe(model: type[BaseModel], subject: str, now: datetime, **given: Any) -> Any:
    """An instance with every required field filled, unvalidated (placeholders need not
    pass the field checks: only the decider's judgement of the case is asked for)."""
    values = dict(given)
    for name, info in model.model_fields.items():
        if name not in values and info.is_required():
            values[name] = _probe_value(info.annotation, subject, now)
    return model.model_construct(**values)


def blocks(err: DomainError, command: type[CaseCommandBase]) -> bool:
    """Whether a refusal stands whatever the form says: it names no form field."""
    if isinstance(err, CaseClosed) or err.field is None:
        return True
    head = err.field.split(".", 1)[0]
    return head in NOT_ON_FORMS or head not in command.model_fields


def dry_run(state: dc.CaseState, command: type[CaseCommandBase], actor: Actor,
            now: datetime) -> Action:
    """The decider's verdict on the command for this actor now, as an Action."""
    subject = state.respondent.person_id if state.respondent else actor.id
    name = command.__name__
    action = Action(name=name, title=title_of(name), status="available",
                    form=controls(command))
    try:
        probe = _probe(command, subject, now, actor=actor, authority=PROBE_TEXT)
        events = decide(state, probe, now)
    except DomainError as err:
        if blocks(err, command):
            rule = BY_ID.get(err.rule)
            action.status = "blocked"
            action.rule, action.reason = err.rule, err.message
            action.rule_title = rule.title if rule is not None else None
        return action
    except Exception:  # a placeholder the decider could not read: the form will tell
        return action
    if not events:
        action.status = "done"
        action.reason = "nothing to record now (already on record, or nothing to act on)"
    return action


def actions_for(state: dc.CaseState, actor: Actor, now: datetime) -> list[Action]:
    """Every command the actor's role may send, available ones first."""
    found = [dry_run(state, cls, actor, now) for cls in commands_for(actor.role)]
    order = {"available": 0, "blocked": 1, "done": 2}
    return sorted(found, key=lambda a: order[a.status])
