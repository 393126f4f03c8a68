"""Sandbox tests talk to real SandboxServers on 127.0.0.1 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from billy_sandbox.runner import SandboxServer

TOKEN = "test-token"


@pytest.fixture(scope="session")
def bare_server() -> Iterator[SandboxServer]:
    """Only the organization and reference data: contract tests build what they need."""
    with SandboxServer(token=TOKEN, demo=False) as server:
        yield server


@pytest.fixture(scope="session")
def demo_server() -> Iterator[SandboxServer]:
    with SandboxServer(token=TOKEN, seed=1) as server:
        yield server


def _client(server: SandboxServer) -> Iterator[httpx.Client]:
    # verify=False: plain http on loopback, and it spares building an SSL context per test
    with httpx.Client(
        base_url=server.api_url, headers={"X-Access-Token": TOKEN}, timeout=10, verify=False
    ) as client:
        client.post(f"{server.base_url}/_sandbox/reset").raise_for_status()
        yield client


@pytest.fixture
def api(bare_server: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the bare sandbox, reset to its seeded state before the test."""
    yield from _client(bare_server)


@pytest.fixture
def demo_api(demo_server: SandboxServer) -> Iterator[httpx.Client]:
    yield from _client(demo_server)


@pytest.fixture
def control(bare_server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{bare_server.base_url}/_sandbox", timeout=10, verify=False) as client:
        yield client
