"""Tests of dueprocess.devstack.stack against the real embedded PostgreSQL and Temporal."""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path

import asyncpg
import psutil
import pytest
from dueprocess.devstack import processes
from dueprocess.devstack import temporal as temporal_module
from dueprocess.devstack.stack import (
    DevTemporal,
    EmbeddedPostgres,
    StackError,
    find_temporal,
    find_test_server,
    free_port,
)
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest, ListNamespacesRequest
from temporalio.client import Client, WorkflowExecutionStatus


def _processes_mentioning(text: str) -> list[psutil.Process]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if text in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def _wait_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# ------------------------------------------------------------------------------ helpers


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_binaries_are_found() -> None:
    temporal = find_temporal()
    assert temporal is not None and os.access(temporal, os.X_OK)
    if platform.machine().lower() in ("x86_64", "amd64"):
        test_server = find_test_server()
        assert test_server is not None and os.access(test_server, os.X_OK)


def test_constructors_have_no_side_effects(tmp_path: Path) -> None:
    EmbeddedPostgres(tmp_path / "pg")
    DevTemporal(tmp_path / "tp")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        EmbeddedPostgres(tmp_path, database="bad; DROP")


# ------------------------------------------------------------------------------ PostgreSQL


async def test_postgres_start_stop_restart_keeps_data(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    dsn = await asyncio.to_thread(pg.start)
    try:
        assert pg.dsn == dsn
        assert await asyncio.to_thread(pg.start) == dsn  # already started: same DSN
        conn = await asyncpg.connect(dsn)
        try:
            version = await conn.fetchval("SELECT version()")
            assert version.startswith("PostgreSQL 18")
            assert await conn.fetchval("SELECT current_database()") == "dueprocess"
            await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, note text)")
            await conn.execute("INSERT INTO kept VALUES (1, 'survives restart')")
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(pg.stop)

    assert _processes_mentioning(str(pg.pgdata)) == []
    assert not (pg.pgdata / "postmaster.pid").exists()
    await asyncio.to_thread(pg.stop)  # idempotent
    with pytest.raises(StackError):
        _ = pg.dsn

    # Restart through the context manager, with a fresh object as a new process would.
    with EmbeddedPostgres(tmp_path) as again:
        assert _processes_mentioning(str(again.pgdata)) != []
        conn = await asyncpg.connect(again.dsn)
        try:
            assert await conn.fetchval("SELECT note FROM kept WHERE id = 1") == "survives restart"
        finally:
            await conn.close()
    assert _processes_mentioning(str(pg.pgdata)) == []


# ------------------------------------------------------------------------------ Temporal


async def test_temporal_start_stop_restart_keeps_state(tmp_path: Path) -> None:
    namespace = "dueprocess-test"
    temporal = DevTemporal(tmp_path, namespace=namespace)
    address = await temporal.start()
    pid = temporal.pid
    assert pid is not None
    try:
        assert address == temporal.address and address.startswith("127.0.0.1:")
        assert temporal.ui_url is not None and temporal.ui_url.startswith("http://127.0.0.1:")
        assert await temporal.start() == address  # already started: same address
        client = await Client.connect(address, namespace=namespace)
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version
        listed = await client.workflow_service.list_namespaces(ListNamespacesRequest())
        assert namespace in {ns.namespace_info.name for ns in listed.namespaces}
        # A started workflow needs no worker to be recorded: proof that state persists.
        await client.start_workflow("NoSuchWorkflow", id="persisted", task_queue="no-worker")
    finally:
        await temporal.stop()

    assert _gone(pid)
    assert _processes_mentioning(str(temporal.db_path)) == []
    await temporal.stop()  # idempotent
    with pytest.raises(StackError):
        _ = temporal.address
    assert temporal.db_path.is_file()

    async with DevTemporal(tmp_path, namespace=namespace, ui=False) as again:
        assert again.ui_url is None
        assert again.pid != pid
        client = await Client.connect(again.address, namespace=namespace)
        description = await client.get_workflow_handle("persisted").describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
    assert _processes_mentioning(str(temporal.db_path)) == []
    assert "Temporal CLI" in temporal.log_path.read_text()


async def test_temporal_failure_reports_log_tail(tmp_path: Path) -> None:
    temporal = DevTemporal(tmp_path, ui=False)
    temporal.db_path.mkdir(parents=True)  # a directory where the SQLite file should be
    with pytest.raises(StackError, match="unable to open database file"):
        await temporal.start()
    assert not temporal.running
    assert _processes_mentioning(str(temporal.db_path)) == []


async def test_temporal_retries_when_a_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_free_ports = processes.free_ports
    calls = 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()

        def first_port_busy(count: int, host: str = "127.0.0.1") -> list[int]:
            nonlocal calls
            calls += 1
            ports = real_free_ports(count, host)
            return [busy.getsockname()[1], *ports[1:]] if calls == 1 else ports

        # DevTemporal looks the name up in its own module.
        monkeypatch.setattr(temporal_module, "free_ports", first_port_busy)
        async with DevTemporal(tmp_path, ui=False) as temporal:
            assert calls == 2
            assert temporal.address != f"127.0.0.1:{busy.getsockname()[1]}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
async def test_temporal_dies_with_its_owner(tmp_path: Path) -> None:
    owner_script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from dueprocess.devstack.stack import DevTemporal

        async def main() -> None:
            temporal = DevTemporal(Path({str(tmp_path)!r}), ui=False)
            await temporal.start()
            print(temporal.pid, flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    owner = await asyncio.create_subprocess_exec(
        sys.executable, "-c", owner_script, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert owner.stdout is not None
        line = await asyncio.wait_for(owner.stdout.readline(), 30)
        server_pid = int(line)
        assert not _gone(server_pid)
        owner.send_signal(signal.SIGKILL)  # no cleanup code runs in the owner
        await asyncio.wait_for(owner.wait(), 10)
        assert await _wait_gone(server_pid, 10), "temporal outlived its owner"
    finally:
        if owner.returncode is None:
            owner.kill()
            await owner.wait()
    assert _processes_mentioning(str(tmp_path / "temporal.sqlite")) == []


def test_a_second_user_of_the_data_dir_leaves_the_owners_server_running(
    tmp_path: Path,
) -> None:
    owner = EmbeddedPostgres(tmp_path)
    owner.start()
    try:
        visitor = EmbeddedPostgres(tmp_path)
        visitor.start()
        assert visitor.adopted and not owner.adopted
        visitor.release()
        assert _processes_mentioning(str(owner.pgdata)), "visitor stopped the owner's server"
    finally:
        owner.release()
    assert not _processes_mentioning(str(owner.pgdata))
