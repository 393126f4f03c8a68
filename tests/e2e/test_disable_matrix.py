"""Each non-essential built-in plugin disabled in turn, and all of them: the server still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from billy_core.plugins import ENTRY_POINT_GROUP, ESSENTIAL_PLUGINS
from billy_core.testing import mcp_client

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")

# Every plugin issue adds its plugin here; the test below checks the list is complete.
OPTIONAL_BUILTINS: set[str] = {"resilience", "cache", "audit"}


def shipped_plugins() -> set[str]:
    return {
        ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.dist and ep.dist.name == "billy-mcp"
    }


def test_the_matrix_covers_every_shipped_optional_plugin():
    assert shipped_plugins() - ESSENTIAL_PLUGINS == OPTIONAL_BUILTINS


CASES = [[name] for name in sorted(OPTIONAL_BUILTINS)] + [sorted(OPTIONAL_BUILTINS)]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BILLY_MCP, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )


@pytest.mark.anyio
@pytest.mark.parametrize("disabled", CASES, ids=lambda names: "+".join(names) or "none")
async def test_server_works_with_plugins_disabled(disabled, make_kernel, billy_sandbox):
    kernel = make_kernel(
        api_url=billy_sandbox.api_url,
        access_token=billy_sandbox.token,
        sandbox=True,
        plugins_disabled=disabled,
    )
    for name in disabled:
        assert kernel.plugins.records[name].disabled_reason == "disabled by BILLY_PLUGINS_DISABLED"
    async with mcp_client(kernel) as client:
        invoices = await client.call_tool("list_invoices", {"limit": 2})
        customers = await client.call_tool("list_customers", {"limit": 2})
    assert not invoices.is_error and not customers.is_error

    env = {"BILLY_PLUGINS_DISABLED": ",".join(disabled)}
    listed = {row["name"]: row for row in json.loads(cli("plugins", "list", "--json", env=env).stdout)}
    for name in disabled:
        assert (
            listed[name]["enabled"] is False and "BILLY_PLUGINS_DISABLED" in listed[name]["disabled_reason"]
        )
    assert listed["billy"]["enabled"] is True


def test_disabling_billy_is_refused_with_a_clear_message():
    result = cli("plugins", "list", env={"BILLY_PLUGINS_DISABLED": "billy"})
    assert result.returncode == 2
    assert "billy plugin is essential and cannot be disabled" in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_warns_when_writes_are_allowed_without_audit(billy_sandbox):
    env = {
        "BILLY_API_URL": billy_sandbox.api_url,
        "BILLY_ACCESS_TOKEN": billy_sandbox.token,
        "BILLY_READ_ONLY": "false",
        "BILLY_PLUGINS_DISABLED": "audit" if "audit" in OPTIONAL_BUILTINS else "",
    }
    result = cli("doctor", env=env)
    assert "writes are allowed but no audit plugin records them" in result.stdout
    assert "✓ billy:" in result.stdout
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BILLY_PORT": "eighty"}, "BILLY_PORT: Input should be a valid integer"),
        ({"BILLY_PLUGINS_ENABLED": "billy,nosuch"}, "BILLY_PLUGINS_ENABLED names unknown plugins: nosuch"),
        ({"BILLY_DATABASE_URL": "oracle://x"}, "BILLY_DATABASE_URL"),
    ],
)
def test_bad_configuration_gives_a_clear_message_and_no_traceback(env, message):
    result = cli("tools", "list", env=env)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
