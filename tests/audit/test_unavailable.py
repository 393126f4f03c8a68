"""The audit store really down: writes are refused before Billy sees them, reads go on with a warning."""

from __future__ import annotations

import socket
import sqlite3

import pytest
from billy_audit.plugin import AuditStoreCheck

from billy_core.health import HealthState
from tests.audit.helpers import fill, key_env, make_log, sandbox_settings
from tests.audit.toolkit import WriteToolkit, sandbox_control, writes_seen

pytestmark = pytest.mark.anyio


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def read_only_sqlite(tmp_path) -> str:
    """A SQLite audit database that exists, with its tables, but opens read-only."""
    path = tmp_path / "readonly-audit.sqlite3"
    log = make_log(f"sqlite:///{path}", sqlite_wal=False)
    await fill(log, 3)
    await log.aclose()
    path.chmod(0o444)  # enough for a normal user; mode=ro also holds for root
    return f"sqlite:///file:{path}?mode=ro&uri=true"


@pytest.fixture(params=["postgresql-closed-port", "read-only-sqlite"])
def unavailable_url(request) -> str:
    if request.param == "read-only-sqlite":
        return request.getfixturevalue("read_only_sqlite")
    return f"postgresql://postgres@127.0.0.1:{closed_port()}/test"


@pytest.fixture
def build(make_kernel, billy_plugins, billy_sandbox, monkeypatch):
    def build_kernel(url: str, **audit: str):
        for key, value in {**key_env(), "BILLY_AUDIT__DATABASE_URL": url, **audit}.items():
            monkeypatch.setenv(key, value)
        billy_plugins.append(("audit_test", WriteToolkit()))
        return make_kernel(**sandbox_settings(billy_sandbox))

    return build_kernel


async def call(kernel, name, arguments, **kwargs):
    from billy_core.context import LOCAL_PRINCIPAL

    return await kernel.call_tool(name, arguments, principal=LOCAL_PRINCIPAL, transport="memory", **kwargs)


async def test_a_write_is_refused_and_nothing_reaches_billy(
    build, unavailable_url, billy_sandbox, captured_logs
):
    kernel = build(unavailable_url)
    async with kernel:
        sandbox_control(billy_sandbox, "stats/reset", "POST")
        result = await call(kernel, "create_test_contact", {"name": "Never Written ApS"})
        assert writes_seen(billy_sandbox) == 0
        assert sandbox_control(billy_sandbox, "stats")["total"] == 0
    assert result.is_error and result.structured["code"] == "audit_unavailable"
    assert result.structured["retryable"] is True
    assert "not sent to Billy" in result.structured["message"]
    assert any("refused write create_test_contact" in line for line in captured_logs)
    assert 'billy_mcp_audit_unrecorded_total{kind="intent"} 1.0' in kernel.metrics.render().decode()


async def test_a_read_goes_on_with_a_warning(build, unavailable_url, captured_logs):
    kernel = build(unavailable_url)
    client_logs: list[tuple[str, str]] = []

    async def send_log(level, data):
        client_logs.append((level, data))

    async with kernel:
        result = await call(kernel, "list_invoices", {"limit": 1}, send_log=send_log)
    assert not result.is_error and result.structured["items"]
    assert any(
        line.startswith("WARNING") and "read list_invoices was not recorded" in line for line in captured_logs
    )
    assert client_logs == [("warning", "audit: this read was not recorded in the audit trail")]


async def test_reads_can_be_refused_instead(build, unavailable_url):
    kernel = build(unavailable_url, BILLY_AUDIT__ON_READ_FAILURE="refuse")
    async with kernel:
        result = await call(kernel, "list_invoices", {"limit": 1})
    assert result.is_error and result.structured["code"] == "audit_unavailable"


async def test_readiness_fails_while_the_store_is_down(build, unavailable_url):
    async with build(unavailable_url) as kernel:
        readiness = await kernel.readiness()
    assert readiness.ready is False
    assert readiness.checks["audit_store"]["state"] == "failing" and readiness.checks["audit_store"]["local"]


async def test_readiness_passes_with_a_working_store(build, tmp_path):
    async with build(f"sqlite:///{tmp_path / 'fine.sqlite3'}") as kernel:
        readiness = await kernel.readiness()
    assert readiness.checks["audit_store"]["state"] == "ok"
    assert readiness.ready is True


async def test_readiness_reads_without_waiting_for_the_write_lock(tmp_path):
    """The probe is a plain read: a long write of another process does not make it fail."""
    path = tmp_path / "busy.sqlite3"
    log = make_log(f"sqlite:///{path}")
    await fill(log, 3)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        status = await AuditStoreCheck(log)()
        assert status.state == HealthState.OK, status
    finally:
        other.close()
        await log.aclose()
