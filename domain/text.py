"""Limits on what a command may carry: text, sizes, dates and e-mail addresses.

Every limit lives here, as a constant, so changing one is a one-line change.

Why the checks run on *commands* only, walking the validated command, and not as
validators on each value type: the value types (Complainant, Allegation, ...) are shared
with events, and events are a storage format. An event recorded before a limit existed
(a 10 MB membership number, a 300-character id) must keep reading, so limits judge what
comes in, never what is on record. ``check_command`` is called by ``CommandBase`` after
pydantic has built the command, so it sees nested values however they were supplied
(JSON, or model instances that pydantic would not re-validate).

Per-field limits are markers in ``Annotated`` types (``IdText``, ``LineText``, ...):
pydantic ignores them, the walk reads them. A marker on a field applies to the strings
inside it, including those of a nested model whose own fields carry no marker (so a
``Contact``'s marker reaches ``Personal.value``). A string without any marker may be
free text up to ``MAX_TEXT_CHARS``.

Pure, like the rest of ``domain``: no I/O, clock or environment.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Annotated, Any, Union, get_args, get_origin

# email-validator directly (pydantic's EmailStr wraps it, but imports it lazily on first
# use, which inside the workflow sandbox would be re-done for every workflow run).
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic_core import InitErrorDetails, PydanticCustomError

# -- the limits --------------------------------------------------------------------------

MAX_ID_CHARS = 200  # ids, membership numbers, hashes, roles
MAX_LINE_CHARS = 1_000  # one-line labels: a location, a channel, an outside body
MAX_TEXT_CHARS = 64 * 1024  # free text: particulars, statements, reasons
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
# Temporal refuses payloads over 2 MB (and warns from 512 KB); a command also travels in
# the update request, the workflow history and the folded state, so stay well under.
MAX_COMMAND_BYTES = 256 * 1024
MIN_YEAR, MAX_YEAR = 1900, 2200
# Longest duration a command may carry (a sanction term): beyond it, adding it to a date
# can overflow Python's datetime inside a workflow and wedge the case.
MAX_SPAN = timedelta(days=100 * 366)


# -- markers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """Most characters a string may have; ``line``: no control characters (CR, LF, ...)."""

    max_chars: int
    line: bool = False


@dataclass(frozen=True)
class Email:
    """A plain e-mail address (no display name), validated by email-validator."""


@dataclass(frozen=True)
class SystemTime:
    """A time the system computes (a timer's due time), exempt from the year bounds: the
    workflow builds these commands itself and must never fail to."""


Marker = Limit | Email | SystemTime

ID = Limit(MAX_ID_CHARS, line=True)
LINE = Limit(MAX_LINE_CHARS, line=True)
TEXT = Limit(MAX_TEXT_CHARS)


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# Ids (person, case item, membership number): non-blank, one line, short. Another
# marker (e.g. a person-reference marker) composes: Annotated[IdText, Other()].
IdText = Annotated[str, AfterValidator(not_blank), ID]
LineText = Annotated[str, AfterValidator(not_blank), LINE]  # non-blank one-line label
FreeText = Annotated[str, AfterValidator(not_blank), TEXT]  # non-blank free text
# The same limits for fields that have always allowed blank text.
OptionalId = Annotated[str, ID]
OptionalLine = Annotated[str, LINE]
OptionalText = Annotated[str, TEXT]
SystemDatetime = Annotated[AwareDatetime, SystemTime()]

# -- the walk ----------------------------------------------------------------------------


def _error(kind: str, message: str, loc: tuple[str | int, ...], value: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


# Searched, not looped over in Python: every string of every command is checked where it
# is built and again where it is decoded (the case workflow, in a decision's path). Measured
# (2026-12-02): a 960-character text 151 -> 14 us, a 38-character line 7.8 -> 0.9 us.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode's Cc category: exactly these 65 code points (tests/domain/test_text.py).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str, limit: Limit) -> tuple[str, str] | None:
    """(error kind, message) for a string that breaks ``limit``, else None."""
    if "\x00" in value:
        return "text_nul", "must not contain a NUL character"
    if _SURROGATE.search(value):
        return "text_surrogate", "must not contain a lone surrogate (not valid Unicode)"
    if len(value) > limit.max_chars:
        return "text_too_long", f"at most {limit.max_chars} characters (got {len(value)})"
    if limit.line and _CONTROL.search(value):
        return "text_control", "must be one line without control characters (CR, LF, ...)"
    return None


# A pure function of the string (no DNS), asked again for the same few addresses on every
# command that carries them: 43 us a check (email-validator's parse), a dict hit once seen.
@lru_cache(maxsize=4096)
def email_problem(value: str) -> str | None:
    if len(value) > MAX_EMAIL_CHARS or _CONTROL.search(value):
        return "not a valid e-mail address (one line, at most 254 characters)"
    try:
        validate_email(value, check_deliverability=False)  # no DNS: pure, and no network
    except EmailNotValidError as err:
        return f"not a valid e-mail address: {err}"
    return None


def _check_string(value: str, loc: tuple[str | int, ...],
                  markers: tuple[Marker, ...]) -> Iterator[InitErrorDetails]:
    limit, email = _string_rule(markers)
    if (problem := text_problem(value, limit)) is not None:
        yield _error(*problem, loc, value[:80])
    elif email and (why := email_problem(value)) is not None:
        yield _error("email", why, loc, value[:80])


@cache
def _string_rule(markers: tuple[Marker, ...]) -> tuple[Limit, bool]:
    """The limit and whether it must be an e-mail address, for a string under ``markers``
    (a field's few marker tuples, each judged once)."""
    limits = [m for m in markers if isinstance(m, Limit)]
    return (Limit(min((m.max_chars for m in limits), default=MAX_TEXT_CHARS),
                  line=any(m.line for m in limits)),
            any(isinstance(m, Email) for m in markers))


def _check_time(value: date, loc: tuple[str | int, ...],
                markers: tuple[Marker, ...]) -> Iterator[InitErrorDetails]:
    if not any(isinstance(m, SystemTime) for m in markers) \
            and not MIN_YEAR <= value.year <= MAX_YEAR:
        yield _error("date_out_of_range", f"year must be {MIN_YEAR} to {MAX_YEAR}", loc,
                     value.isoformat())


def walk(value: Any, loc: tuple[str | int, ...] = (),
         markers: tuple[Marker, ...] = ()) -> Iterator[InitErrorDetails]:
    """Every problem in ``value`` (a command, or anything inside one), with its location."""
    kind = _kind(value.__class__)
    if kind == _TEXT:
        yield from _check_string(value, loc, markers)
    elif kind == _DATE:
        yield from _check_time(value, loc, markers)
    elif kind == _SPAN:
        if abs(value) > MAX_SPAN:
            yield _error("span_too_long", f"at most {MAX_SPAN.days} days", loc, str(value))
    elif kind == _MODEL:
        for name, own in _field_markers(value.__class__).items():
            yield from walk(getattr(value, name), (*loc, name), own or markers)
    elif kind == _MAPPING:
        for key, item in value.items():
            yield from walk(key, (*loc, str(key)), (ID,))
            yield from walk(item, (*loc, str(key)), markers)
    elif kind == _COLLECTION:
        for index, item in enumerate(value):
            yield from walk(item, (*loc, index), markers)


_TEXT, _DATE, _SPAN, _MODEL, _MAPPING, _COLLECTION, _OTHER = range(7)


@cache
def _kind(cls: type) -> int:
    """What the walk does with a value of this class, judged once per class: an isinstance
    chain per value was most of the walk's time, and inside the workflow sandbox (a
    decision's path: the command is checked where the workflow decodes it) each
    isinstance is a wrapped Python call. Measured with cProfile on bench/decisions.py
    (2026-12-02): the walk was a quarter of the case workflow's activation time."""
    for kind, types_ in ((_TEXT, str), (_DATE, date), (_SPAN, timedelta), (_MODEL, BaseModel),
                         (_MAPPING, Mapping), (_COLLECTION, (list, tuple, set, frozenset))):
        if issubclass(cls, types_):
            return kind
    return _OTHER


@cache
def _field_markers(model: type[BaseModel]) -> dict[str, tuple[Marker, ...]]:
    return {name: tuple(_markers(field.annotation)) + tuple(
                m for m in field.metadata if isinstance(m, Marker))
            for name, field in model.model_fields.items()}


def _markers(annotation: Any) -> Iterator[Marker]:
    """Markers anywhere in a field's type (list[IdText], Contact | None, ...), but not
    inside the fields of a nested model: those have their own."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        yield from (m for m in metadata if isinstance(m, Marker))
        yield from _markers(base)
    elif get_origin(annotation) in (list, tuple, set, frozenset, dict, Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _markers(arg)


def command_errors(command: BaseModel) -> list[InitErrorDetails]:
    """Every limit ``command`` breaks; the total size is judged once the parts pass."""
    errors = list(walk(command))
    if not errors:
        size = len(command.model_dump_json().encode())
        if size > MAX_COMMAND_BYTES:
            errors.append(_error(
                "command_too_large",
                f"the command is {size} bytes; at most {MAX_COMMAND_BYTES} bytes in all",
                (), f"{size} bytes"))
    return errors
