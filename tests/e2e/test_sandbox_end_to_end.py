"""End to end: real MCP clients (stdio, Streamable HTTP) and the REST bridge, against the sandbox."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.support.http_server import running_http_server

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")


def sandbox_invoice_total(sandbox) -> int:
    response = httpx.get(
        f"{sandbox.api_url}/invoices", params={"pageSize": 1}, headers={"X-Access-Token": sandbox.token}
    )
    return int(response.json()["meta"]["paging"]["total"])


def stdio_env(extra: dict[str, str]) -> dict[str, str]:
    keep = {key: os.environ[key] for key in ("BILLY_CONFIG", "BILLY_DATABASE_URL") if key in os.environ}
    return {**keep, **extra}


@pytest.mark.anyio
async def test_stdio_client_lists_tools_and_calls_list_invoices(billy_sandbox):
    server = StdioServerParameters(
        command=BILLY_MCP,
        args=["serve"],
        env=stdio_env(
            {
                "BILLY_API_URL": billy_sandbox.api_url,
                "BILLY_ACCESS_TOKEN": billy_sandbox.token,
                "BILLY_READ_ONLY": "false",
            }
        ),
    )
    async with Client(server) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("list_invoices", {"limit": 5})
    assert {"list_invoices", "get_invoice", "list_customers", "get_organization"} <= names
    assert result.is_error is False, result.structured_content
    assert result.structured_content["total"] == sandbox_invoice_total(billy_sandbox)
    assert len(result.structured_content["items"]) == min(5, result.structured_content["total"])


@pytest.mark.anyio
async def test_serve_sandbox_needs_no_account(tmp_path):
    server = StdioServerParameters(command=BILLY_MCP, args=["serve", "--sandbox"], env=stdio_env({}))
    async with Client(server) as client:
        organization = await client.call_tool("get_organization", {})
        auth = await client.call_tool("validate_auth", {})
        invoices = await client.call_tool("list_invoices", {"limit": 1})
    assert organization.is_error is False, organization.structured_content
    assert organization.structured_content["base_currency"] == "DKK"
    assert auth.structured_content["valid"] is True and auth.structured_content["read_only"] is False
    assert invoices.is_error is False


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_client_calls_list_invoices(sandbox_kernel, billy_sandbox, mode):
    with running_http_server(sandbox_kernel) as base_url:
        async with Client(f"{base_url}/mcp", mode=mode) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool(
                "list_invoices", {"limit": 3, "fields": ["invoice_no", "balance"]}
            )
    assert "list_invoices" in names
    assert result.is_error is False, result.structured_content
    assert result.structured_content["total"] == sandbox_invoice_total(billy_sandbox)
    for item in result.structured_content["items"]:
        assert set(item) <= {"id", "invoice_no", "balance"}


def test_rest_bridge_runs_the_same_pipeline(sandbox_kernel, billy_sandbox):
    with running_http_server(sandbox_kernel) as base_url:
        listed = httpx.get(f"{base_url}/api/v1/tools").json()["tools"]
        ok = httpx.post(f"{base_url}/api/v1/tools/list_invoices", json={"limit": 2})
        bad = httpx.post(f"{base_url}/api/v1/tools/list_invoices", json={"limit": 0})
        missing = httpx.post(f"{base_url}/api/v1/tools/get_invoice", json={"invoice_id": "nope"})
        unknown = httpx.post(f"{base_url}/api/v1/tools/no_such_tool", json={})
        metrics = httpx.get(f"{base_url}/metrics").text
    assert {tool["name"] for tool in listed} >= {"list_invoices", "get_invoice"}
    assert ok.status_code == 200 and ok.json()["total"] == sandbox_invoice_total(billy_sandbox)
    assert bad.status_code == 400 and bad.json()["details"]["errors"][0]["field"] == "limit"
    assert missing.status_code == 404 and missing.json()["details"]["billy_error_code"] == "RECORD_NOT_FOUND"
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert 'billy_mcp_tool_calls_total{outcome="ok",tool="list_invoices",transport="rest"} 1.0' in metrics


def test_readiness_reports_billy_as_ok_on_the_sandbox(sandbox_kernel):
    with running_http_server(sandbox_kernel) as base_url:
        ready = httpx.get(f"{base_url}/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["billy"]["state"] == "ok"


def test_readiness_degrades_but_stays_ready_when_billy_is_unreachable(make_kernel):
    kernel = make_kernel(api_url="http://127.0.0.1:9/v2", access_token="x", read_only=True)
    with running_http_server(kernel) as base_url:
        ready = httpx.get(f"{base_url}/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
