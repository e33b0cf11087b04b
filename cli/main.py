"""The `dueprocess` command. Every subcommand takes --json for machine-readable output.

Exit status: 0 success, 1 a check failed (verify/audit) or a business rejection,
2 bad configuration, usage or input, 3 a service could not be reached (or went away
mid-call) or is not migrated; 141, silently, when the output's reader went away. Every
failure is one line (a JSON object with --json): see cli/errors.py.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..api.app import create_app
from ..devstack.announce import announced, running_stack
from ..devstack.issuer import serving
from ..settings import Settings
from ..store.migrations import migrate
from ..worker import Runtime, open_runtime, run_worker

# Importing a command module registers its subcommands (cli/common.py).
from . import (  # noqa: F401
    api,
    audit,
    cases,
    checkpoints,
    demo,
    export,
    imports,
    keys,
    policy,
    relay,
    remote,
    retention,
    rules,
    stats,
    token,
)
from .api import (
    DEFAULT_PORT,
    api_config,
    api_services,
    bind,
    console_config,
    serving_api,
    verifier_for,
)
from .common import COMMANDS, EXTENSIONS, InputError, command, emit, stop_event
from .connect import connect_pool, with_running_stack
from .errors import PIPE_CLOSED, USAGE, classify, report

# -- issue: foundation -------------------------------------------------------------------


@command("dev")
async def _dev(args: argparse.Namespace, settings: Settings) -> int:
    _refuse_second_stack(settings)
    stop = stop_event()
    async with contextlib.AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(open_runtime(settings, ui=not args.headless))
        # Without an IdP configured, a local issuer (`dueprocess token` mints for it).
        oidc_issuer = settings.oidc_issuer
        if oidc_issuer is None:
            oidc_issuer = await stack.enter_async_context(
                serving(settings.data_dir, settings.oidc_audience))
        # On Ctrl-C or SIGTERM the API drains first, while the worker still serves the
        # requests it holds; then the worker stops (the drain takes at most 5 s).
        drained = asyncio.Event()
        api_url, api_note = await _serve_api(args, settings, runtime, oidc_issuer, stack,
                                             stop, drained)
        info = {
            "database": "embedded" if runtime.embedded_database else "external",
            "database_url": runtime.dsn,
            "temporal_address": runtime.temporal_address,
            "temporal_ui": runtime.ui_url,
            "namespace": settings.temporal_namespace,
            "task_queue": settings.task_queue,
            "data_dir": str(settings.data_dir.resolve()),
            "oidc_issuer": oidc_issuer,
            "api_url": api_url,
            # the browser console, served by the same API (console/, signed in by the issuer)
            "console_url": f"{api_url}/console/" if api_url else None,
        }
        lines = ["dueprocess dev: stack and worker running (Ctrl-C to stop)"]
        lines += [f"  {k:17} {v}" for k, v in info.items() if v is not None]
        if api_note:
            lines.append(f"  {'':17} ({api_note})")
        emit(args, info, "\n".join(lines))
        sys.stdout.flush()
        with announced(settings.data_dir, info):
            # one process: it posts too
            await run_worker(runtime, drained if api_url else stop, beside=True)
    if not args.json:
        print("dueprocess dev: stopped cleanly")
    return 0


async def _serve_api(args: argparse.Namespace, settings: Settings, runtime: Runtime,
                     oidc_issuer: str, stack: contextlib.AsyncExitStack,
                     stop: asyncio.Event, drained: asyncio.Event,
                     ) -> tuple[str | None, str | None]:
    """The HTTP API in-process, on --api-port (or a free port when that one is taken):
    its URL, and a note when it is not on the port asked for."""
    if args.no_api:
        return None, None
    if not 0 <= args.api_port <= 65535:
        raise InputError("--api-port: must be 0-65535", field="--api-port", rule="port")
    app = create_app(api_services(runtime, settings), verifier_for(settings, oidc_issuer),
                     api_config(settings), console_config(settings, oidc_issuer, dev=True))
    sock = bind(args.api_host, args.api_port, fallback=True)
    url = await stack.enter_async_context(serving_api(app, sock, stop=stop, drained=drained))
    taken = args.api_port and sock.getsockname()[1] != args.api_port
    return url, f"port {args.api_port} was taken: serving on a free one" if taken else None


@command("worker")
async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    # On the data dir of a running `dev`: one more worker for that stack (as `demo` and
    # `api` join it), never a second PostgreSQL and Temporal server on its files; given
    # only one of the two addresses, refused (half its stack and half another).
    if not (settings.database_url or settings.temporal_address):
        settings = with_running_stack(settings)
    _refuse_second_stack(settings)
    stop = stop_event()
    async with open_runtime(settings) as runtime:
        info = {"temporal_address": runtime.temporal_address, "database_url": runtime.dsn,
                "task_queue": settings.task_queue}
        emit(args, {k: v for k, v in info.items() if k != "database_url"},
             f"worker polling {settings.task_queue!r} on {runtime.temporal_address}")
        with announced(settings.data_dir, info):
            await run_worker(runtime, stop)
    return 0


def _refuse_second_stack(settings: Settings) -> None:
    """Two embedded stacks on one data dir would share PostgreSQL's and Temporal's files
    (either server alone is one too many)."""
    info = running_stack(settings.data_dir)
    if info and not (settings.database_url and settings.temporal_address):
        raise InputError(f"a `dueprocess dev` or worker (pid {info.get('pid', '?')}) is already "
                         f"running with data dir {settings.data_dir}: use it (client "
                         "commands, `demo` and `worker` join it), or stop it first",
                         field="DUEPROCESS_DATA_DIR", rule="one-stack-per-data-dir")


@command("migrate")
async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async with connect_pool(settings, migrate_embedded=False, owner=True) as pool, \
            pool.acquire() as conn:
        applied = await migrate(conn)
    emit(args, {"applied": applied},
         "applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


# -- parsing -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (the full usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        # argparse names the argument first ("argument --stage: invalid choice: ...").
        named = re.match(r"argument ([^:]+): ", message)
        # The subcommand, if any: every line already starts "dueprocess: " (cli/errors.py).
        where = self.prog.partition(" ")[2]
        raise InputError(f"{where + ': ' if where else ''}{message} (see --help)",
                         rule="usage", field=named.group(1).split("/")[0] if named else None)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    dev.add_argument("--api-host", default="127.0.0.1", help="address the HTTP API listens on")
    dev.add_argument("--api-port", type=int, default=DEFAULT_PORT,
                     help=f"port of the HTTP API (default {DEFAULT_PORT}; a free one when it "
                          "is taken, 0: any free one)")
    dev.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
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
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    # Input may carry text that does not encode (a lone surrogate): echo it escaped.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = _main(argv, as_json)
        sys.stdout.flush()  # here, so a reader gone away is noticed while it can be handled
    except BrokenPipeError:
        return _pipe_closed()
    return code


def _main(argv: list[str], as_json: bool) -> int:
    settings = None
    try:
        args = build_parser().parse_args(argv)
        settings = Settings.from_env(os.environ)
        return asyncio.run(COMMANDS[args.command](args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else USAGE
    except Exception as err:  # every failure: one line, the README's exit status
        return report(classify(err, settings), as_json=as_json)


def _pipe_closed() -> int:
    """The reader went away (`| head`): stop quietly, as Unix tools do; nothing is left
    for Python to flush into the closed pipe at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return PIPE_CLOSED
