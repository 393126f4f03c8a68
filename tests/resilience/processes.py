"""billy-mcp server processes (``billy-mcp serve --transport http``) for multi-instance tests."""

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

from tests.support.http_server import free_port

BILLY_MCP = str(Path(sys.executable).parent / "billy-mcp")


class ServerProcess:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` (with these labels) in this process's /metrics."""
        total = 0.0
        for line in httpx.get(f"{self.url}/metrics", timeout=10).text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            sample, _, value = line.rpartition(" ")
            if all(f'{key}="{wanted}"' in sample for key, wanted in labels.items()):
                total += float(value)
        return total

    def ready(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.url}/health/ready", timeout=10).json()
        return body


@contextlib.contextmanager
def server_processes(count: int, env: dict[str, str], folder: Path) -> Iterator[list[ServerProcess]]:
    """Start ``count`` servers on free loopback ports, each with its own SQLite file."""
    started: list[ServerProcess] = []
    try:
        for index in range(count):
            port = free_port()
            log = folder / f"server-{index}.log"
            process_env = {
                **os.environ,
                "BILLY_DATABASE_URL": f"sqlite:///{folder / f'server-{index}.sqlite3'}",
                **env,
            }
            process = subprocess.Popen(
                [BILLY_MCP, "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
                env=process_env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            started.append(ServerProcess(process, f"http://127.0.0.1:{port}", log))
        for server in started:
            _wait_until_live(server)
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()


def _wait_until_live(server: ServerProcess) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited: {server.log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{server.url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server did not start: {server.log.read_text(errors='replace')[-2000:]}")
