"""How a running `dueprocess dev` (or worker) announces itself in its data dir
(devstack/announce.py): other processes find it there, and never hide or remove it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dueprocess.cli.connect import with_running_stack
from dueprocess.devstack.announce import DEV_FILE, announced, running_stack
from dueprocess.settings import Settings


def test_a_joining_process_never_replaces_or_removes_a_live_announcement(
        tmp_path: Path) -> None:
    # Given the announcement of another live process (this test's parent)
    theirs = {"pid": os.getppid(), "temporal_address": "127.0.0.1:7233"}
    (tmp_path / DEV_FILE).write_text(json.dumps(theirs))
    # When this process runs announced (a worker joining that stack) and stops
    with announced(tmp_path, {"temporal_address": "127.0.0.1:9"}):
        assert running_stack(tmp_path) == theirs
    # Then the stack is still announced, as it was
    assert running_stack(tmp_path) == theirs


def test_an_announcement_left_by_a_dead_process_is_ignored(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (tmp_path / DEV_FILE).write_text(json.dumps({"pid": int(dead.stdout),
                                                 "temporal_address": "127.0.0.1:1"}))
    assert running_stack(tmp_path) == {}
    assert with_running_stack(Settings(data_dir=tmp_path)).temporal_address is None
