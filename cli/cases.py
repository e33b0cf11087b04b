"""CLI commands over the typed client: demo, and `case file|send|state|deadlines|timeline`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from temporalio.client import Client

from ..services.codec import data_converter
from ..services.policyfile import load_policy_file
from ..settings import ConfigError, Settings
from ..store.db import Database, create_pool
from .common import EXTENSIONS, command, emit

if TYPE_CHECKING:
    from ..store.eventstore import EventStore

DEV_FILE = "dev.json"


def _read_json(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    try:
        return json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{source}: not valid JSON ({err})") from None


def _dev_info(settings: Settings) -> dict[str, Any]:
    path = settings.data_dir / DEV_FILE
    return dict(json.loads(path.read_text())) if path.exists() else {}


@asynccontextmanager
async def connect_client(settings: Settings) -> AsyncIterator[Client]:
    """Client commands never start servers: they use the configured address or the one
    a running `dueprocess dev` wrote to the data dir."""
    address = settings.temporal_address or _dev_info(settings).get("temporal_address")
    if not address:
        raise ConfigError("DUEPROCESS_TEMPORAL_ADDRESS: not set and no `dueprocess dev` is "
                          f"running with data dir {settings.data_dir}")
    yield await Client.connect(**settings.temporal_connect_args(address),
                               data_converter=data_converter(settings.payload_key_bytes()))


@asynccontextmanager
async def connect_pool(
    settings: Settings, *, migrate_embedded: bool = True
) -> AsyncIterator[Database]:
    """The configured database, else the one a running `dueprocess dev` uses, else the
    embedded server in the data dir, started for this command and stopped after it."""
    from ..devstack.stack import EmbeddedPostgres

    server = None
    dsn = settings.database_url or _dev_info(settings).get("database_url")
    if not dsn:
        from ..worker import require_dev_servers

        require_dev_servers(database=True, temporal=False)
        server = EmbeddedPostgres(settings.data_dir.resolve())
        dsn = await asyncio.to_thread(server.start)
    try:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            if server is not None and migrate_embedded:
                from ..worker import ensure_schema

                await ensure_schema(pool, apply=True)
            yield pool
        finally:
            await pool.close()
    finally:
        if server is not None:
            await asyncio.to_thread(server.release)


def _rejection_exit(args: argparse.Namespace, err: Exception) -> int:
    from ..services.client import CommandRejected

    if isinstance(err, CommandRejected):
        doc = {"rejected": True, "type": err.error_type, "rule": err.rule, "field": err.field,
               "message": err.message}
        text = f"rejected: {err.error_type} ({err.rule})"
        text += f" field {err.field}" if err.field else ""
        emit(args, doc, f"{text}: {err.message}")
        return 1
    if isinstance(err, ValidationError):
        problems = [{"field": ".".join(str(x) for x in e["loc"]), "rule": e["msg"]}
                    for e in err.errors()]
        emit(args, {"rejected": True, "type": "InvalidInput", "problems": problems},
             "invalid input:\n" + "\n".join(f"  {p['field']}: {p['rule']}" for p in problems))
        return 1
    raise err


def store_for(pool: Database, settings: Settings) -> EventStore:
    """The event store as the configured workers use it (same key wrapping)."""
    from ..store.eventstore import EventStore

    return EventStore(pool, key_wrap=settings.key_wrap())


async def case_timeline(store: EventStore, case_id: str) -> list[dict[str, Any]]:
    from ..activities.notifications import notification_stream
    from ..devstack.demo import timeline_entry
    from ..workflows.case import case_stream

    events = await store.read_streams(
        [case_stream(case_id), notification_stream(case_id)])
    return [timeline_entry(e) for e in events]


@command("demo")
async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from ..devstack.demo import render_timeline, run_demo
    from ..services.client import DueProcessClient
    from ..services.members import MemberService, case_streams_for
    from ..worker import build_worker, open_runtime

    policy = load_policy_file(args.policy or settings.policy_file)
    async with open_runtime(settings) as runtime:
        async with build_worker(runtime):
            client = DueProcessClient(runtime.client, settings.task_queue)
            members = MemberService(runtime.store, policy)
            case_id, people = await run_demo(client, policy, members)
            # The workflow finishes once its notifications are dispatched and recorded.
            await runtime.client.get_workflow_handle(case_id).result()
        timeline = await case_timeline(runtime.store, case_id)
        standing = await members.standing(
            people.respondent, policy, datetime.now(UTC),
            case_streams=await case_streams_for(runtime.pool, people.respondent))
    doc = {"case_id": case_id, "people": people.model_dump(), "timeline": timeline,
           "respondent_standing": standing.model_dump(mode="json")}
    rights = ", ".join(str(r) for r in standing.rights) or "none"
    emit(args, doc, f"case {case_id}\n{render_timeline(timeline)}\n"
         f"{len(timeline)} events recorded; `dueprocess verify` re-checks them.\n"
         f"respondent now: {standing.status}, rights {rights}, membership "
         f"{standing.membership_number} continuous since {standing.continuous_since}\n"
         f"next: `dueprocess audit case {case_id}` checks every due-process rule.")
    return 0


@command("case")
async def _case(args: argparse.Namespace, settings: Settings) -> int:
    from ..domain import case as dc
    from ..services.client import DueProcessClient

    if args.action == "timeline":
        async with connect_pool(settings) as pool:
            timeline = await case_timeline(store_for(pool, settings), args.case_id)
        from ..devstack.demo import render_timeline

        emit(args, {"case_id": args.case_id, "timeline": timeline}, render_timeline(timeline))
        return 0
    async with connect_client(settings) as temporal:
        client = DueProcessClient(temporal, settings.task_queue)
        try:
            if args.action == "file":
                raw = _read_json(args.file)
                raw.setdefault("type", "FileReport")
                if "policy" not in raw:
                    policy = load_policy_file(args.policy or settings.policy_file)
                    raw["policy"] = policy.model_dump(mode="json")
                report = dc.FileReport.model_validate(raw)
                result = await client.file_report(report, idempotency_key=args.key)
            elif args.action == "send":
                cmd = dc.CASE_COMMAND_ADAPTER.validate_python(_read_json(args.file))
                result = await client.send(args.case_id, cmd)
            elif args.action == "state":
                state = await client.state(args.case_id)
                emit(args, state.model_dump(mode="json"),
                     f"case {args.case_id}: stage {state.stage}")
                return 0
            else:
                deadlines = await client.deadlines(args.case_id)
                emit(args, [d.model_dump(mode="json") for d in deadlines],
                     "\n".join(f"{d.due_at.isoformat()}  {d.kind}" for d in deadlines)
                     or "no pending deadlines")
                return 0
        except Exception as err:
            return _rejection_exit(args, err)
    emit(args, result.model_dump(mode="json"),
         f"case {result.case_id} at version {result.version}: "
         + (", ".join(e.type for e in result.events) or "no change (already recorded)"))
    return 0


def _extend(sub: Any, add: Any) -> None:
    demo = add("demo", "run a realistic case end to end on the embedded stack")
    demo.add_argument("--policy", type=Path, help="policy file (default: the shipped sample)")
    case = add("case", "start a case, send decisions, read state (uses the typed client)")
    case.add_argument("action", choices=["file", "send", "state", "deadlines", "timeline"])
    case.add_argument("case_id", nargs="?", help="case id (send/state/deadlines/timeline)")
    case.add_argument("--file", default="-", help="JSON command file, '-' for stdin")
    case.add_argument("--key", help="idempotency key of the intake (file)")
    case.add_argument("--policy", type=Path, help="policy file for `file` (default: sample)")


EXTENSIONS.append(_extend)
