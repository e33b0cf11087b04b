"""A running `dueprocess dev` (or `worker`) announces itself in the data dir.

Client and store commands (`dueprocess case ...`, `verify`, ...) and `demo` find the
running stack through ``dev.json`` instead of starting a second PostgreSQL and Temporal
server on the same files. The announcement names the process that wrote it, so one left
behind by a killed process is recognised as stale and ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEV_FILE = "dev.json"


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def running_stack(data_dir: Path) -> dict[str, Any]:
    """The announcement of the live stack using ``data_dir``, or {} when there is none."""
    path = data_dir / DEV_FILE
    try:
        info = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(info, dict):
        return {}
    # Announcements from before the pid was recorded are trusted as before.
    if "pid" in info and not _alive(info["pid"]):
        return {}
    return info


@contextlib.contextmanager
def announced(data_dir: Path, info: dict[str, Any]) -> Iterator[None]:
    """Announce the stack in ``data_dir`` while the block runs; not over another live
    process's announcement (a worker joining a running `dev` with its addresses must not
    hide that stack from the client commands, nor remove its file when it stops)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / DEV_FILE
    if running_stack(data_dir).get("pid", os.getpid()) != os.getpid():
        yield
        return
    scratch = path.with_suffix(".tmp")
    # Owner-only: it names the database URL.
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({**info, "pid": os.getpid()}, out)
    scratch.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text("utf-8")).get("pid") == os.getpid():
                path.unlink()
