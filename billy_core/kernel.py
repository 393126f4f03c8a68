"""The kernel: builds everything from plugins once, then runs tool calls on plain awaits.

``Kernel.build()`` loads plugins, validates their settings, calls every registration hook
once and composes the tool-call and upstream chains. ``await kernel.call_tool(...)`` is the
single entry point every transport uses (MCP stdio, Streamable HTTP, the REST bridge,
workflows).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
from loguru import logger
from pydantic import BaseModel

from billy_core.auth import (
    AuthenticationResult,
    Authenticator,
    AuthorizationPolicy,
    AuthRequest,
    CredentialResolver,
    StepUpVerifier,
)
from billy_core.billy.client import BillyClient, BillyPool
from billy_core.context import (
    LOCAL_PRINCIPAL,
    CallContext,
    LogSender,
    Principal,
    ProgressReporter,
    new_correlation_id,
)
from billy_core.errors import InternalError, NotFound, StartupError, ToolError, UpstreamUnavailable
from billy_core.events import Event, EventBus, NamedSink
from billy_core.health import HealthCheck, Readiness, run_checks
from billy_core.logs import install_redactor
from billy_core.metrics import Metrics
from billy_core.pipeline import Ordered, ToolCall, ToolResult, compose
from billy_core.plugins import KERNEL_PLUGIN, PluginHost, PluginSelection, create_plugin_host
from billy_core.settings import KernelSettings, load_kernel_settings, load_plugin_settings, read_config_file
from billy_core.surface import Prompt, Resource
from billy_core.tools import ToolRegistry
from billy_core.upstream import UpstreamRequest, UpstreamResponse
from billy_core.workflows import WorkflowTemplate

Lifecycle = Callable[[], Awaitable[None]]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(slots=True)
class Registrations:
    """Everything plugins handed the kernel at start-up."""

    tool_middleware: list[Ordered[ToolCall, ToolResult]] = field(default_factory=list)
    upstream_middleware: list[Ordered[UpstreamRequest, UpstreamResponse]] = field(default_factory=list)
    authenticators: list[Authenticator] = field(default_factory=list)
    policies: list[AuthorizationPolicy] = field(default_factory=list)
    resolvers: list[CredentialResolver] = field(default_factory=list)
    step_up: list[StepUpVerifier] = field(default_factory=list)
    sinks: list[NamedSink] = field(default_factory=list)
    health_checks: list[HealthCheck] = field(default_factory=list)
    startup: list[tuple[str, Lifecycle]] = field(default_factory=list)
    shutdown: list[tuple[str, Lifecycle]] = field(default_factory=list)
    resources: dict[str, Resource] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    workflows: dict[str, WorkflowTemplate] = field(default_factory=dict)


class Kernel:
    """One running billy-mcp: plugins, registries, composed chains, shared clients."""

    def __init__(self, settings: KernelSettings, host: PluginHost, document: dict[str, Any]) -> None:
        self.settings = settings
        self.plugins = host
        self.metrics = Metrics()
        self.tools = ToolRegistry()
        self.registered = Registrations()
        self._document = document
        self._plugin_settings: dict[str, BaseModel] = {}
        self._services: dict[str, Any] = {}
        self.billy = BillyPool(settings, self.metrics)
        self.events = EventBus()
        self._chain: Callable[[ToolCall], Awaitable[ToolResult]] = self._run_handler

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        settings: KernelSettings | None = None,
        *,
        extra_plugins: Sequence[tuple[str, object]] = (),
        load_entry_points: bool = True,
    ) -> Kernel:
        """Load plugins and compose the kernel. Raises :class:`StartupError` with a clear message."""
        settings = settings or load_kernel_settings()
        selection = PluginSelection.from_settings(settings, load_entry_points=load_entry_points)
        from billy_core import core_plugin

        host = create_plugin_host(
            selection,
            extra_plugins=[(KERNEL_PLUGIN, core_plugin), *extra_plugins],
            trace=settings.trace_plugins,
        )
        install_redactor(settings)
        kernel = cls(settings, host, read_config_file())
        kernel._collect()
        return kernel

    def _collect(self) -> None:
        self._collect_settings()
        reg = self.registered
        self._each("register_tools", lambda plugin, tool: self.tools.register(tool, plugin=plugin))
        self._each("register_resources", lambda plugin, item: _unique(reg.resources, item.uri, item, plugin))
        self._each("register_prompts", lambda plugin, item: _unique(reg.prompts, item.name, item, plugin))
        self._each(
            "register_workflow_templates",
            lambda plugin, item: _unique(reg.workflows, item.name, item, plugin),
        )
        self._each("register_tool_middleware", _ordered_into(reg.tool_middleware))
        self._each("register_upstream_middleware", _ordered_into(reg.upstream_middleware))
        self._each("register_authenticators", lambda plugin, item: reg.authenticators.append(item))
        self._each("register_authorization_policies", lambda plugin, item: reg.policies.append(item))
        self._each("register_credential_resolvers", lambda plugin, item: reg.resolvers.append(item))
        self._each("register_step_up_verifiers", lambda plugin, item: reg.step_up.append(item))
        self._each("register_event_sinks", _sink_into(reg.sinks))
        self._each("register_metrics", lambda plugin, collector: self.metrics.add_collector(collector))
        self._each("register_health_checks", _check_into(reg.health_checks))
        self._each("register_startup", lambda plugin, fn: reg.startup.append((plugin, fn)))
        self._each("register_shutdown", lambda plugin, fn: reg.shutdown.append((plugin, fn)))
        self.billy.resolvers = tuple(reg.resolvers)
        self.billy.chain = compose(reg.upstream_middleware, self.billy.send)
        self.events = EventBus(reg.sinks)
        self._chain = compose(reg.tool_middleware, self._run_handler)

    def _collect_settings(self) -> None:
        models: list[tuple[str, type[BaseModel]]] = []
        self._each(
            "register_settings", lambda plugin, name, model: models.append((name, model)), kernel=False
        )
        for name, model in models:
            self._plugin_settings[name] = load_plugin_settings(name, model, document=self._document)

    def _each(self, hook_name: str, accept: Callable[..., Any], *, kernel: bool = True) -> None:
        """Call one registration hook plugin by plugin, so every item knows its plugin."""
        hook = getattr(self.plugins.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            plugin = impl.plugin_name

            def register(*args: Any, _plugin: str = plugin, **kwargs: Any) -> Any:
                return accept(_plugin, *args, **kwargs)

            available = {"register": register, **({"kernel": self} if kernel else {})}
            if self.settings.trace_plugins:
                logger.info("hook {} -> {}", hook_name, plugin)
            try:
                impl.function(*(available[arg] for arg in impl.argnames))
            except StartupError:
                raise
            except Exception as exc:
                raise StartupError(
                    f"plugin {plugin!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc

    # ------------------------------------------------------------------ services for plugins

    def plugin_settings(self, plugin: str) -> Any:
        """The validated settings model a plugin registered through ``register_settings``."""
        return self._plugin_settings[plugin]

    def service(self, name: str, factory: Callable[[], Any]) -> Any:
        """A shared object (SQL engine, Redis client) made once per kernel, on first use."""
        if name not in self._services:
            self._services[name] = factory()
        return self._services[name]

    def sql_engine(self) -> Any:
        from billy_core.sql import create_engine

        return self.service("sql_engine", lambda: create_engine(self.settings.database_url))

    @property
    def read_only(self) -> bool:
        return self.settings.effective_read_only

    @property
    def exposed_without_auth(self) -> bool:
        """Serving beyond loopback with no auth plugin: anyone who reaches the port can use Billy."""
        auth = self.plugins.records.get("auth")
        return self.settings.host not in LOOPBACK and not (auth is not None and auth.enabled)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        for plugin, startup in self.registered.startup:
            try:
                await startup()
            except Exception as exc:
                raise StartupError(
                    f"plugin {plugin!r} failed at start-up: {type(exc).__name__}: {exc}"
                ) from exc

    async def stop(self) -> None:
        for plugin, shutdown in reversed(self.registered.shutdown):
            try:
                await shutdown()
            except Exception:
                logger.opt(exception=True).warning("plugin {} failed at shutdown", plugin)
        await self.billy.aclose()
        await close_services(self._services)

    async def __aenter__(self) -> Kernel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ the call path

    async def authenticate(self, request: AuthRequest) -> AuthenticationResult:
        """Ask each authenticator in turn; without one, HTTP callers get the deployment's rights."""
        for authenticator in self.registered.authenticators:
            principal = await authenticator.authenticate(request)
            if principal is not None:
                return AuthenticationResult(principal, authenticator.name)
        if request.transport in ("stdio", "memory"):
            return AuthenticationResult(LOCAL_PRINCIPAL, "local")
        return AuthenticationResult(Principal(id="anonymous", kind="anonymous"), "none")

    def new_context(
        self,
        tool_name: str,
        *,
        principal: Principal,
        transport: str,
        correlation_id: str | None = None,
        progress: ProgressReporter | None = None,
        send_log: LogSender | None = None,
    ) -> CallContext:
        context = CallContext(
            correlation_id=correlation_id or new_correlation_id(),
            principal=principal,
            transport=transport,
            tool_name=tool_name,
            deadline=time.monotonic() + self.settings.tool_timeout_seconds,
            organization_id=principal.organization_ids[0] if principal.organization_ids else None,
            billy_factory=self._billy_for,
        )
        if progress is not None:
            context.report_progress = progress
        if send_log is not None:
            context.send_log = send_log
        return context

    def _billy_for(self, context: CallContext) -> BillyClient:
        return BillyClient(self.billy, context)

    async def call_tool(
        self,
        name: str,
        arguments: Any,
        *,
        transport: str,
        principal: Principal | None = None,
        auth: AuthRequest | None = None,
        correlation_id: str | None = None,
        progress: ProgressReporter | None = None,
        send_log: LogSender | None = None,
    ) -> ToolResult:
        """Run one tool call through the whole pipeline. Never raises: errors become results.

        Pass the caller's ``principal``, or the ``auth`` request to authenticate here (so a
        refused credential is a structured ``forbidden`` like any other error)."""
        correlation_id = correlation_id or new_correlation_id()
        if principal is None:
            try:
                principal = (await self.authenticate(auth or AuthRequest(transport=transport))).principal
            except ToolError as exc:
                return ToolResult(exc.to_body(correlation_id), is_error=True)
        context = self.new_context(
            name,
            principal=principal,
            transport=transport,
            correlation_id=correlation_id,
            progress=progress,
            send_log=send_log,
        )
        tool = self.tools.get(name)
        try:
            if tool is None:
                raise NotFound(
                    f"there is no tool named {name!r}",
                    hint="List the tools (tools/list or GET /api/v1/tools) for the names this server offers.",
                )
            if arguments is None:
                arguments = {}
            call = ToolCall(tool=tool, arguments=arguments, context=context)
            return await self._chain(call)
        except ToolError as exc:
            return ToolResult(exc.to_body(context.correlation_id), is_error=True)
        except Exception:
            logger.opt(exception=True).error(
                "tool {} failed [correlation_id={}]", name, context.correlation_id
            )
            error = InternalError(
                "the server failed while running this tool",
                hint=f"Report correlation id {context.correlation_id} to the operator.",
            )
            return ToolResult(error.to_body(context.correlation_id), is_error=True)

    async def _run_handler(self, call: ToolCall) -> ToolResult:
        """The innermost link: the tool's own handler, bounded by the call's deadline."""
        params = call.params if call.params is not None else call.tool.parse_arguments(call.arguments)
        if not call.tool.open_world:
            # A closed-world tool does no I/O, so there is nothing for a deadline to cut short.
            return self._result(call, await call.tool.handler(params, call.context))
        try:
            with anyio.fail_after(call.context.remaining()):
                output = await call.tool.handler(params, call.context)
        except TimeoutError:
            raise UpstreamUnavailable(
                f"the call ran past its deadline of {self.settings.tool_timeout_seconds:g}s",
                hint="Billy is slow or unreachable; retry later.",
            ) from None
        return self._result(call, output)

    @staticmethod
    def _result(call: ToolCall, output: Any) -> ToolResult:
        structured = _as_structured(output)
        if call.tool.read_only and call.context.freshness is not None:
            structured["freshness"] = call.context.freshness.as_dict()
        return ToolResult(structured)

    async def emit(self, kind: str, correlation_id: str, **data: Any) -> None:
        if self.events:
            await self.events.emit(Event(kind=kind, correlation_id=correlation_id, data=data))

    async def read_resource(self, uri: str, *, transport: str, auth: AuthRequest) -> tuple[Resource, str]:
        """Read a registered resource as the authenticated caller, within the call deadline.

        Raises :class:`ToolError` (``not_found`` for an unknown URI); transports map it."""
        resource = self.registered.resources.get(uri)
        if resource is None:
            raise NotFound(
                f"there is no resource {uri!r}", hint="List the resources for the URIs this server offers."
            )
        principal = (await self.authenticate(auth)).principal
        context = self.new_context(resource.name, principal=principal, transport=transport)
        try:
            with anyio.fail_after(context.remaining()):
                return resource, await resource.read(context)
        except TimeoutError:
            raise UpstreamUnavailable(f"reading {uri} ran past its deadline") from None

    async def readiness(self) -> Readiness:
        return await run_checks(self.registered.health_checks)


async def close_services(services: dict[str, Any]) -> None:
    """Close shared clients the kernel made on demand (SQL engines, Redis)."""
    while services:
        name, service = services.popitem()
        closer = getattr(service, "aclose", None) or getattr(service, "dispose", None)
        if closer is None:
            continue
        try:
            await closer()
        except Exception:
            logger.opt(exception=True).warning("closing {} failed", name)


def _as_structured(output: Any) -> dict[str, Any]:
    if isinstance(output, BaseModel):
        return output.model_dump(mode="json", exclude_none=True)
    if isinstance(output, dict):
        return output
    return {"result": output}


def _unique(target: dict[str, Any], key: str, item: Any, plugin: str) -> None:
    if key in target:
        raise StartupError(f"{key!r} is registered twice (plugins {target[key].plugin!r} and {plugin!r})")
    target[key] = _with_plugin(item, plugin)


def _with_plugin(item: Any, plugin: str) -> Any:
    return replace(item, plugin=plugin) if hasattr(item, "plugin") and not item.plugin else item


def _ordered_into(target: list[Any]) -> Callable[..., None]:
    def accept(plugin: str, middleware: Any, *, order: int, name: str | None = None) -> None:
        target.append(Ordered(order=order, name=name or plugin, plugin=plugin, middleware=middleware))

    return accept


def _sink_into(target: list[NamedSink]) -> Callable[..., None]:
    def accept(plugin: str, sink: Any, *, name: str | None = None) -> None:
        target.append(NamedSink(name=name or plugin, plugin=plugin, sink=sink))

    return accept


def _check_into(target: list[HealthCheck]) -> Callable[..., None]:
    def accept(plugin: str, check: HealthCheck) -> None:
        target.append(_with_plugin(check, plugin))

    return accept
