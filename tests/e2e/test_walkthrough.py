"""The README's walkthrough, as written there, against a real `dueprocess dev`: its API,
its local issuer, `dueprocess token`, curl; then the CLI over the same API."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->",
                   re.S)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUEPROCESS_")}
    return {**env, "DUEPROCESS_DATA_DIR": str(data_dir), **extra}


def _cli(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dueprocess", *args],
                          env=_env(data_dir, **extra), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A `dueprocess dev` on a data dir of its own; yields the data dir and its api_url."""
    data_dir = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "dueprocess", "dev", "--headless",
                             "--api-port", "0"], env=_env(data_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        info: dict[str, str] = {}
        while "api_url" not in info:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError(f"dev did not come up: {proc.communicate()[1][-3000:]}")
            time.sleep(0.3)
            try:
                info = json.loads((data_dir / "dev.json").read_text())
            except (OSError, ValueError):
                info = {}
        yield data_dir, info["api_url"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "api_url" in out and "stopped cleanly" in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_readme_walkthrough_drives_a_case_over_http(dev: tuple[Path, str]) -> None:
    data_dir, api = dev
    assert shutil.which("curl") and shutil.which("jq"), "the walkthrough uses curl and jq"
    # given the README's walkthrough, exactly as written there
    [block] = BLOCK.findall((ROOT / "README.md").read_text("utf-8"))
    # `dueprocess` is this checkout's, as the installed command would be
    prelude = f'dueprocess() {{ "{sys.executable}" -m dueprocess "$@"; }}\nAPI={api}\n'
    # when it runs in a shell
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", prelude + block],
                         env=_env(data_dir), capture_output=True, text=True, timeout=300)
    # then every step answered as the README says
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out = ran.stdout.splitlines()
    case_id = out[0].removeprefix("case ")
    for expected in ('["ReportAcknowledged"]', '["HearingScheduled"]', '["ResponseSubmitted"]',
                     '{"basis":"party","stage":"notice_issued","evidence":["E1"]}',
                     '["CaseDismissed"]', '{"stage":"closed","closed":true}'):
        assert expected in out, ran.stdout
    refused = json.loads(next(line for line in out if '"status":403' in line))
    assert refused["rule"] == "role-permission"
    assert '{"ok":true,"checks":' in ran.stdout

    # and the CLI reaches the same case through the API alone (no Temporal, no database)
    over_api = {"DUEPROCESS_API_URL": api, "DUEPROCESS_DATABASE_URL": "postgresql://nowhere:1/x",
                "DUEPROCESS_TEMPORAL_ADDRESS": "127.0.0.1:9",
                "DUEPROCESS_PAYLOAD_KEY": "none-i-accept-clear-history"}
    state = _cli(data_dir, "case", "state", case_id, "--as", "investigator:staff-tom",
                 "--json", **over_api)
    assert state.returncode == 0, state.stdout + state.stderr
    assert json.loads(state.stdout)["stage"] == "hearing_scheduled"
    # a party of another case stating a break-glass purpose: refused, and on the record
    stranger = _cli(data_dir, "case", "timeline", case_id, "--as", "respondent:m-zed",
                    "--break-glass", "curious", "--json", **over_api)
    assert stranger.returncode == 1 and json.loads(stranger.stdout)["rule"] == "read-authorised"
    glass = _cli(data_dir, "case", "timeline", case_id, "--as", "investigator:staff-zed",
                 "--break-glass", "covering for Tom", "--json", **over_api)
    assert glass.returncode == 0, glass.stdout + glass.stderr
    access = _cli(data_dir, "audit", "access", case_id, "--as", "auditor:aud-1", "--json",
                  **over_api)
    log = {(e["reader"]["id"], e["basis"], e["flagged"], e["refused"])
           for e in json.loads(access.stdout)}
    assert {("m-daniel", "party", False, False), ("staff-zed", "break-glass", True, False),
            ("m-zed", "break-glass-refused", True, True)} <= log
    # and the other case commands answer over the API too
    for argv, check in (
        (["records", "read", case_id, "--as", "investigator:staff-tom", "--purpose", "prep"],
         lambda doc: doc["state"]["stage"] == "hearing_scheduled"),
        (["audit", "member", "m-daniel", "--as", "auditor:aud-1"],
         lambda doc: doc["member_id"] == "m-daniel"),
        (["audit", "case", case_id, "--as", "auditor:aud-1"], lambda doc: doc["ok"]),
        (["cases", "--as", "auditor:aud-1"],
         lambda doc: case_id in {c["case_id"] for c in doc}),
        (["stats", "--as", "auditor:aud-1"], lambda doc: doc["cases"] == 2),
        (["rules", "--as", "auditor:aud-1"], lambda doc: len(doc) > 10),
    ):
        done = _cli(data_dir, *argv, "--json", **over_api)
        assert done.returncode == 0 and check(json.loads(done.stdout)), done.stdout + done.stderr
    # a token the API refuses is a configuration error naming DUEPROCESS_TOKEN
    bad = _cli(data_dir, "cases", **over_api, DUEPROCESS_TOKEN="not-a-token")
    assert bad.returncode == 2 and "DUEPROCESS_TOKEN" in bad.stderr
