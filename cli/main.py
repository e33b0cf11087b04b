"""The `dueprocess` command. Every subcommand takes --json for machine-readable output.

Exit status: 0 success, 1 a check failed (verify/audit) or a business rejection,
2 bad configuration or usage, 3 a service could not be reached or is not migrated.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from pydantic import ValidationError

from ..domain.policy import PolicyError
from ..settings import ConfigError, Settings
from ..store.crypto import KeyUnavailable
from . import audit, cases, checkpoints, policy, rules  # noqa: F401  (importing them registers their subcommands)
from .common import COMMANDS, EXTENSIONS, command, emit


def _stop_event() -> asyncio.Event:
    """Set on Ctrl-C or SIGTERM so services shut down in order instead of dying mid-step."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


# -- issue: foundation -------------------------------------------------------------------


@command("dev")
async def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from ..worker import open_runtime, run_worker

    stop = _stop_event()
    async with open_runtime(settings, ui=not args.headless) as runtime:
        info = {
            "database": "embedded" if runtime.embedded_database else "external",
            "database_url": runtime.dsn,
            "temporal_address": runtime.temporal_address,
            "temporal_ui": runtime.ui_url,
            "namespace": settings.temporal_namespace,
            "task_queue": settings.task_queue,
            "data_dir": str(settings.data_dir.resolve()),
        }
        lines = ["dueprocess dev: stack and worker running (Ctrl-C to stop)"]
        lines += [f"  {k:17} {v}" for k, v in info.items() if v is not None]
        emit(args, info, "\n".join(lines))
        sys.stdout.flush()
        with _announced(settings, info):
            await run_worker(runtime, stop)
    if not args.json:
        print("dueprocess dev: stopped cleanly")
    return 0


@command("worker")
async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from ..worker import open_runtime, run_worker

    stop = _stop_event()
    async with open_runtime(settings) as runtime:
        info = {"temporal_address": runtime.temporal_address, "database_url": runtime.dsn,
                "task_queue": settings.task_queue}
        emit(args, {k: v for k, v in info.items() if k != "database_url"},
             f"worker polling {settings.task_queue!r} on {runtime.temporal_address}")
        with _announced(settings, info):
            await run_worker(runtime, stop)
    return 0


@contextlib.contextmanager
def _announced(settings: Settings, info: dict[str, Any]) -> Iterator[None]:
    """Client and store commands (`dueprocess case ...`, `verify`, ...) find the running
    stack through the data dir instead of starting a second one."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    announcement = settings.data_dir / "dev.json"
    announcement.write_text(json.dumps(info))
    try:
        yield
    finally:
        announcement.unlink(missing_ok=True)


@command("migrate")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from ..store.migrations import migrate
    from .cases import connect_pool

    async with connect_pool(settings, migrate_embedded=False, owner=True) as pool, \
            pool.acquire() as conn:
        applied = await migrate(conn)
    emit(args, {"applied": applied},
         "applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


# -- parsing -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dueprocess",
        description="Event-sourced disciplinary workflow engine. Configure with DUEPROCESS_* "
        "environment variables; with none set, an embedded PostgreSQL and Temporal dev "
        "server run from the data dir (DUEPROCESS_DATA_DIR, default ./.dueprocess).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    dev = add("dev", "run the embedded stack plus a worker in the foreground")
    dev.add_argument("--headless", action="store_true", help="do not serve the Temporal UI")
    add("worker", "run a worker against the configured services")
    add("migrate", "apply pending SQL migrations (idempotent)")
    for extend in EXTENSIONS:
        extend(sub, add)
    return parser


def run() -> NoReturn:
    """The console command: ``main``, then exit without interpreter finalisation.

    The Temporal client's Rust runtime keeps threads that can race CPython's finalisation
    and abort a short-lived client process after its work is done (temporalio/sdk-python
    #300; seen here as exit status -6 after `case send` printed its answer). Exit hooks
    still run first (logging, telemetry, and embedded PostgreSQL's own cleanup should a
    start have been interrupted); only the finalisation that races those threads is
    skipped.
    """
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as err:
        print(f"dueprocess: {err}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(COMMANDS[args.command](args, settings))
    except KeyboardInterrupt:
        return 130
    except ConfigError as err:
        print(f"dueprocess: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"dueprocess: {err.filename}: no such file", file=sys.stderr)
        return 2
    except ValidationError as err:
        print(f"dueprocess: invalid input:\n{_problems(err)}", file=sys.stderr)
        return 2
    except PolicyError as err:
        print(f"dueprocess: policy file: {err}", file=sys.stderr)
        return 2
    except KeyUnavailable as err:  # a key-encryption key missing or wrong: configuration
        print(f"dueprocess: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # unreachable services get one clear line
        message = _service_problem(err, settings)
        if message is None:
            raise
        print(f"dueprocess: {message}", file=sys.stderr)
        return 3


def _problems(err: ValidationError) -> str:
    return "\n".join(f"  {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors())


def _service_problem(err: Exception, settings: Settings) -> str | None:
    """A one-line explanation for failures to reach or use the configured services."""
    from ..worker import SchemaNotReady

    if isinstance(err, SchemaNotReady):
        return str(err)
    if isinstance(err, OSError) or type(err).__module__.startswith("asyncpg"):
        where = "DUEPROCESS_DATABASE_URL" if settings.database_url else "the embedded database"
        return f"cannot use {where}: {err}"
    if isinstance(err, RuntimeError) and "client connect" in str(err):
        address = settings.temporal_address or "the Temporal address in use"
        return f"cannot reach Temporal at {address} (DUEPROCESS_TEMPORAL_ADDRESS): {err}"
    return None

