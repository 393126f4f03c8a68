"""The plugin author kit: pytest fixtures for testing billy-mcp plugins (and billy-mcp itself).

Registered as a pytest plugin through the ``pytest11`` entry point ``billy_mcp``, so any
project with billy-mcp installed has these fixtures:

* ``billy_env``: a clean environment: no ``BILLY_*`` variables leak in from the shell, and
  the database is a temporary SQLite file.
* ``billy_plugins``: a list of ``(name, plugin)`` pairs registered only for this test.
* ``make_kernel(**settings)``: a fresh kernel (fresh plugin manager) with those plugins.
* ``billy_sandbox``: the Billy emulator running on a free loopback port (one per session).
* ``sandbox_kernel``: a kernel pointed at that sandbox, writes allowed.
* ``mcp_client(kernel)``: ``async with mcp_client(kernel) as client`` gives an in-memory
  MCP client (the SDK's ``Client``) talking to that kernel through the real protocol layer.

Async tests use anyio: mark them ``@pytest.mark.anyio``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from billy_core.kernel import Kernel
from billy_core.settings import KernelSettings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def billy_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Remove BILLY_* variables and the working directory's config file from the picture."""
    for key in list(os.environ):
        if key.startswith("BILLY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("BILLY_CONFIG", str(_empty_config(tmp_path)))
    monkeypatch.setenv("BILLY_DATABASE_URL", f"sqlite:///{tmp_path / 'billy-mcp.sqlite3'}")
    return tmp_path


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "billy-mcp.toml"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture
def billy_plugins() -> list[tuple[str, object]]:
    """Append ``(name, plugin)`` pairs; every kernel this test makes registers them."""
    return []


@pytest.fixture
def make_kernel(billy_env: Path, billy_plugins: list[tuple[str, object]]) -> Callable[..., Kernel]:
    def make(*, load_entry_points: bool = True, **settings: Any) -> Kernel:
        return Kernel.build(
            KernelSettings(**settings),
            extra_plugins=list(billy_plugins),
            load_entry_points=load_entry_points,
        )

    return make


@pytest.fixture(scope="session")
def billy_sandbox() -> Iterator[Any]:
    """The Billy emulator with its demo company, on a free loopback port, for the session."""
    runner = pytest.importorskip("billy_sandbox.runner", reason="billy_sandbox is not installed")
    server = runner.SandboxServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox_kernel(make_kernel: Callable[..., Kernel], billy_sandbox: Any) -> Kernel:
    return make_kernel(api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, sandbox=True)


@contextlib.asynccontextmanager
async def mcp_client(kernel: Kernel, *, mode: str = "auto") -> AsyncIterator[Any]:
    """An in-memory MCP client for ``kernel`` (started here and stopped afterwards)."""
    from mcp import Client

    from billy_core.server.mcp_server import build_mcp_server

    server = build_mcp_server(kernel, transport="memory")
    async with kernel, Client(server, mode=mode) as client:
        yield client


@pytest.fixture
def connect() -> Callable[..., Any]:
    """The :func:`mcp_client` helper as a fixture: ``async with connect(kernel) as client``."""
    return mcp_client
