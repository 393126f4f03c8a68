"""Fixtures for the cache tests: a sandbox of their own, its request counts, a test write
tool, a movable clock, isolated Redis key prefixes and a single-node Redis Cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cache import write_plugin as write_plugin_module

REPO_ROOT = Path(__file__).resolve().parents[2]


class Sandbox:
    """The emulator with helpers for what the cache tests look at: upstream GETs it counted."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.api_url = server.api_url
        self.token = server.token
        self.base_url = server.base_url

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.base_url}/_sandbox/stats").json()["by_route"])

    def gets(self) -> int:
        return sum(count for route, count in self.stats().items() if route.startswith("GET "))

    def reset_stats(self) -> None:
        httpx.post(f"{self.base_url}/_sandbox/stats/reset").raise_for_status()

    def fail_everything(self) -> None:
        httpx.put(f"{self.base_url}/_sandbox/faults", json={"error_rate": 1}).raise_for_status()

    def heal(self) -> None:
        httpx.delete(f"{self.base_url}/_sandbox/faults").raise_for_status()

    def customer_ids(self, count: int = 1) -> list[str]:
        response = httpx.get(
            f"{self.api_url}/contacts",
            params={"isCustomer": "true", "pageSize": count},
            headers={"X-Access-Token": self.token},
        )
        return [contact["id"] for contact in response.json()["contacts"]]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox per test module: counts and writes never mix with other modules' tests."""
    from billy_sandbox.runner import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield Sandbox(server)
    finally:
        server.stop()


@pytest.fixture
def fresh_sandbox(sandbox: Sandbox) -> Sandbox:
    sandbox.heal()
    sandbox.reset_stats()
    return sandbox


# ---------------------------------------------------------------------- a write tool


@pytest.fixture
def write_plugin(billy_plugins: list[tuple[str, object]]) -> None:
    billy_plugins.append(("cache_test_writes", write_plugin_module))


def install_write_plugin(root: Path) -> str:
    """Install the write tool for server subprocesses; returns the PYTHONPATH they need."""
    info = root / "billy_mcp_cache_test_writes-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: billy-mcp-cache-test-writes\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[billy_mcp.plugins]\ncache_test_writes = {write_plugin_module.__name__}\n", encoding="utf-8"
    )
    return os.pathsep.join([str(root), str(REPO_ROOT)])


# ---------------------------------------------------------------------- time and Redis


class Clock:
    """Moves ``time.time`` forward (entries' ages are wall-clock) without sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def cache_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key prefix of this test's own, so tests sharing the real Redis never see each other."""
    prefix = f"billy:cache:test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("BILLY_CACHE__KEY_PREFIX", prefix)
    yield prefix


def delete_keys(url: str, prefix: str, *, cluster: bool = False) -> None:
    import redis

    client: Any = redis.RedisCluster.from_url(url) if cluster else redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for key in keys:
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def shared_redis(redis_url: str, cache_prefix: str) -> Iterator[str]:
    """The real Redis on 127.0.0.1:6379, cleaned of this test's keys afterwards."""
    yield redis_url
    delete_keys(redis_url, cache_prefix)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A single-node Redis Cluster (all 16384 slots on one node) on a free loopback port."""
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        message = "redis-server/redis-cli are not on PATH; cannot start a cluster-mode Redis"
        if _in_ci():
            pytest.fail(f"{message}, and CI=true requires it")
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("redis-cluster")
    port = cluster_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(folder / "nodes.conf"),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=(folder / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(
            lambda: _redis_cli(cli, port, "ping") == "PONG",
            "redis-server to answer",
            log=folder / "redis.log",
        )
        _redis_cli(cli, port, "cluster", "addslotsrange", "0", "16383")
        _wait_for(lambda: "cluster_state:ok" in _redis_cli(cli, port, "cluster", "info"), "cluster_state:ok")
        yield f"redis://127.0.0.1:{port}/0?cluster=true"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def eventually(condition: Any, what: str, seconds: float = 10.0) -> None:
    """Wait (polling) until ``condition()`` holds; fail naming ``what`` if it never does."""
    import anyio

    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def cluster_port() -> int:
    """A free port at most 55535 whose cluster bus port (port + 10000) is free too."""
    import random
    import socket

    for _ in range(200):
        port = random.randint(20000, 55535)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster-mode Redis")


def _redis_cli(cli: str, port: int, *args: str) -> str:
    result = subprocess.run(
        [cli, "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True, timeout=10
    )
    return result.stdout.strip()


def _wait_for(ready: Any, what: str, seconds: float = 15.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (OSError, subprocess.SubprocessError):
            pass
        time.sleep(0.05)
    output = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log else ""
    raise RuntimeError(f"timed out waiting for {what}\n{output}")
