"""`dueprocess token`: a token from the local issuer the dev stack announces, verified by
the production code path; bad use is one line naming the field."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dueprocess.cli.main import main
from dueprocess.devstack.announce import announced
from dueprocess.devstack.issuer import LocalIssuer
from dueprocess.services.identity import TokenVerifier


@pytest.fixture
async def dev_issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Given a data dir whose (this process's) dev stack announces a local issuer."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DUEPROCESS_OIDC_ISSUER", raising=False)
    issuer = LocalIssuer(data_dir)
    url = await issuer.start()
    with announced(data_dir, {"oidc_issuer": url}):
        yield url
    await issuer.stop()


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))  # the CLI runs its own event loop
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


async def test_a_person_token_verifies(dev_issuer: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, token, _ = await _run(capsys, "token", "--as", "case_officer,investigator:staff-7")
    assert code == 0
    principal = await TokenVerifier(dev_issuer, "dueprocess").verify(token)
    assert principal.subject == "staff-7" and principal.kind == "person"
    assert principal.roles == {"case_officer", "investigator"}


async def test_a_system_token_as_json(dev_issuer: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await _run(capsys, "token", "--as", "intake:svc-intake", "--system",
                              "--ttl", "5", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["kind"] == "system" and answer["issuer"] == dev_issuer
    principal = await TokenVerifier(dev_issuer, "dueprocess").verify(answer["token"])
    assert principal.kind == "system" and principal.roles == {"intake"}


@pytest.mark.parametrize(("argv", "says"), [
    (["--as", "pope:x"], "--as: unknown role(s) pope"),
    (["--as", "staff-7"], "--as: must be ROLE:ID"),
    (["--as", "auditor:"], "--as: required"),
    (["--as", "auditor:a", "--ttl", "0"], "--ttl: must be 1 to 720 minutes"),
])
async def test_bad_use_is_one_line(
    dev_issuer: str, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = await _run(capsys, "token", *argv)
    assert code == 2 and says in err and "\n" not in err and not out


async def test_without_a_running_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.delenv("DUEPROCESS_OIDC_ISSUER", raising=False)
    code, _, err = await _run(capsys, "token", "--as", "auditor:a")
    assert code == 2 and "start it first" in err


async def test_with_a_real_idp_configured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DUEPROCESS_OIDC_ISSUER", "https://login.example.org")
    code, _, err = await _run(capsys, "token", "--as", "auditor:a")
    assert code == 2 and "tokens come from the configured issuer" in err
