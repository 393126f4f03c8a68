"""Every hook a billy-mcp plugin can implement, in one place.

Rules that hold for all of them:

* Hooks are **synchronous** and run **once, at start-up** (or, for ``register_commands``,
  when the CLI is built). They hand the kernel objects; the per-call hot path then runs on
  plain ``await``\\ s and never goes through pluggy. An ``async def`` hook implementation is
  refused when the plugin is loaded.
* Registration hooks receive a ``register`` callback (the style of llm and tox) and may
  take any subset of their arguments (pluggy's opt-in arguments), so new arguments can be
  added later without breaking plugins.
* ``kernel`` is the :class:`billy_core.kernel.Kernel` being built: settings, a plugin's own
  settings (``kernel.plugin_settings("cache")``), the metrics registry, the SQL engine and
  Redis client factories, and the Billy client pool.
* Order keys: smaller is further out. Constants live in :mod:`billy_core.pipeline`
  (``ORDER_AUTH``, ``ORDER_AUDIT``, ``ORDER_METRICS``, ...) and :mod:`billy_core.upstream`
  (``ORDER_CACHE``, ``ORDER_RETRY``, ``ORDER_CIRCUIT_BREAKER``, ``ORDER_RATE_LIMIT``).
* Named backends (one implementation of something, picked by configuration) are not
  hooks: they load from stevedore namespaces through :func:`billy_core.backends.load_backend`
  (``billy_mcp.cache_backends``, ``billy_mcp.audit_stores``, ``billy_mcp.sms_senders``,
  ``billy_mcp.key_providers``).

A plugin module may declare ``requires = ("cache",)``: if a required plugin is disabled or
missing, this plugin is disabled too, and ``billy-mcp plugins list`` says why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from billy_core.kernel import Kernel

PROJECT = "billy_mcp"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[..., Any]
AsyncCallable = Callable[[], Awaitable[None]]


class BillyMcpSpec:
    """Hook specifications. Implement them as module-level functions decorated with
    ``@billy_core.hookimpl`` and expose the module as an entry point in group
    ``billy_mcp.plugins``."""

    # ------------------------------------------------------------------ lifecycle

    @hookspec
    def register_settings(self, register: Register) -> None:
        """Contribute this plugin's settings model.

        Call ``register(plugin_name, SettingsModel)`` with a pydantic model. Values come from
        ``BILLY_<PLUGIN>__<KEY>`` environment variables and from ``[plugins.<plugin>]`` in
        ``billy-mcp.toml``; a bad value stops start-up with a message naming the setting.
        Read them later with ``kernel.plugin_settings(plugin_name)``.
        """

    @hookspec
    def register_startup(self, register: Register, kernel: Kernel) -> None:
        """Register ``async def startup() -> None`` callables, awaited in order at start-up
        (open pools, warm caches, start background tasks). An exception stops start-up."""

    @hookspec
    def register_shutdown(self, register: Register, kernel: Kernel) -> None:
        """Register ``async def shutdown() -> None`` callables, awaited in reverse order at
        shutdown after in-flight calls drained (flush buffers, write checkpoints). Failures are
        logged and do not stop the others."""

    @hookspec
    def register_health_checks(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.health.HealthCheck` objects for ``/health/ready``.

        ``HealthCheck(name, check, local=True)``: a failing *local* check (Redis, the audit
        store) makes readiness fail with 503; a failing remote check (Billy) only reports
        ``degraded``, because cached answers can still be served.
        """

    # ------------------------------------------------------------------ MCP surface

    @hookspec
    def register_tools(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.tools.Tool` objects: ``register(tool)``.

        The ``billy`` plugin contributes the Billy domain tools through this same hook. Names
        are unique across plugins; a clash stops start-up naming both plugins.
        """

    @hookspec
    def register_resources(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.surface.Resource` objects (MCP resources)."""

    @hookspec
    def register_prompts(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.surface.Prompt` objects (MCP prompts)."""

    # ------------------------------------------------------------------ pipelines

    @hookspec
    def register_tool_middleware(self, register: Register, kernel: Kernel) -> None:
        """Register middleware around every tool invocation, on every transport.

        ``register(middleware, order=ORDER_AUDIT, name="audit")`` where ``middleware`` is
        ``async def (call: ToolCall, call_next) -> ToolResult``. It sees the principal, the
        tool's metadata (read-only, destructive, idempotent), the arguments, the correlation
        id and the deadline (all on ``call``/``call.context``). Refuse by raising a
        :class:`billy_core.errors.ToolError`. Intended order, outside in: auth -> audit ->
        metrics -> validation -> write safety -> handler.
        """

    @hookspec
    def register_upstream_middleware(self, register: Register, kernel: Kernel) -> None:
        """Register wrappers around every HTTP request to Billy.

        ``register(middleware, order=ORDER_CACHE, name="cache")`` where ``middleware`` is
        ``async def (request: UpstreamRequest, call_next) -> UpstreamResponse``. The request
        carries method, path, query, body, organization id, credential scope, idempotency
        key, deadline, correlation id and ``bypass_cache``. Intended order, outside in: cache
        (with miss coalescing) -> retry -> circuit breaker -> rate limit and bulkhead -> HTTP,
        so that every retry attempt passes the breaker and the limiter.
        """

    # ------------------------------------------------------------------ auth

    @hookspec
    def register_authenticators(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.auth.Authenticator` objects, asked in order to turn
        an incoming request into a principal."""

    @hookspec
    def register_authorization_policies(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.auth.AuthorizationPolicy` objects (scopes, per-tool
        rules). The kernel asks each of them before every tool call (its authorization
        middleware at ``ORDER_AUTHORIZATION``, right after authentication); the first denial
        refuses the call with ``forbidden``."""

    @hookspec
    def register_credential_resolvers(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.auth.CredentialResolver` objects that find a
        principal's Billy token for an organization (the vault). The kernel falls back to
        ``BILLY_ACCESS_TOKEN`` when none answers."""

    @hookspec
    def register_step_up_verifiers(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.auth.StepUpVerifier` objects, run at the confirm step
        of destructive tools (TOTP, SMS codes) on top of the preview -> confirm ticket."""

    # ------------------------------------------------------------------ events and operations

    @hookspec
    def register_event_sinks(self, register: Register, kernel: Kernel) -> None:
        """Register ``async def sink(event: Event) -> None`` consumers of kernel events
        (``tool.finished``, ``upstream.request``, ...): audit and analytics.
        ``register(sink, name="analytics")``. A failing sink is logged and skipped."""

    @hookspec
    def register_metrics(self, register: Register, kernel: Kernel) -> None:
        """Register Prometheus collectors (objects with ``collect()``) for ``/metrics``.
        Plain counters and histograms can instead be created on ``kernel.metrics.registry``."""

    @hookspec
    def register_commands(self, cli: click.Group) -> None:
        """Add subcommands to the ``billy-mcp`` CLI (e.g. ``billy-mcp audit verify``).

        Called when the CLI is built, before any kernel exists: commands build what they need
        with ``billy_core.cli.build_kernel(ctx)`` when they run.
        """

    @hookspec
    def register_workflow_templates(self, register: Register, kernel: Kernel) -> None:
        """Register :class:`billy_core.workflows.WorkflowTemplate` objects for the workflow
        engine (Danish business templates ship built in)."""
