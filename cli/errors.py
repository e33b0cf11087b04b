"""How every CLI failure is reported: one line (one JSON object with --json), never a
traceback, with the README's exit status.

0 ok; 1 a business rejection or a failed check; 2 bad configuration, usage or input;
3 a service unreachable (or gone mid-call) or not migrated. 141 (128 + SIGPIPE), silently,
when the reader of the output went away (``| head``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from typing import Any

import asyncpg
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from ..domain.base import DomainError
from ..domain.policy import PolicyError
from ..services.api_client import Unauthenticated
from ..services.client import ClientError, CommandRejected, NotFound, ServiceUnavailable
from ..services.client_errors import is_bad_input
from ..settings import ConfigError, Settings
from ..store.crypto import KeyUnavailable
from ..store.errors import UnreadableEvent
from ..worker import SchemaNotReady
from .common import InputError

OK, REJECTED, USAGE, UNAVAILABLE = 0, 1, 2, 3
PIPE_CLOSED = 141

log = logging.getLogger("dueprocess.cli")


@dataclasses.dataclass
class Failure:
    code: int
    message: str
    type: str
    rule: str | None = None
    field: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {"error": self.message, "type": self.type, "rule": self.rule,
                "field": self.field, "exit_status": self.code, **self.extra}


def _validation(err: ValidationError) -> Failure:
    problems = [{"field": ".".join(str(x) for x in e["loc"]), "rule": e["type"],
                 "message": e["msg"]} for e in err.errors()]
    shown = "; ".join(f"{p['field'] or '(command)'}: {p['message']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    first = problems[0] if problems else {"field": None, "rule": None}
    return Failure(USAGE, f"invalid input: {shown}{more}", "InvalidInput", first["rule"],
                   first["field"] or None, {"problems": problems})


def _rejection(err: ClientError | DomainError) -> Failure:
    # An unknown case is exit 2 however it was found out (the API answers 404 for both);
    # so is input found invalid here or by the API (it answers InvalidInput).
    invalid = is_bad_input(err)
    code = USAGE if invalid or isinstance(err, NotFound) or err.rule == "case-exists" \
        else REJECTED
    said = "rejected" if code == REJECTED else "invalid input" if invalid else "not found"
    return Failure(code, f"{said}: {err.error_type} ({err.rule})"
                   + (f" field {err.field}" if err.field else "") + f": {err.message}",
                   err.error_type, err.rule, err.field,
                   {"rejected": True} if code == REJECTED else {})


def _odd_data(err: UnreadableEvent) -> Failure:
    # A finding about the record, not a crash: exit 1 as a failed check; verify says
    # whether the event was altered.
    return Failure(REJECTED, f"odd stored data: {err} (`dueprocess verify` checks the log)",
                   err.error_type, "stored-record-readable", None,
                   {"stream_id": err.stream_id, "stream_version": err.stream_version,
                    "event_id": err.event_id})


def classify(err: BaseException, settings: Settings | None) -> Failure:
    """The failure a command ended with, as the user is told about it."""
    if isinstance(err, UnreadableEvent):
        return _odd_data(err)
    if isinstance(err, ValidationError):
        return _validation(err)
    over_api = settings is not None and settings.api_url is not None
    if isinstance(err, ServiceUnavailable):
        where = "DUEPROCESS_API_URL" if over_api else "DUEPROCESS_TEMPORAL_ADDRESS"
        return Failure(UNAVAILABLE, f"{err.message} ({where})", err.error_type, err.rule)
    if isinstance(err, Unauthenticated):
        return Failure(USAGE, f"the API refused the token: {err.message} (DUEPROCESS_TOKEN)",
                       err.error_type, err.rule, err.field)
    if isinstance(err, CommandRejected | DomainError):
        return _rejection(err)
    if isinstance(err, ClientError):
        return Failure(REJECTED, err.message, err.error_type, err.rule, err.field)
    if isinstance(err, InputError):
        return Failure(USAGE, str(err), "InvalidInput", err.rule, err.field)
    if isinstance(err, PolicyError):
        return Failure(USAGE, f"policy file: {err}", "InvalidPolicy", "valid-policy", err.field)
    if isinstance(err, ConfigError | KeyUnavailable):
        text = str(err).replace(":\n  ", ": ").replace("\n  ", "; ")
        return Failure(USAGE, text, "Configuration", "configuration")
    if isinstance(err, OSError) and err.filename is not None:
        why = "no such file" if isinstance(err, FileNotFoundError) else (err.strerror or "")
        return Failure(USAGE, f"{err.filename}: {why}", "InvalidInput", "readable-file",
                       "--file")
    if isinstance(err, UnicodeError):
        return Failure(USAGE, f"input is not valid text: {err}", "InvalidInput", "utf-8")
    return _service_problem(err, settings)


def _service_problem(err: BaseException, settings: Settings | None) -> Failure:
    if isinstance(err, SchemaNotReady):
        return Failure(UNAVAILABLE, str(err), "SchemaNotReady", "schema-migrated")
    if isinstance(err, asyncpg.DataError):
        return Failure(USAGE, f"the database refused the input: {err}", "InvalidInput",
                       "database-accepts-input")
    if isinstance(err, OSError | asyncpg.PostgresError | asyncpg.InterfaceError):
        where = ("DUEPROCESS_DATABASE_URL" if settings and settings.database_url
                 else "the embedded database")
        return Failure(UNAVAILABLE, f"cannot use {where}: {err}", "ServiceUnavailable",
                       "database-reachable")
    address = (settings.temporal_address if settings else None) or "the Temporal address in use"
    if isinstance(err, RuntimeError) and "client connect" in str(err):
        return Failure(UNAVAILABLE, f"cannot reach Temporal at {address} "
                       f"(DUEPROCESS_TEMPORAL_ADDRESS): {err}", "ServiceUnavailable",
                       "temporal-reachable")
    if isinstance(err, RPCError) and err.status not in (RPCStatusCode.INVALID_ARGUMENT,
                                                         RPCStatusCode.NOT_FOUND):
        return Failure(UNAVAILABLE, f"Temporal at {address}: {err.message}",
                       "ServiceUnavailable", "temporal-reachable")
    if "payload encoding" in str(err) or "payload sealed" in str(err):
        return Failure(USAGE, f"cannot read Temporal payloads: {err} (DUEPROCESS_PAYLOAD_KEY "
                       "must match the workers')", "Configuration", "payload-key")
    log.debug("unexpected failure", exc_info=err)
    return Failure(REJECTED, f"internal error: {type(err).__name__}: {err}", "InternalError")


def report(failure: Failure, *, as_json: bool) -> int:
    """One line: a JSON object on stdout with --json, else text on stderr."""
    if as_json:
        print(json.dumps(failure.document(), default=str, ensure_ascii=False))
    else:
        print(f"dueprocess: {' '.join(failure.message.split())}", file=sys.stderr)
    return failure.code
