"""The kernel's own built-ins, registered through the same hooks as every plugin.

Metrics and events for every call, argument validation, the read-only guard, the Billy
reachability check, and the server-info and tool-reference resources. This plugin is
essential: it is always registered (under the name ``kernel``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from billy_core.auth import AuthorizationPolicy, AuthRequest
from billy_core.context import CallContext
from billy_core.errors import Forbidden, InvalidArgument, ReadOnly, ToolError
from billy_core.health import HealthCheck, HealthState, HealthStatus
from billy_core.hookspecs import hookimpl
from billy_core.idempotency import IdempotencyStore
from billy_core.jsonutil import dumps_compact
from billy_core.kernel import Kernel
from billy_core.kernel_tables import TableKeeper
from billy_core.pipeline import (
    ORDER_AUTHORIZATION,
    ORDER_METRICS,
    ORDER_READ_ONLY,
    ORDER_VALIDATION,
    ORDER_WRITE_SAFETY,
    CallNext,
    ToolCall,
    ToolResult,
)
from billy_core.redis import redis_client
from billy_core.surface import Resource
from billy_core.tickets import RedisTicketStore, SqlTicketStore, TicketStore
from billy_core.tool_reference import render_tool_reference
from billy_core.tools import CONFIRMATION_CODE, CONFIRMATION_TICKET, IDEMPOTENCY_KEY, KERNEL_ARGUMENT_SCHEMAS
from billy_core.write_safety import WriteSafety

BILLY_CHECK_INTERVAL_SECONDS = 10.0


@hookimpl
def register_tool_middleware(register: Any, kernel: Kernel) -> None:
    register(PolicyGuard(kernel.registered.policies), order=ORDER_AUTHORIZATION, name="authorization")
    register(MetricsMiddleware(kernel), order=ORDER_METRICS, name="metrics")
    register(validate_arguments, order=ORDER_VALIDATION, name="validation")
    register(ReadOnlyGuard(kernel), order=ORDER_READ_ONLY, name="read_only")
    register(write_safety(kernel), order=ORDER_WRITE_SAFETY, name="write_safety")


def write_safety(kernel: Kernel) -> WriteSafety:
    tables = kernel.service("kernel_tables", lambda: TableKeeper(kernel))
    tickets: TicketStore
    if kernel.settings.redis_url is not None:
        tickets = RedisTicketStore(redis_client(kernel))
    else:
        tickets = SqlTicketStore(tables)
    # The list is filled by register_step_up_verifiers after this hook; it is read per call.
    # A pending claim older than any call could run belongs to a creator that died.
    stale_after = max(120.0, 2 * kernel.settings.tool_timeout_seconds)
    return WriteSafety(tickets, IdempotencyStore(tables, stale_after=stale_after), kernel.registered.step_up)


class PolicyGuard:
    """Asks every registered authorization policy; the first denial refuses the call."""

    def __init__(self, policies: list[AuthorizationPolicy]) -> None:
        # Filled by register_authorization_policies after this hook ran; read per call.
        self.policies = policies

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        for policy in self.policies:
            decision = await policy.authorize(call)
            if decision is not None and not decision.allowed:
                raise Forbidden(
                    f"{call.principal.id} may not call {call.tool.name}: {decision.reason or 'denied by policy'}",
                    details={"tool": call.tool.name},
                )
        return await call_next(call)


class MetricsMiddleware:
    """Counts and times every call, then tells the event sinks how it ended."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        started = time.monotonic()
        outcome = "ok"
        try:
            result = await call_next(call)
            if result.is_error:
                outcome = str(result.structured.get("code", "error"))
            return result
        except ToolError as exc:
            outcome = exc.code.value
            raise
        except Exception:
            outcome = "internal_error"
            raise
        finally:
            elapsed = time.monotonic() - started
            self.kernel.metrics.observe_call(call.tool.name, call.transport, outcome, elapsed)
            await self.kernel.emit(
                "tool.finished",
                call.correlation_id,
                tool=call.tool.name,
                transport=call.transport,
                principal=call.principal.id,
                outcome=outcome,
                duration_seconds=elapsed,
                upstream_calls=call.context.upstream_calls,
                read_only=call.tool.read_only,
            )


async def validate_arguments(call: ToolCall, call_next: CallNext) -> ToolResult:
    """Refuse malformed arguments before anything reaches Billy, naming the field and rule."""
    if not isinstance(call.arguments, dict):
        raise InvalidArgument(
            "arguments must be a JSON object",
            details={"errors": [{"field": "(arguments)", "rule": "dict_type", "message": "not an object"}]},
        )
    if not call.tool.kernel_arguments:
        call.params = call.tool.parse_arguments(call.arguments)
        return await call_next(call)
    own = {name: call.arguments[name] for name in call.tool.kernel_arguments if name in call.arguments}
    arguments = {key: value for key, value in call.arguments.items() if key not in own}
    check_kernel_arguments(own)
    call.context.confirmation_ticket = own.get(CONFIRMATION_TICKET)
    call.context.confirmation_code = own.get(CONFIRMATION_CODE)
    call.context.idempotency_key = own.get(IDEMPOTENCY_KEY)
    call.params = call.tool.parse_arguments(arguments)
    return await call_next(call)


def check_kernel_arguments(values: dict[str, Any]) -> None:
    for name, value in values.items():
        schema = KERNEL_ARGUMENT_SCHEMAS[name]
        valid = isinstance(value, str) and schema["minLength"] <= len(value) <= schema["maxLength"]
        if valid and "pattern" in schema:
            valid = re.fullmatch(schema["pattern"], value) is not None
        if not valid:
            raise InvalidArgument(
                f"{name}: must be a string of {schema['minLength']}-{schema['maxLength']} characters"
                + (" (letters, digits, _ . : -)" if "pattern" in schema else ""),
                details={"errors": [{"field": name, "rule": "kernel_argument", "message": "malformed"}]},
            )


class ReadOnlyGuard:
    """In read-only mode a write tool is refused, whoever asks and however it is reached."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    async def __call__(self, call: ToolCall, call_next: CallNext) -> ToolResult:
        if call.tool.is_write and self.kernel.read_only:
            raise ReadOnly(
                f"{call.tool.name} changes Billy, and this server is read-only",
                hint="An operator can allow writes with BILLY_READ_ONLY=false.",
            )
        return await call_next(call)


@hookimpl
def register_health_checks(register: Any, kernel: Kernel) -> None:
    register(HealthCheck("billy", BillyReachability(kernel), local=False))
    if kernel.settings.redis_url is not None:
        register(HealthCheck("redis", RedisPing(kernel), local=True))


class RedisPing:
    """A configured Redis is a local dependency: when it is down this instance is not ready."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    async def __call__(self) -> HealthStatus:
        await redis_client(self.kernel).ping()
        return HealthStatus(HealthState.OK, "PONG")


class BillyReachability:
    """Is Billy answering with our token? Remembered briefly so probes don't hammer Billy."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._last: tuple[float, HealthStatus] | None = None

    async def __call__(self) -> HealthStatus:
        now = time.monotonic()
        if self._last and now - self._last[0] < BILLY_CHECK_INTERVAL_SECONDS:
            return self._last[1]
        status = await self._probe()
        self._last = (now, status)
        return status

    async def _probe(self) -> HealthStatus:
        context = self.kernel.new_context(
            "health", principal=(await self.kernel.authenticate(_LOCAL)).principal, transport="health"
        )
        try:
            organization_id = await context.billy.organization_id()
        except ToolError as exc:
            return HealthStatus(HealthState.DEGRADED, exc.message, {"code": exc.code.value})
        return HealthStatus(HealthState.OK, "Billy answers", {"organization_id": organization_id})


_LOCAL = AuthRequest(transport="stdio")


@hookimpl
def register_resources(register: Any, kernel: Kernel) -> None:
    async def server_info(context: CallContext) -> str:
        return dumps_compact(
            {
                "name": "billy-mcp",
                "read_only": kernel.read_only,
                "sandbox": kernel.settings.sandbox,
                "api_url": kernel.settings.api_url,
                "plugins": [record.as_dict() for record in kernel.plugins.records.values()],
                "tools": [tool.name for tool in kernel.tools.visible(read_only_mode=kernel.read_only)],
            }
        )

    async def tool_reference(context: CallContext) -> str:
        return render_tool_reference(kernel.tools.visible(read_only_mode=kernel.read_only))

    register(
        Resource(
            uri="billy://server/info",
            name="server-info",
            title="Server information",
            description="This server's mode (read-only, sandbox), its plugins and the tools it offers.",
            read=server_info,
        )
    )
    register(
        Resource(
            uri="billy://docs/tools",
            name="tool-reference",
            title="Tool reference",
            description="Every tool with its description, arguments and annotations, as Markdown.",
            read=tool_reference,
            mime_type="text/markdown",
        )
    )
