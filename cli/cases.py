"""CLI commands over the typed client: `case file|send|state|deadlines|timeline`.

Input is read and validated before any service is contacted, so bad input is exit status
2 whether or not the services are up.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..domain import case as dc
from ..domain.streams import notification_stream
from ..services.client import DueProcessClient
from ..services.timeline import render_timeline, timeline_entry
from ..settings import Settings
from ..store.errors import stored_data
from ..store.eventstore import EventStore
from ..workflows.case import DecisionResult, case_stream
from .common import EXTENSIONS, InputError, command, emit, read_json, require_id

# Other command modules import these from here.
from .connect import connect_client, connect_pool, store_for

__all__ = ["case_timeline", "connect_client", "connect_pool", "store_for"]


async def case_timeline(store: EventStore, case_id: str) -> list[dict[str, Any]]:
    events = await store.read_streams(
        [case_stream(case_id), notification_stream(case_id)])
    if not events:  # an unknown case is refused, as `case state` refuses it
        raise InputError(f"case {case_id!r}: no such case in this store", field="case_id",
                         rule="case-exists")
    with stored_data("the case's timeline"):
        return [timeline_entry(e) for e in events]


def _report(args: argparse.Namespace, settings: Settings) -> dc.FileReport:
    if args.key is None or not args.key.strip():
        raise InputError("case file: --key is required (the intake's idempotency key)",
                         field="--key", rule="required")
    require_id(args.key, "--key")
    if args.case_id is not None:
        raise InputError("case file: takes no case id (it is derived from --key)",
                         field="case_id", rule="usage")
    raw = read_json(args.file)
    raw.setdefault("type", "FileReport")
    # No rulebook is added: the workflow files it under the published one.
    return dc.FileReport.model_validate(raw)


async def _case_timeline(args: argparse.Namespace, settings: Settings, case_id: str) -> int:
    async with connect_pool(settings) as pool:
        timeline = await case_timeline(store_for(pool, settings), case_id)
    emit(args, {"case_id": case_id, "timeline": timeline}, render_timeline(timeline))
    return 0


@command("case")
async def _case(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "file":
        report = _report(args, settings)
    else:
        case_id = require_id(args.case_id, "case_id")
        if args.action == "timeline":
            return await _case_timeline(args, settings, case_id)
        command_ = (dc.CASE_COMMAND_ADAPTER.validate_python(read_json(args.file))
                    if args.action == "send" else None)
    async with connect_client(settings) as temporal:
        client = DueProcessClient(temporal, settings.task_queue)
        if args.action == "file":
            result = await client.file_report(report, idempotency_key=args.key)
        elif command_ is not None:
            result = await client.send(case_id, command_)
        elif args.action == "state":
            state = await client.state(case_id)
            hold = state.reporting.hold if state.reporting.held else None
            held = f"; held until {hold.held_until.isoformat()}: {hold.reasons}" if hold else ""
            emit(args, state.model_dump(mode="json"), f"case {case_id}: stage {state.stage}{held}")
            return 0
        else:
            deadlines = await client.deadlines(case_id)
            emit(args, [d.model_dump(mode="json") for d in deadlines],
                 "\n".join(f"{d.due_at.isoformat()}  {d.kind}" for d in deadlines)
                 or "no pending deadlines")
            return 0
    _result(args, result)
    return 0


def _result(args: argparse.Namespace, result: DecisionResult) -> None:
    emit(args, result.model_dump(mode="json"),
         f"case {result.case_id} at version {result.version}: "
         + (", ".join(e.type for e in result.events) or "no change (already recorded)"))


def _extend(sub: Any, add: Any) -> None:
    case = add("case", "start a case, send decisions, read state (uses the typed client)")
    case.add_argument("action", choices=["file", "send", "state", "deadlines", "timeline"])
    case.add_argument("case_id", nargs="?", help="case id (send/state/deadlines/timeline)")
    case.add_argument("--file", default="-", help="JSON command file, '-' for stdin")
    case.add_argument("--key", help="idempotency key of the intake (file)")


EXTENSIONS.append(_extend)
