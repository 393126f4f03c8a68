"""The author guide's example plugin, installed with pip through its own entry point."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from billy_core.testing import mcp_client

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "billy-mcp-quota"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture
def example_on_path(installed_example, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(installed_example))
    monkeypatch.delitem(sys.modules, "billy_mcp_quota", raising=False)
    importlib.invalidate_caches()


@pytest.mark.anyio
async def test_example_plugin_adds_its_tool_and_middleware(example_on_path, sandbox_kernel, billy_sandbox):
    record = sandbox_kernel.plugins.records["quota"]
    assert record.enabled and record.version == "1.0.0" and not record.builtin
    assert {"register_tools", "register_tool_middleware", "register_settings"} <= set(record.hooks)
    async with mcp_client(sandbox_kernel) as client:
        result = await client.call_tool("count_invoices", {})
    assert result.is_error is False, result.structured_content
    assert set(result.structured_content) == {"draft", "approved", "voided"}


@pytest.mark.anyio
async def test_example_quota_refuses_calls_over_its_setting(
    example_on_path, make_kernel, billy_sandbox, monkeypatch
):
    monkeypatch.setenv("BILLY_QUOTA__CALLS_PER_MINUTE", "2")
    kernel = make_kernel(api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, sandbox=True)
    async with mcp_client(kernel) as client:
        first = await client.call_tool("get_organization", {})
        second = await client.call_tool("get_organization", {})
        third = await client.call_tool("get_organization", {})
    assert not first.is_error and not second.is_error
    assert third.is_error and third.structured_content["code"] == "rate_limited"
    assert third.structured_content["retry_after"] > 0


def test_example_plugin_can_be_disabled(example_on_path, make_kernel):
    kernel = make_kernel(plugins_disabled=["quota"])
    assert kernel.tools.get("count_invoices") is None
    assert kernel.plugins.records["quota"].disabled_reason == "disabled by BILLY_PLUGINS_DISABLED"
