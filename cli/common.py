"""What every CLI command module shares: the command registry, output and input.

A command module registers its handlers with ``@command(name)`` and its subparsers by
appending to ``EXTENSIONS``; cli/main.py imports the module (which registers it) and
builds the parser from them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ..domain.text import ID, text_problem
from ..settings import ConfigError, Settings

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Handler] = {}


def stop_event() -> asyncio.Event:
    """Set on Ctrl-C or SIGTERM so services shut down in order instead of dying mid-step."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


def emit(args: argparse.Namespace, document: Any, text: str) -> None:
    if args.json:
        print(json.dumps(document, indent=2, default=str, ensure_ascii=False))
    else:
        print(text)


class InputError(ConfigError):
    """Bad input on the command line or in an input file: exit status 2, naming the field
    and the rule broken."""

    def __init__(self, message: str, *, field: str | None = None,
                 rule: str = "valid-input") -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


def read_json(source: str, *, field: str = "--file") -> dict[str, Any]:
    """A JSON object from a file, or from stdin for '-'."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text", field=field, rule="json-object") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory", field=field, rule="json-object") from None
    try:
        document = json.loads(text)
    except ValueError as err:
        raise InputError(f"{source}: not valid JSON ({err})", field=field,
                         rule="json-object") from None
    if not isinstance(document, dict):
        raise InputError(f"{source}: must be a JSON object, not {type(document).__name__}",
                         field=field, rule="json-object")
    return document


def require_id(value: str | None, field: str) -> str:
    """An id given on the command line (case, member, person): present, short, one line."""
    if value is None or not value.strip():
        raise InputError(f"{field}: required", field=field, rule="required")
    if (problem := text_problem(value, ID)) is not None:
        raise InputError(f"{field}: {problem[1]}", field=field, rule=problem[0])
    return value


# Command modules add their subparsers here; main builds the parser from them.
EXTENSIONS: list[Callable[[Any, Callable[[str, str], argparse.ArgumentParser]], None]] = []
