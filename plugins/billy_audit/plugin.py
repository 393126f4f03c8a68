"""The ``audit`` plugin's hooks: settings, middleware, the list tool, health, lifecycle, CLI."""

from __future__ import annotations

from typing import Any

import click

from billy_audit.cli import audit
from billy_audit.log import AuditLog, describe
from billy_audit.middleware import AuditMetrics, AuditMiddleware, record_upstream
from billy_audit.settings import AuditSettings
from billy_audit.tool import list_audit_logs_tool
from billy_core import hookimpl
from billy_core.health import HealthCheck, HealthState, HealthStatus
from billy_core.kernel import Kernel
from billy_core.pipeline import ORDER_AUDIT
from billy_core.sql import create_engine
from billy_core.upstream import ORDER_CACHE

NAME = "audit"
# Outside the cache: it sees every request a call makes, cached answers included.
ORDER_UPSTREAM_AUDIT = ORDER_CACHE - 50


def audit_log_for(kernel: Kernel, *, own_engine: bool = False) -> AuditLog:
    """A new audit log for ``kernel``; on the kernel's engine unless the audit has its own URL."""
    settings: AuditSettings = kernel.plugin_settings(NAME)
    url = settings.database_url or kernel.settings.database_url
    if own_engine or url != kernel.settings.database_url:
        return AuditLog(settings, database_url=url, engine=lambda: create_engine(url), owns_engine=True)
    return AuditLog(settings, database_url=url, engine=kernel.sql_engine)


def audit_log(kernel: Kernel) -> AuditLog:
    """The kernel's audit log (one per kernel)."""
    log: AuditLog = kernel.service("audit_log", lambda: audit_log_for(kernel))
    return log


@hookimpl
def register_settings(register: Any) -> None:
    register(NAME, AuditSettings)


def audit_middleware(kernel: Kernel) -> AuditMiddleware:
    """The kernel's audit middleware (one per kernel, shared by the hooks below)."""
    middleware: AuditMiddleware = kernel.service(
        "audit_middleware", lambda: AuditMiddleware(audit_log(kernel), AuditMetrics(kernel.metrics.registry))
    )
    return middleware


@hookimpl
def register_tool_middleware(register: Any, kernel: Kernel) -> None:
    register(audit_middleware(kernel), order=ORDER_AUDIT, name=NAME)


@hookimpl
def register_upstream_middleware(register: Any) -> None:
    register(record_upstream, order=ORDER_UPSTREAM_AUDIT, name=NAME)


@hookimpl
def register_tools(register: Any, kernel: Kernel) -> None:
    register(list_audit_logs_tool(audit_log(kernel), audit_middleware(kernel).reads.settled))


class AuditStoreCheck:
    """The audit store is a local dependency: without it writes are refused, so not ready."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    async def __call__(self) -> HealthStatus:
        try:
            store = await self.log.ready()
            await store.ping()
        except Exception as exc:
            return HealthStatus(HealthState.FAILING, f"the audit store is unavailable: {describe(exc)}")
        return HealthStatus(HealthState.OK, store.describe(), {"appended": self.log.appended})


@hookimpl
def register_health_checks(register: Any, kernel: Kernel) -> None:
    register(HealthCheck("audit_store", AuditStoreCheck(audit_log(kernel)), local=True))


@hookimpl
def register_startup(register: Any, kernel: Kernel) -> None:
    register(audit_log(kernel).start)


@hookimpl
def register_shutdown(register: Any, kernel: Kernel) -> None:
    log = audit_log(kernel)
    reads = audit_middleware(kernel).reads

    async def stop() -> None:
        await reads.drain(log.settings.store_timeout_seconds)
        await log.stop()
        # Now, not with the kernel's services: those close last-made first, so the kernel's SQL
        # engine (made before the log's store) would go before the log's writer connection.
        await log.aclose()

    register(stop)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(audit)
