"""The worker's probes and shutdown, on a real database and a real Temporal test server:
/livez answers while the loop runs, /readyz checks Temporal and PostgreSQL, and a stop
(SIGTERM in `dueprocess worker`) makes readiness fail and drains the worker."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
import uvicorn
from dueprocess.cli.api import start_health
from dueprocess.devstack.stack import free_port
from dueprocess.settings import Settings
from dueprocess.worker import open_runtime, readiness, run_worker
from temporalio.testing import WorkflowEnvironment


async def _get(port: int, path: str) -> tuple[int, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture
def temporal_address(test_env: WorkflowEnvironment) -> str:
    return test_env.client.service_client.config.target_host


async def test_probes_answer_and_a_stop_drains_the_worker(
    db_dsn: str, temporal_address: str, tmp_path: Path,
) -> None:
    port = free_port()
    settings = Settings.from_env({
        "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_TEMPORAL_ADDRESS": temporal_address,
        "DUEPROCESS_HEALTH_ADDRESS": f"127.0.0.1:{port}", "DUEPROCESS_DATA_DIR": str(tmp_path),
        "DUEPROCESS_SHUTDOWN_GRACE_SECONDS": "5",
        "DUEPROCESS_PAYLOAD_KEY": base64.b64encode(bytes(32)).decode()})
    stop = asyncio.Event()
    async with open_runtime(settings) as runtime:
        worker = asyncio.create_task(run_worker(runtime, stop))
        for _ in range(200):  # until the server listens (bounded, not timed)
            try:
                status, body = await _get(port, "/readyz")
                break
            except ConnectionError:
                await asyncio.sleep(0.05)
        assert (status, body["status"]) == (200, "ready")
        assert body["checks"] == ["postgres", "shutdown", "temporal"]
        assert (await _get(port, "/livez"))[0] == 200
        assert (await _get(port, "/metrics"))[0] == 404

        stop.set()  # what SIGTERM does in `dueprocess worker`
        assert (await readiness(runtime, stop))["shutdown"] == "draining"
        await worker  # returns once the worker has drained
    with pytest.raises(ConnectionError):
        await _get(port, "/livez")


async def test_the_api_serves_the_same_probes_and_fails_readiness_while_stopping(
    db_dsn: str, temporal_address: str, tmp_path: Path,
) -> None:
    port = free_port()
    settings = Settings.from_env({
        "DUEPROCESS_DATABASE_URL": db_dsn, "DUEPROCESS_TEMPORAL_ADDRESS": temporal_address,
        "DUEPROCESS_HEALTH_ADDRESS": f"127.0.0.1:{port}", "DUEPROCESS_DATA_DIR": str(tmp_path),
        "DUEPROCESS_PAYLOAD_KEY": base64.b64encode(bytes(32)).decode()})
    async with open_runtime(settings) as runtime:
        # given the health server `dueprocess api` starts beside uvicorn
        server = uvicorn.Server(uvicorn.Config(app="never.started:app"))
        health = await start_health(settings, runtime, server)
        assert health is not None
        try:
            # then it is ready while Temporal and PostgreSQL answer
            status, body = await _get(port, "/readyz")
            assert (status, body["checks"]) == (200, ["postgres", "shutdown", "temporal"])
            # and not ready once uvicorn is stopping (SIGTERM)
            server.should_exit = True
            status, body = await _get(port, "/readyz")
            assert (status, body["failed"]) == (503, {"shutdown": "draining"})
        finally:
            await health.close()
