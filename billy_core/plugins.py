"""Building a plugin manager: entry points, disabling, dependencies, validation, tracing.

Built-in plugins load through the same entry-point group as third-party ones
(``billy_mcp.plugins``). Disabling is by entry-point name and happens before import. The
``billy`` plugin (the Billy domain tools) is essential and cannot be disabled.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from loguru import logger

from billy_core import hookspecs
from billy_core.errors import StartupError

ENTRY_POINT_GROUP = "billy_mcp.plugins"
ESSENTIAL_PLUGINS = frozenset({"billy"})
KERNEL_PLUGIN = "kernel"  # the kernel's own hooks, registered like a plugin but not one to choose


@dataclass(slots=True)
class PluginRecord:
    """What ``billy-mcp plugins list`` shows about one plugin."""

    name: str
    enabled: bool
    disabled_reason: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    requires: tuple[str, ...] = ()
    builtin: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "version": self.version,
            "hooks": self.hooks,
        }


@dataclass(frozen=True, slots=True)
class PluginSelection:
    """Which plugins to load: a block-list, an optional allow-list, explicit extras."""

    disabled: tuple[str, ...] = ()
    enabled: tuple[str, ...] | None = None
    load_entry_points: bool = True

    @classmethod
    def from_settings(cls, settings: Any, *, load_entry_points: bool = True) -> PluginSelection:
        enabled = settings.plugins_enabled
        return cls(
            disabled=tuple(settings.plugins_disabled),
            enabled=tuple(enabled) if enabled is not None else None,
            load_entry_points=load_entry_points,
        )


class PluginHost:
    """A pluggy manager plus the record of every plugin's fate."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs.BillyMcpSpec)
        self.records: dict[str, PluginRecord] = {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def enabled_names(self) -> list[str]:
        return sorted(name for name, record in self.records.items() if record.enabled)

    def register(
        self, plugin: object, name: str, *, version: str | None = None, builtin: bool = False
    ) -> None:
        """Register a plugin object; refuse ``async def`` hooks and unknown hook names."""
        check_hook_functions(plugin, name)
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise StartupError(f"plugin {name!r} is invalid: {exc}") from None
        self.records[name] = PluginRecord(
            name=name,
            enabled=True,
            version=version,
            hooks=sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []),
            requires=tuple(getattr(plugin, "requires", ())),
            builtin=builtin,
        )

    def disable(self, name: str, reason: str, *, version: str | None = None) -> None:
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        self.pm.set_blocked(name)
        previous = self.records.get(name)
        self.records[name] = PluginRecord(
            name=name,
            enabled=False,
            disabled_reason=reason,
            version=version or (previous.version if previous else None),
            requires=previous.requires if previous else (),
        )


def hook_functions(plugin: object) -> dict[str, Any]:
    """The plugin's hook implementations by the hook name they implement."""
    marker = f"{hookspecs.PROJECT}_impl"
    found = {}
    for attr in dir(plugin):
        function = getattr(plugin, attr, None)
        options = getattr(function, marker, None)
        if callable(function) and isinstance(options, dict):
            found[options.get("specname") or attr] = function
    return found


def check_hook_functions(plugin: object, name: str) -> None:
    known = {attr for attr in dir(hookspecs.BillyMcpSpec) if not attr.startswith("_")}
    functions = hook_functions(plugin)
    unknown = sorted(set(functions) - known)
    if unknown:
        raise StartupError(f"plugin {name!r} implements unknown hooks: {', '.join(unknown)}")
    for hook_name, function in functions.items():
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
            raise StartupError(
                f"plugin {name!r}: hook {hook_name!r} is 'async def'. Hooks are synchronous and run "
                "at start-up; register async objects (middleware, sinks, checks) instead."
            )


def plugin_entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def create_plugin_host(
    selection: PluginSelection,
    *,
    extra_plugins: Sequence[tuple[str, object]] = (),
    trace: bool = False,
    quiet: bool = False,
) -> PluginHost:
    """The factory: one fresh host per kernel (no import-time global). ``quiet``: a second
    host of the same process (the CLI's, for plugin commands) leaves warnings to the first."""
    host = PluginHost()
    available = {ep.name: ep for ep in plugin_entry_points()} if selection.load_entry_points else {}
    known = set(available) | {name for name, _ in extra_plugins if name != KERNEL_PLUGIN}
    _check_selection(selection, known, quiet=quiet)
    explicit = set(selection.enabled or ())
    for name, ep in available.items():
        reason = _blocked_reason(name, selection)
        if reason:
            host.disable(name, reason, version=_version_of(ep))
            continue
        _load_entry_point(host, ep, required=name in explicit or name in ESSENTIAL_PLUGINS)
    for name, plugin in extra_plugins:
        host.register(plugin, name)
    disable_orphans(host)
    try:
        host.pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise StartupError(f"plugin validation failed: {exc}") from None
    if trace:
        enable_tracing(host)
    return host


def _check_selection(selection: PluginSelection, known: set[str], *, quiet: bool = False) -> None:
    essential_off = ESSENTIAL_PLUGINS.intersection(selection.disabled)
    if essential_off:
        raise StartupError(
            f"the {', '.join(sorted(essential_off))} plugin is essential and cannot be disabled "
            "(remove it from BILLY_PLUGINS_DISABLED)"
        )
    unknown_enabled = sorted(set(selection.enabled or ()) - known)
    if unknown_enabled:
        raise StartupError(
            f"BILLY_PLUGINS_ENABLED names unknown plugins: {', '.join(unknown_enabled)} "
            f"(installed: {', '.join(sorted(known)) or 'none'})"
        )
    unknown_disabled = sorted(set(selection.disabled) - known)
    if unknown_disabled and selection.load_entry_points and not quiet:
        logger.warning(
            "BILLY_PLUGINS_DISABLED names unknown plugins {} (installed: {}); ignoring them",
            ", ".join(unknown_disabled),
            ", ".join(sorted(known)),
        )


def _blocked_reason(name: str, selection: PluginSelection) -> str | None:
    if name in ESSENTIAL_PLUGINS:
        return None
    if name in selection.disabled:
        return "disabled by BILLY_PLUGINS_DISABLED"
    if selection.enabled is not None and name not in selection.enabled:
        return "not listed in BILLY_PLUGINS_ENABLED"
    return None


def _load_entry_point(host: PluginHost, ep: EntryPoint, *, required: bool) -> None:
    version = _version_of(ep)
    try:
        plugin = ep.load()
        host.register(plugin, ep.name, version=version, builtin=_is_builtin(ep))
    except Exception as exc:
        message = exc.args[0] if isinstance(exc, StartupError) else f"{type(exc).__name__}: {exc}"
        if required:
            raise StartupError(f"plugin {ep.name!r} failed to load: {message}") from None
        logger.warning("skipping plugin {}: {}", ep.name, message)
        host.disable(ep.name, f"failed to load: {message}", version=version)


def disable_orphans(host: PluginHost) -> None:
    """Disable, until nothing changes, every plugin whose required plugin is not enabled."""
    changed = True
    while changed:
        changed = False
        for record in list(host.records.values()):
            if not record.enabled:
                continue
            missing = [dep for dep in record.requires if not _enabled(host, dep)]
            if missing:
                if record.name in ESSENTIAL_PLUGINS:
                    raise StartupError(
                        f"essential plugin {record.name!r} requires {missing}, which are disabled"
                    )
                reason = f"requires {', '.join(repr(dep) for dep in missing)}, which is disabled or missing"
                logger.warning("disabling plugin {}: {}", record.name, reason)
                host.disable(record.name, reason)
                changed = True


def _enabled(host: PluginHost, name: str) -> bool:
    record = host.records.get(name)
    return bool(record and record.enabled)


def _version_of(ep: EntryPoint) -> str | None:
    return ep.dist.version if ep.dist is not None else None


def _is_builtin(ep: EntryPoint) -> bool:
    return ep.dist is not None and ep.dist.name == "billy-mcp"


def enable_tracing(host: PluginHost) -> None:
    def before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        logger.info("hook {} -> {}", hook_name, [impl.plugin_name for impl in impls])

    def after(outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        failed = outcome.exception
        logger.info("hook {} done{}", hook_name, f" (raised {failed!r})" if failed else "")

    host.pm.add_hookcall_monitoring(before, after)
