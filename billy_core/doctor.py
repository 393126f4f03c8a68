"""``billy-mcp doctor``: check what a deployment depends on and say what to fix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import click

from billy_core.auth import AuthRequest
from billy_core.errors import ErrorCode, StartupError, ToolError
from billy_core.kernel import Kernel
from billy_core.plugins import KERNEL_PLUGIN
from billy_core.settings import load_kernel_settings

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    subject: str
    message: str
    fix: str = ""


def run_doctor() -> int:
    """Print every finding; exit status 1 when anything fails."""
    findings = anyio.run(collect_findings)
    for finding in findings:
        click.echo(f"{MARKS[finding.level]} {finding.subject}: {finding.message}")
        if finding.fix:
            click.echo(f"    fix: {finding.fix}")
    return 1 if any(f.level == FAIL for f in findings) else 0


async def collect_findings() -> list[Finding]:
    try:
        settings = load_kernel_settings()
    except StartupError as exc:
        return [Finding(FAIL, "settings", str(exc), "correct the named setting")]
    try:
        kernel = Kernel.build(settings)
    except StartupError as exc:
        return [Finding(OK, "settings", "loaded"), Finding(FAIL, "plugins", str(exc))]
    findings = [Finding(OK, "settings", "loaded"), *plugin_findings(kernel), *exposure_findings(kernel)]
    async with kernel:
        findings.append(await billy_finding(kernel))
        for subject, probe in dependency_probes(kernel):
            findings.append(await probe_finding(subject, probe))
    return findings


def plugin_findings(kernel: Kernel) -> list[Finding]:
    findings = []
    records = kernel.plugins.records
    for name, record in sorted(records.items()):
        if name == KERNEL_PLUGIN:
            continue
        if record.enabled:
            findings.append(Finding(OK, f"plugin {name}", "enabled"))
        else:
            findings.append(Finding(WARN, f"plugin {name}", f"disabled: {record.disabled_reason}"))
    audit = records.get("audit")
    if not (audit and audit.enabled) and not kernel.read_only:
        findings.append(
            Finding(
                WARN,
                "audit",
                "writes are allowed but no audit plugin records them",
                "enable the audit plugin (remove 'audit' from BILLY_PLUGINS_DISABLED) or set BILLY_READ_ONLY=true",
            )
        )
    return findings


def exposure_findings(kernel: Kernel) -> list[Finding]:
    if kernel.exposed_without_auth:
        return [
            Finding(
                WARN,
                "exposure",
                f"BILLY_HOST={kernel.settings.host} with no auth plugin: anyone who reaches the port can use Billy",
                "enable the auth plugin, or bind to 127.0.0.1",
            )
        ]
    return []


def _billy_fix(exc: ToolError, api_url: str) -> str:
    """What to do about it, from the operator's side of the error."""
    if exc.code in (ErrorCode.UPSTREAM_UNAVAILABLE, ErrorCode.CIRCUIT_OPEN):
        return (
            f"check BILLY_API_URL ({api_url}) and that this machine reaches it; for no account at all, "
            "run `billy-mcp serve --sandbox`"
        )
    if exc.code is ErrorCode.FORBIDDEN:
        return "check BILLY_ACCESS_TOKEN (Billy: Settings -> Access tokens)"
    return exc.hint or f"check BILLY_API_URL ({api_url}) and BILLY_ACCESS_TOKEN"


async def billy_finding(kernel: Kernel) -> Finding:
    principal = (await kernel.authenticate(AuthRequest(transport="stdio"))).principal
    context = kernel.new_context("doctor", principal=principal, transport="doctor")
    try:
        body = await context.billy.request("GET", "/organization")
    except ToolError as exc:
        return Finding(
            FAIL, "billy", f"{exc.code.value}: {exc.message}", _billy_fix(exc, kernel.settings.api_url)
        )
    organization = body.get("organization", {})
    return Finding(OK, "billy", f"{kernel.settings.api_url} answers as {organization.get('name')!r}")


def dependency_probes(kernel: Kernel) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    probes: list[tuple[str, Callable[[], Awaitable[str]]]] = [("database", lambda: probe_database(kernel))]
    if kernel.settings.redis_url is not None:
        probes.append(("redis", lambda: probe_redis(kernel)))
    return probes


async def probe_finding(subject: str, probe: Callable[[], Awaitable[str]]) -> Finding:
    try:
        with anyio.fail_after(5):
            return Finding(OK, subject, await probe())
    except Exception as exc:
        return Finding(FAIL, subject, f"{type(exc).__name__}: {exc}", f"check BILLY_{subject.upper()}_URL")


async def probe_database(kernel: Kernel) -> str:
    from sqlalchemy import text

    async with kernel.sql_engine().connect() as connection:
        await connection.execute(text("SELECT 1"))
    return f"{kernel.settings.database_url.split('://')[0]} reachable"


async def probe_redis(kernel: Kernel) -> str:
    from billy_core.redis import redis_client

    client = redis_client(kernel)
    await client.ping()
    return "PONG"
