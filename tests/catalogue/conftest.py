"""The catalogue tests get a sandbox of their own: they create customers, products and journal
entries, and the shared session sandbox should keep its demo company as seeded."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from billy_core.testing import mcp_client


def private_sandbox() -> Iterator[Any]:
    """A sandbox (demo company) on a free port for one fixture scope."""
    runner = pytest.importorskip("billy_sandbox.runner", reason="billy_sandbox is not installed")
    with runner.SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="package")
def catalogue_sandbox():
    yield from private_sandbox()


@pytest.fixture
def catalogue_kernel(make_kernel, catalogue_sandbox):
    return make_kernel(api_url=catalogue_sandbox.api_url, access_token=catalogue_sandbox.token, sandbox=True)


class Caller:
    """Calls tools through a real MCP client and returns (structured content, is_error)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def __call__(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        result = await self.client.call_tool(name, arguments or {})
        return result.structured_content or {}, bool(result.is_error)

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        body, is_error = await self(name, arguments)
        assert not is_error, body
        return body

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        body, is_error = await self(name, arguments)
        assert is_error, body
        return body


def client_opener(kernel: Any) -> Any:
    @contextlib.asynccontextmanager
    async def open_client() -> AsyncIterator[Caller]:
        async with mcp_client(kernel) as client:
            yield Caller(client)

    return open_client


@pytest.fixture
def tools(catalogue_kernel):
    """``async with tools() as call``: an MCP client on the catalogue kernel."""
    return client_opener(catalogue_kernel)


@pytest.fixture
def other_deployment(make_kernel, catalogue_sandbox, tmp_path):
    """Another server instance on the same Billy, with a key store of its own."""
    kernel = make_kernel(
        api_url=catalogue_sandbox.api_url,
        access_token=catalogue_sandbox.token,
        sandbox=True,
        database_url=f"sqlite:///{tmp_path / 'another-instance.sqlite3'}",
    )
    return client_opener(kernel)


def billy_get(sandbox: Any, path: str, **params: Any) -> dict[str, Any]:
    """Read the sandbox directly (not through the tools), to check what the tools did."""
    response = httpx.get(f"{sandbox.api_url}{path}", params=params, headers={"X-Access-Token": sandbox.token})
    response.raise_for_status()
    return dict(response.json())


def sandbox_writes(sandbox: Any) -> int:
    """POST/PUT/PATCH/DELETE requests the sandbox has answered so far (its /_sandbox/stats)."""
    stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats").json()
    return sum(count for route, count in stats["by_route"].items() if route.split(" ")[0] != "GET")


def error_fields(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(error["field"], error["rule"]) for error in body.get("details", {}).get("errors", [])}
