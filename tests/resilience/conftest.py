"""Fixtures for the resilience tests: a sandbox of their own (faults and records stay here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from billy_sandbox.runner import SandboxServer


class Sandbox:
    """A sandbox on a free loopback port, with plain HTTP access to `/v2` and `/_sandbox`."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.api_url = server.api_url
        self.token = server.token
        self.http = httpx.Client(
            base_url=server.api_url + "/", headers={"X-Access-Token": server.token}, timeout=30
        )
        self.control = httpx.Client(base_url=server.base_url + "/_sandbox/", timeout=30)

    def faults(self, **config: Any) -> None:
        self.control.put("faults", json=config).raise_for_status()

    def clear_faults(self) -> None:
        self.control.delete("faults").raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.control.get("stats").json()
        return stats

    def reset_stats(self) -> None:
        self.control.post("stats/reset").raise_for_status()

    def list(self, plural: str, **query: str) -> list[dict[str, Any]]:
        answer = self.http.get(plural, params={"pageSize": "1000", **query})
        answer.raise_for_status()
        records: list[dict[str, Any]] = answer.json()[plural]
        return records

    def create(self, plural: str, singular: str, record: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(plural, json={singular: record})
        answer.raise_for_status()
        created: dict[str, Any] = answer.json()[plural][0]
        return created

    def close(self) -> None:
        self.http.close()
        self.control.close()


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[Sandbox]:
    server = SandboxServer(host="127.0.0.1", port=0).start()
    sandbox = Sandbox(server)
    try:
        yield sandbox
    finally:
        sandbox.close()
        server.stop()


@pytest.fixture
def sandbox(own_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The module's sandbox with no faults before and after the test."""
    own_sandbox.clear_faults()
    try:
        yield own_sandbox
    finally:
        own_sandbox.clear_faults()
