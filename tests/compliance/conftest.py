"""The compliance tests get a demo-company sandbox of their own: they add invoices and bills in
quarters the demo leaves empty (2023-Q2, 2023-Q3), and switch the fiscal year end month."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from billy_core.jsonutil import dumps_exact, loads_exact
from billy_core.testing import mcp_client


class Billy:
    """Billy's API v2 straight over HTTP: the test's own reads and writes, never the tools."""

    def __init__(self, sandbox: Any) -> None:
        self.http = httpx.Client(
            base_url=sandbox.api_url + "/", headers={"X-Access-Token": sandbox.token}, timeout=30
        )

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        content = dumps_exact(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content else {}
        response = self.http.request(
            method, path.lstrip("/"), params=params, content=content, headers=headers
        )
        assert response.status_code < 300, response.text
        return dict(loads_exact(response.content))

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, **params)

    def one(self, plural: str, **filters: Any) -> dict[str, Any]:
        found = self.get(plural, **filters)[plural]
        assert len(found) == 1, (plural, filters, len(found))
        return dict(found[0])

    def by_name(self, plural: str, name: str) -> str:
        return str(self.one(plural, name=name)["id"])

    def create(self, plural: str, singular: str, record: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", plural, {singular: record})[plural][0])

    def approve(self, plural: str, singular: str, record_id: str) -> None:
        self.request("PUT", f"{plural}/{record_id}", {singular: {"state": "approved"}})

    def approved(self, plural: str, singular: str, record: dict[str, Any]) -> dict[str, Any]:
        """Create a draft with its lines, approve it, and read it back with the lines embedded."""
        created = self.create(plural, singular, record)
        self.approve(plural, singular, created["id"])
        return self.with_lines(plural, singular, created["id"])

    def with_lines(self, plural: str, singular: str, record_id: str) -> dict[str, Any]:
        body = self.get(f"{plural}/{record_id}", include=f"{singular}.lines:embed")
        return dict(body[singular])

    def tax_rate_id(self, tag: str) -> str:
        return str(self.one("taxRates", predefinedTag=tag)["id"])

    def tag_of(self, rate_id: str) -> str:
        return str(self.get(f"taxRates/{rate_id}")["taxRate"]["predefinedTag"])

    def account_id(self, number: int) -> str:
        return str(self.one("accounts", accountNo=number)["id"])

    def update_organization(self, **changes: Any) -> None:
        organization = self.get("organization")["organization"]
        self.request("PUT", f"organizations/{organization['id']}", {"organization": changes})


def dec(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture(scope="package")
def compliance_sandbox() -> Iterator[Any]:
    runner = pytest.importorskip("billy_sandbox.runner", reason="billy_sandbox is not installed")
    with runner.SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="package")
def billy(compliance_sandbox: Any) -> Iterator[Billy]:
    client = Billy(compliance_sandbox)
    yield client
    client.http.close()


class Caller:
    """Calls tools through a real MCP client; returns the structured content."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.client.call_tool(name, arguments or {})
        assert not result.is_error, result.structured_content
        return dict(result.structured_content or {})

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.client.call_tool(name, arguments or {})
        assert result.is_error, result.structured_content
        return dict(result.structured_content or {})


@pytest.fixture
def tools(make_kernel: Any, compliance_sandbox: Any) -> Any:
    """``async with tools() as call``: an MCP client on a kernel pointed at this package's sandbox."""
    kernel = make_kernel(
        api_url=compliance_sandbox.api_url, access_token=compliance_sandbox.token, sandbox=True
    )

    @contextlib.asynccontextmanager
    async def open_client() -> AsyncIterator[Caller]:
        async with mcp_client(kernel) as client:
            yield Caller(client)

    return open_client


def error_fields(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(error["field"], error["rule"]) for error in body.get("details", {}).get("errors", [])}
