"""Two ``billy-mcp serve --transport http`` processes on one Redis: a read cached through
one is a hit through the other, and a write through one is visible through the other at
once. Upstream GETs are counted by the sandbox."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.cache.conftest import install_write_plugin
from tests.support.http_server import free_port

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")


@contextlib.contextmanager
def serving(env: dict[str, str], folder: Path, name: str) -> Iterator[str]:
    """One server process on a free loopback port; yields its base URL once it is live."""
    port = free_port()
    log = folder / f"{name}.log"
    process = subprocess.Popen(
        [BILLY_MCP, "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "BILLY_DATABASE_URL": f"sqlite:///{folder / f'{name}.sqlite3'}", **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come up: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def call(url: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/api/v1/tools/{tool}", json=arguments, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_two_server_processes_share_entries_and_invalidations(
    fresh_sandbox: Any, shared_redis: str, cache_prefix: str, tmp_path: Path
) -> None:
    contact_id = fresh_sandbox.customer_ids(1)[0]
    env = {
        "BILLY_API_URL": fresh_sandbox.api_url,
        "BILLY_ACCESS_TOKEN": fresh_sandbox.token,
        "BILLY_READ_ONLY": "false",
        "BILLY_REDIS_URL": shared_redis,
        "BILLY_CACHE__KEY_PREFIX": cache_prefix,
        "PYTHONPATH": install_write_plugin(tmp_path / "site"),
    }
    with serving(env, tmp_path, "one") as one, serving(env, tmp_path, "two") as two:
        fresh_sandbox.reset_stats()
        first = call(one, "list_customers", {"limit": 500})
        after_one = fresh_sandbox.stats()
        assert call(two, "list_customers", {"limit": 500}) == first
        # two found the organization and both answers in Redis: not one request to Billy.
        assert fresh_sandbox.stats() == after_one

        renamed = "To Processer ApS"
        call(one, "rename_contact", {"contact_id": contact_id, "name": renamed})
        after = call(two, "list_customers", {"limit": 500})
        assert {item["id"]: item["name"] for item in after["items"]}[contact_id] == renamed
        assert call(one, "list_customers", {"limit": 500}) == after

        for url in (one, two):
            ready = httpx.get(f"{url}/health/ready", timeout=10)
            assert ready.status_code == 200 and ready.json()["checks"]["cache"]["state"] == "ok"
        metrics = httpx.get(f"{two}/metrics", timeout=10).text
    stats = fresh_sandbox.stats()
    assert stats["GET /v2/contacts"] == 2 and stats["PUT /v2/contacts/{id}"] == 1
    assert 'billy_mcp_cache_lookups_total{outcome="hit",tier="redis"}' in metrics
